import { describe, expect, it } from 'vitest';
import { deferredDestination } from './deferred.js';
import { makeContext, makeNotification } from './testdata/fixtures.js';
import type { Destination } from './types.js';

/** adapter is a stand-in adapter that records what it was asked. */
function adapter(): Destination & { sent: string[]; closed: boolean } {
  const sent: string[] = [];
  const built = {
    name: 'd',
    type: 'log',
    sent,
    closed: false,
    send: async (notification: { id: string }) => {
      sent.push(notification.id);
      return { ok: true as const };
    },
    close: async () => {
      built.closed = true;
    },
  };
  return built;
}

describe('deferredDestination', () => {
  it('holds a send made before the adapter is built and sends it once it is', async () => {
    const built = adapter();
    let finish: (d: Destination) => void = () => undefined;
    const d = deferredDestination(
      { name: 'd', type: 'webhook', wantsRequestBody: true },
      () => new Promise<Destination>((resolve) => (finish = resolve)),
    );
    expect([d.name, d.type, d.wantsRequestBody]).toEqual(['d', 'webhook', true]);
    const result = d.send(makeNotification({}, { id: 'n1' }), makeContext());
    expect(built.sent).toEqual([]);
    finish(built);
    expect(await result).toEqual({ ok: true });
    expect(await d.send(makeNotification({}, { id: 'n2' }), makeContext())).toEqual({ ok: true });
    expect(built.sent).toEqual(['n1', 'n2']);
    await d.close();
    expect(built.closed).toBe(true);
  });

  it('answers every send as broken, saying why, when the adapter cannot be built', async () => {
    const d = deferredDestination({ name: 'mail', type: 'email' }, async () => {
      throw new Error('unsupported SMTP option');
    });
    expect(await d.send(makeNotification(), makeContext())).toEqual({
      ok: false,
      outcome: 'broken',
      reason: 'clientError',
      detail: 'email destination "mail" could not be set up: unsupported SMTP option',
    });
    await expect(d.close()).resolves.toBeUndefined();
  });
});
