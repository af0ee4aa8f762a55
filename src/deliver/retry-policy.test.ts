import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffCeilingMs,
  DEFAULT_RETRY_POLICIES,
  decideRetry,
  MAX_RETRY_AFTER_MS,
  type RetryPolicy,
  retryPolicyFor,
} from './retry-policy.js';

const T0 = Date.UTC(2026, 2, 2, 10, 15, 0);
const POLICY: RetryPolicy = {
  maxAttempts: 12,
  maxAgeMs: 24 * 3_600_000,
  initialDelayMs: 1_000,
  maxDelayMs: 600_000,
  maxRetryAfterMs: MAX_RETRY_AFTER_MS,
};

describe('backoffCeilingMs', () => {
  it('doubles from initialDelay and stops at maxDelay', () => {
    expect([1, 2, 3, 4, 10, 11, 12, 500].map((n) => backoffCeilingMs(POLICY, n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 512_000, 600_000, 600_000, 600_000,
    ]);
  });
});

describe('decideRetry', () => {
  const input = { attempts: 3, firstAttemptAt: T0, now: T0 + 10_000 };

  it('spreads the delay over [0, ceiling) with full jitter', () => {
    expect(decideRetry(POLICY, input, () => 0)).toEqual({ retry: true, delayMs: 0, dueAt: T0 + 10_000 });
    expect(decideRetry(POLICY, input, () => 0.5)).toMatchObject({ delayMs: 2_000 });
    // A random source that returns 1 (out of contract) still stays below the ceiling.
    expect(decideRetry(POLICY, input, () => 1)).toMatchObject({ delayMs: 3_999 });
  });

  it('keeps every delay within [0, ceiling) and due at now + delay (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: POLICY.maxAttempts - 1 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempts, unit) => {
          const decision = decideRetry(POLICY, { attempts, firstAttemptAt: T0, now: T0 }, () => unit);
          if (!decision.retry) return false;
          return (
            decision.delayMs >= 0 &&
            decision.delayMs < backoffCeilingMs(POLICY, attempts) &&
            decision.dueAt === T0 + decision.delayMs
          );
        },
      ),
    );
  });

  it('waits at least what Retry-After asks, capped at maxRetryAfter', () => {
    expect(decideRetry(POLICY, { ...input, retryAfterMs: 30_000 }, () => 0)).toMatchObject({
      delayMs: 30_000,
    });
    // A jittered wait longer than the hint wins.
    expect(decideRetry(POLICY, { ...input, attempts: 10, retryAfterMs: 5_000 }, () => 0.5)).toMatchObject({
      delayMs: 256_000,
    });
    expect(decideRetry(POLICY, { ...input, retryAfterMs: 5 * 3_600_000 }, () => 0)).toMatchObject({
      delayMs: MAX_RETRY_AFTER_MS,
    });
    expect(decideRetry(POLICY, { ...input, retryAfterMs: -5 }, () => 0)).toMatchObject({ delayMs: 0 });
  });

  it('stops after maxAttempts', () => {
    expect(decideRetry(POLICY, { ...input, attempts: 11 }, () => 0)).toMatchObject({ retry: true });
    expect(decideRetry(POLICY, { ...input, attempts: 12 }, () => 0)).toEqual({
      retry: false,
      cause: 'exhausted',
      reason: 'exhausted after 12 attempts',
    });
  });

  it('stops once the first attempt is maxAge ago, and makes the last try fall on it', () => {
    const policy = { ...POLICY, maxAgeMs: 60_000, initialDelayMs: 100_000, maxDelayMs: 100_000 };
    expect(decideRetry(policy, { attempts: 1, firstAttemptAt: T0, now: T0 + 50_000 }, () => 0.5)).toEqual({
      retry: true,
      delayMs: 10_000,
      dueAt: T0 + 60_000,
    });
    expect(decideRetry(policy, { attempts: 2, firstAttemptAt: T0, now: T0 + 60_000 }, () => 0)).toEqual({
      retry: false,
      cause: 'tooOld',
      reason: 'too old: first attempt 1m 00s ago, maxAge 1m 00s',
    });
    // The peer asks for a wait past the age limit: ending now is better than ignoring it.
    expect(
      decideRetry(
        policy,
        { attempts: 1, firstAttemptAt: T0, now: T0 + 50_000, retryAfterMs: 30_000 },
        () => 0,
      ),
    ).toEqual({
      retry: false,
      cause: 'tooOld',
      reason: 'too old: first attempt 50s ago, maxAge 1m 00s, and the peer asked to wait 30s',
    });
  });
});

describe('retryPolicyFor', () => {
  it('fills what the config leaves out from the type defaults', () => {
    expect(retryPolicyFor('slack')).toEqual(DEFAULT_RETRY_POLICIES.slack);
    expect(retryPolicyFor('webhook', { maxAttempts: 3, maxAge: 3_600_000 })).toEqual({
      ...DEFAULT_RETRY_POLICIES.webhook,
      maxAttempts: 3,
      maxAgeMs: 3_600_000,
    });
    expect(retryPolicyFor('email').initialDelayMs).toBe(30_000);
  });

  it('raises maxDelay to a larger configured initialDelay', () => {
    expect(retryPolicyFor('webhook', { initialDelay: 20 * 60_000 })).toMatchObject({
      initialDelayMs: 1_200_000,
      maxDelayMs: 1_200_000,
    });
  });
});
