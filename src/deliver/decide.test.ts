import { describe, expect, it } from 'vitest';
import type { SendResult } from '../destinations/index.js';
import type { ClaimedNotification } from '../store/ports.js';
import { decide, pauseReasonClass, type Sent } from './decide.js';
import { retryPolicyFor } from './retry-policy.js';
import { T0, testAlert } from './testdata/harness.js';

const policy = retryPolicyFor('webhook', { maxAttempts: 3, initialDelay: 1_000 });

function sent(result: SendResult, claimed: Partial<ClaimedNotification> = {}): Sent {
  return {
    notification: {
      id: 'n1',
      destination: 'hook',
      alert: testAlert('n1'),
      createdAt: T0,
      attempts: 1,
      ...claimed,
    } as ClaimedNotification,
    at: T0,
    durationMs: 12,
    result,
  };
}

const half = () => 0.5;

describe('decide', () => {
  it('delivers a success, keeping its note', () => {
    expect(decide(sent({ ok: true }), policy, T0, half)).toEqual({ kind: 'delivered' });
    expect(decide(sent({ ok: true, detail: 'partial' }), policy, T0, half)).toEqual({
      kind: 'delivered',
      detail: 'partial',
    });
  });

  it('retries a transient failure after the jittered backoff, or the peer’s longer Retry-After', () => {
    const failure = { ok: false, outcome: 'retry', reason: 'serverError', detail: 'HTTP 503' } as const;
    expect(decide(sent(failure), policy, T0 + 5, half)).toEqual({
      kind: 'retry',
      dueAt: T0 + 5 + 500,
      delayMs: 500,
      failure: { reason: 'serverError', detail: 'HTTP 503' },
    });
    const limited = { ...failure, reason: 'rateLimited', retryAfterMs: 4_000 } as const;
    expect(decide(sent(limited), policy, T0, half)).toMatchObject({ kind: 'retry', delayMs: 4_000 });
  });

  it('dead-letters a transient failure once the policy gives up, with the last error in the reason', () => {
    const failure = {
      ok: false,
      outcome: 'retry',
      reason: 'timeout',
      detail: 'no response in time',
    } as const;
    expect(decide(sent(failure, { attempts: 3 }), policy, T0, half)).toEqual({
      kind: 'dead',
      reason: 'exhausted after 3 attempts; last: timeout: no response in time',
      cause: 'exhausted',
      gaveUp: 'exhausted after 3 attempts',
      failure: { reason: 'timeout', detail: 'no response in time' },
    });
  });

  it('dead-letters a refused message at once, and pauses on a broken destination with a hint', () => {
    const refused = { ok: false, outcome: 'dead', reason: 'payloadRejected', detail: 'HTTP 400' } as const;
    expect(decide(sent(refused), policy, T0, half)).toEqual({
      kind: 'dead',
      reason: 'payloadRejected: HTTP 400',
      cause: 'payloadRejected',
      failure: { reason: 'payloadRejected', detail: 'HTTP 400' },
    });
    const broken = { ok: false, outcome: 'broken', reason: 'authError', detail: 'HTTP 401' } as const;
    const pause = decide(sent(broken), policy, T0, half);
    expect(pause).toMatchObject({ kind: 'pause', failure: { reason: 'authError', detail: 'HTTP 401' } });
    expect(pause.kind === 'pause' && pause.reason).toBe(
      `authError: HTTP 401 (${pause.kind === 'pause' && pause.hint})`,
    );
    expect(pauseReasonClass(pause.kind === 'pause' ? pause.reason : '')).toBe('authError');
  });
});
