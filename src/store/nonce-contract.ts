/**
 * The contract of NonceStore, engine-neutral: each engine's test file calls `nonceContract(name, open)`
 * with a factory of fresh stores.
 */
import { describe, expect, it } from 'vitest';
import type { NonceStore } from './nonce-port.js';

/** NonceHarness is a fresh, empty store and how to close it. */
export interface NonceHarness {
  nonces: NonceStore;
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;
const WINDOW = 300_000;

/** nonceContract registers the NonceStore tests for one engine. */
export function nonceContract(engine: string, open: () => Promise<NonceHarness>): void {
  async function withStore(run: (store: NonceStore) => Promise<void>): Promise<void> {
    const harness = await open();
    try {
      await run(harness.nonces);
    } finally {
      await harness.close();
    }
  }

  describe(`NonceStore contract (${engine})`, () => {
    it('claims a nonce once within its window; another nonce is free', () =>
      withStore(async (nonces) => {
        expect(await nonces.claim('sig-a', T0 + WINDOW, T0)).toBe(true);
        expect(await nonces.claim('sig-a', T0 + WINDOW, T0 + 1_000)).toBe(false);
        expect(await nonces.claim('sig-a', T0 + WINDOW, T0 + WINDOW - 1)).toBe(false);
        expect(await nonces.claim('sig-b', T0 + WINDOW, T0 + 1_000)).toBe(true);
      }));

    it('lets a nonce whose record expired be claimed again', () =>
      withStore(async (nonces) => {
        expect(await nonces.claim('sig-a', T0 + WINDOW, T0)).toBe(true);
        expect(await nonces.claim('sig-a', T0 + 2 * WINDOW, T0 + WINDOW)).toBe(true);
        expect(await nonces.claim('sig-a', T0 + 2 * WINDOW, T0 + WINDOW + 1)).toBe(false);
      }));

    it('gives one claim of the same nonce made at once true, the others false', () =>
      withStore(async (nonces) => {
        const claims = await Promise.all(
          Array.from({ length: 8 }, () => nonces.claim('sig-c', T0 + WINDOW, T0)),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
      }));

    it('refuses input it cannot keep (HR_ERR_STORE_INPUT_INVALID) and records nothing', () =>
      withStore(async (nonces) => {
        await expect(nonces.claim('', T0 + WINDOW, T0)).rejects.toMatchObject({
          code: 'HR_ERR_STORE_INPUT_INVALID',
        });
        await expect(nonces.claim('x'.repeat(201), T0 + WINDOW, T0)).rejects.toMatchObject({
          code: 'HR_ERR_STORE_INPUT_INVALID',
        });
        await expect(nonces.claim('sig-d', Number.NaN, T0)).rejects.toMatchObject({
          code: 'HR_ERR_STORE_INPUT_INVALID',
        });
        expect(await nonces.claim('sig-d', T0 + WINDOW, T0)).toBe(true);
      }));
  });
}
