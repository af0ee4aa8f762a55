/**
 * Nonces are values that may be used once within a window, across every process sharing the database: the
 * signatures of Slack interactions, so that a request replayed to another instance behind the same load
 * balancer is refused there too (an in-process memory would accept it once per instance).
 * Engine-neutral: both engines run nonce-contract.ts.
 */
import { epochMs, invalidInput } from './validate.js';

/**
 * NonceStore records nonces until they expire. Every method rejects with `HR_ERR_STORE_CLOSED` after
 * `Store.close()` and with `HR_ERR_STORE_INPUT_INVALID` for input it cannot keep.
 */
export interface NonceStore {
  /**
   * claim records `nonce` until `expiresAt` (epoch ms) and resolves true once that is durable, or resolves
   * false when the nonce is already recorded and has not expired at `now` (a replay, by any process). A
   * nonce whose record expired may be claimed again. Records that expired are pruned as it goes.
   */
  claim(nonce: string, expiresAt: number, now: number): Promise<boolean>;
}

/** The longest nonce kept: callers store a digest, not a document. */
const MAX_NONCE_CHARS = 200;

/** prepareNonce checks a claim's arguments; it never reads the database. */
export function prepareNonce(
  nonce: unknown,
  expiresAt: unknown,
  now: unknown,
): { nonce: string; expiresAt: number; now: number } {
  const what = 'nonces.claim';
  if (typeof nonce !== 'string' || nonce === '' || nonce.length > MAX_NONCE_CHARS) {
    throw invalidInput(what, `nonce must be a non-empty string of at most ${MAX_NONCE_CHARS} characters`);
  }
  return { nonce, expiresAt: epochMs(what, 'expiresAt', expiresAt), now: epochMs(what, 'now', now) };
}
