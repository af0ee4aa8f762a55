import { describe, expect, it } from 'vitest';
import { planSlots } from './pacing-slots.js';

/*
 * The slot math alone, with a hand-moved clock: what a claim of a paced destination hands out and what it
 * leaves in the bucket for the next claim (of this process or another).
 */

const T0 = 1_767_603_600_000;
const HORIZON = 15_000;

describe('planSlots', () => {
  it('lets `burst` rows go at once from a full bucket, then one per interval', () => {
    const plan = planSlots({
      tat: undefined,
      now: T0,
      rows: 5,
      pacing: { perSecond: 2, burst: 3 },
      horizonMs: HORIZON,
    });
    expect(plan.slots).toEqual([T0, T0, T0, T0 + 500, T0 + 1_000]);
    expect(plan.tat).toBe(T0 + 2_500);
  });

  it('continues where the previous claim left the bucket, whoever made it', () => {
    const pacing = { perSecond: 1, burst: 1 };
    const first = planSlots({ tat: undefined, now: T0, rows: 1, pacing, horizonMs: HORIZON });
    expect(first).toEqual({ slots: [T0], tat: T0 + 1_000 });
    // 100 ms later, a second claim (another instance) gets the next slot, not `now`.
    const second = planSlots({ tat: first.tat, now: T0 + 100, rows: 2, pacing, horizonMs: HORIZON });
    expect(second).toEqual({ slots: [T0 + 1_000, T0 + 2_000], tat: T0 + 3_000 });
  });

  it('refills while idle, but never beyond `burst`', () => {
    const pacing = { perSecond: 4, burst: 2 };
    // The bucket's last slot was an hour ago: two rows at once, then 250 ms apart.
    const plan = planSlots({ tat: T0 - 3_600_000, now: T0, rows: 4, pacing, horizonMs: HORIZON });
    expect(plan.slots).toEqual([T0, T0, T0 + 250, T0 + 500]);
    // The last slot was at T0 + 500 and the burst is spent: a claim at T0 + 600 waits for the next token.
    expect(planSlots({ tat: plan.tat, now: T0 + 600, rows: 1, pacing, horizonMs: HORIZON }).slots).toEqual([
      T0 + 750,
    ]);
    // One at T0 + 900 is past it: its row may go at once.
    expect(planSlots({ tat: plan.tat, now: T0 + 900, rows: 1, pacing, horizonMs: HORIZON }).slots).toEqual([
      T0 + 900,
    ]);
  });

  it('stops at the first slot beyond the horizon, and gives none when the bucket is that far ahead', () => {
    const pacing = { perSecond: 1, burst: 1 };
    const plan = planSlots({ tat: T0, now: T0, rows: 10, pacing, horizonMs: 2_500 });
    expect(plan.slots).toEqual([T0, T0 + 1_000, T0 + 2_000]);
    expect(plan.tat).toBe(T0 + 3_000);
    const none = planSlots({ tat: T0 + 10_000, now: T0, rows: 3, pacing, horizonMs: 2_500 });
    expect(none).toEqual({ slots: [], tat: T0 + 10_000 });
  });

  it('rounds fractional intervals up to whole ms, so slots are never closer than the rate allows', () => {
    const plan = planSlots({
      tat: undefined,
      now: T0,
      rows: 4,
      pacing: { perSecond: 3, burst: 1 },
      horizonMs: HORIZON,
    });
    const gaps = plan.slots.slice(1).map((slot, i) => slot - (plan.slots[i] as number));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1000 / 3);
    for (const slot of plan.slots) expect(Number.isInteger(slot)).toBe(true);
    expect(Number.isInteger(plan.tat)).toBe(true);
  });
});
