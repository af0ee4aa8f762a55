import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../lib/clock.js';
import { createTokenBucket, DEFAULT_PACING, pacingPolicyFor } from './pacing.js';

const T0 = Date.UTC(2026, 2, 2, 10, 15, 0);

describe('createTokenBucket', () => {
  it('lets a burst through, then one per 1/perSecond', () => {
    const clock = createManualClock(T0);
    const bucket = createTokenBucket({ perSecond: 1, burst: 3 }, clock.now());
    expect([1, 2, 3, 4].map(() => bucket.tryTake(clock.now()))).toEqual([0, 0, 0, 1_000]);
    clock.advance(999);
    expect(bucket.tryTake(clock.now())).toBe(1);
    clock.advance(1);
    expect(bucket.tryTake(clock.now())).toBe(0);
    expect(bucket.tryTake(clock.now())).toBe(1_000);
  });

  it('paces fractional rates and never refills above the burst', () => {
    const clock = createManualClock(T0);
    const bucket = createTokenBucket({ perSecond: 5, burst: 2 }, clock.now());
    expect([0, 1, 2].map(() => bucket.tryTake(clock.now()))).toEqual([0, 0, 200]);
    clock.advance(3_600_000);
    expect(bucket.available(clock.now())).toBe(2);
    expect([0, 1, 2].map(() => bucket.tryTake(clock.now()))).toEqual([0, 0, 200]);
  });

  it('does not stall or refill when the clock steps back', () => {
    const clock = createManualClock(T0);
    const bucket = createTokenBucket({ perSecond: 1, burst: 1 }, clock.now());
    expect(bucket.tryTake(clock.now())).toBe(0);
    clock.set(T0 - 3_600_000);
    expect(bucket.tryTake(clock.now())).toBe(1_000);
    clock.advance(1_000);
    expect(bucket.tryTake(clock.now())).toBe(0);
  });

  it('never waits when unpaced', () => {
    const bucket = createTokenBucket({ perSecond: Number.POSITIVE_INFINITY, burst: 1 }, T0);
    expect(Array.from({ length: 1_000 }, () => bucket.tryTake(T0)).every((wait) => wait === 0)).toBe(true);
  });

  it('never lets more than burst + elapsed * perSecond through, and says truly when to come back (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 200 }),
        (perSecond, burst, steps) => {
          const bucket = createTokenBucket({ perSecond, burst }, T0);
          let now = T0;
          let taken = 0;
          for (const step of steps) {
            now += step;
            const wait = bucket.tryTake(now);
            if (wait === 0) taken += 1;
            // Coming back after the announced wait always finds a token.
            else if (bucket.tryTake(now + wait) !== 0) return false;
            else taken += 1;
            if (wait > 0) now += wait;
            if (taken > burst + ((now - T0) * perSecond) / 1000 + 1e-6) return false;
          }
          return true;
        },
      ),
    );
  });
});

describe('pacingPolicyFor', () => {
  it('defaults Slack to 1 message/s and keeps every type in order (concurrency 1)', () => {
    expect(pacingPolicyFor('slack')).toEqual({ perSecond: 1, burst: 1, concurrency: 1 });
    for (const pacing of Object.values(DEFAULT_PACING)) expect(pacing.concurrency).toBe(1);
    expect(pacingPolicyFor('webhook').perSecond).toBe(Number.POSITIVE_INFINITY);
  });

  it('takes what the config sets', () => {
    expect(pacingPolicyFor('webhook', { perSecond: 20, concurrency: 4 })).toEqual({
      perSecond: 20,
      burst: 1,
      concurrency: 4,
    });
    expect(pacingPolicyFor('discord', { burst: 10 })).toEqual({ perSecond: 5, burst: 10, concurrency: 1 });
  });
});
