import { describe, expect, it } from 'vitest';
import { createState, evaluateItem, settleAll } from './engine.js';
import type { ThresholdState } from './state.js';
import { ADA, ALAN, appItem, compileTestRules, GRACE, MINUTE, screenshotItem } from './testdata/items.js';
import { run, summarise } from './testdata/run.js';

const APP = 'desktop.app_tracking.captured';
const SHOT = 'desktop.screenshot_tracking.captured';

const idleRule = (threshold: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'idle-screens',
  on: SHOT,
  if: { 'screenshot.isIdle': true },
  threshold: { window: '30m', ...threshold },
  to: ['team-discord'],
  ...extra,
});

const idleAt = (...minutes: number[]) => minutes.map((m) => screenshotItem({ t: m * MINUTE, id: `s${m}` }));

describe('count thresholds', () => {
  it('fire once when the condition becomes true, then stay quiet while it holds', () => {
    const rules = compileTestRules([idleRule({ count: 3 })]);
    expect(summarise(run(rules, idleAt(0, 5, 10, 15, 20)).firings)).toEqual([
      'idle-screens u-ada firing +10m',
    ]);
  });

  it.each([
    { name: 'an item exactly one window older is out', minutes: [0, 15, 30], alerts: [] },
    {
      name: 'one second less and it is in',
      minutes: [0, 15, 30 - 1 / 60],
      alerts: ['idle-screens u-ada firing +29.983m'],
    },
  ])('window boundary: $name', ({ minutes, alerts }) => {
    const rules = compileTestRules([idleRule({ count: 3, lateness: '0s' })]);
    expect(summarise(run(rules, idleAt(...minutes), { settle: true }).firings)).toEqual(alerts);
  });

  it('count: true with a comparison counts too', () => {
    const rules = compileTestRules([idleRule({ count: true, gt: 1 })]);
    expect(summarise(run(rules, idleAt(0, 5)).firings)).toEqual(['idle-screens u-ada firing +5m']);
  });

  it('only matching items count; other items of the key only move the window on', () => {
    const rules = compileTestRules([idleRule({ count: 2 })]);
    const items = [
      screenshotItem({ t: 0, idle: true }),
      screenshotItem({ t: MINUTE, idle: false }),
      screenshotItem({ t: 2 * MINUTE, idle: false }),
    ];
    expect(run(rules, items).firings).toEqual([]);
  });

  it('ignores an item without a usable time instead of corrupting the window', () => {
    const rules = compileTestRules([idleRule({ count: 2 })]);
    const broken = { ...screenshotItem({ t: 0 }), at: Number.NaN };
    const result = run(rules, [broken, ...idleAt(1, 2)], { explain: true });
    expect(result.explanations?.[0]).toMatchObject({
      outcome: 'ignored',
      reason: 'the item has no usable time (at is NaN)',
    });
    expect(summarise(result.firings)).toEqual(['idle-screens u-ada firing +2m']);
  });

  it('keeps one state per key', () => {
    const rules = compileTestRules([idleRule({ count: 2 })]);
    const items = [
      screenshotItem({ t: 0, user: ADA }),
      screenshotItem({ t: MINUTE, user: ALAN }),
      screenshotItem({ t: 2 * MINUTE, user: ALAN }),
    ];
    expect(summarise(run(rules, items).firings)).toEqual(['idle-screens u-alan firing +2m']);
  });
});

describe('late and out-of-order items', () => {
  it('count a late item inside the allowance in the windows it belongs to', () => {
    const rules = compileTestRules([idleRule({ count: 3 })]);
    const arrivals = idleAt(0, 20, 10);
    const result = run(rules, arrivals);
    // The window at +20m holds 0, 10 and 20 once the late item is in.
    expect(summarise(result.firings)).toEqual(['idle-screens u-ada firing +20m']);
    expect(result.firings[0]?.alert.id).toBe(run(rules, idleAt(0, 10, 20)).firings[0]?.alert.id);
  });

  it('accept an item exactly at the allowance, and count it in the windows of its time', () => {
    const rules = compileTestRules([
      {
        name: 'low',
        on: APP,
        if: { 'app.productivityStatus': 'productive' },
        threshold: { window: '30m', count: true, lt: 2, minCount: 2, lateness: '10m' },
        to: ['d'],
      },
    ]);
    // b arrives, then an item 10 minutes newer, then a: exactly 10 minutes late, with b's time.
    const b = appItem({ t: 0, id: 'b', status: 'neutral' });
    const newer = appItem({ t: 10 * MINUTE, id: 'c', status: 'neutral' });
    const a = appItem({ t: 0, id: 'a', status: 'productive' });
    // Sorted, the window at b already holds a and b (two items, one productive): low from b on.
    expect(summarise(run(rules, [a, b, newer], { settle: true }).firings)).toEqual(['low u-ada firing +0m']);
    expect(summarise(run(rules, [b, newer, a], { settle: true }).firings)).toEqual(['low u-ada firing +0m']);
  });

  it('refuse an item later than the allowance and say so', () => {
    const rules = compileTestRules([idleRule({ count: 3, lateness: '5m' })]);
    const result = run(rules, idleAt(0, 20, 10), { explain: true });
    expect(result.firings).toEqual([]);
    expect(result.explanations?.at(-1)).toMatchObject({
      outcome: 'late',
      reason: expect.stringMatching(
        /more than the lateness allowance \(5m\) behind the newest item of u-ada/,
      ),
    });
  });

  it('evict entries older than window + allowance', () => {
    const rules = compileTestRules([idleRule({ count: 100, lateness: '30m' })]);
    const items = Array.from({ length: 600 }, (_, i) => screenshotItem({ t: i * MINUTE }));
    const { state } = run(rules, items);
    const keyState = state.rules.get(rules.rules[0]?.fingerprint ?? '')?.keys.get(ADA) as ThresholdState;
    const head = keyState.head ?? 0;
    // Window and allowance hold 60 one-minute items; eviction runs in batches of 32.
    expect(keyState.at.length).toBeLessThanOrEqual(60 + 32);
    expect(keyState.at[0]).toBeGreaterThan(head - 60 * MINUTE - 32 * MINUTE);
  });

  it('give the same alerts for a stream and its reordering within the allowance', () => {
    const rules = compileTestRules([
      {
        name: 'unproductive',
        on: APP,
        if: { 'app.productivityStatus': 'unproductive' },
        threshold: { window: '20m', sum: 'time.durationInSeconds', gte: 600, resolve: true },
        to: ['d'],
      },
    ]);
    const minutes = [0, 3, 6, 9, 12, 30, 33, 36, 39, 70];
    const inOrder = minutes.map((m) =>
      appItem({ t: m * MINUTE, id: `a${m}`, status: 'unproductive', seconds: 180 }),
    );
    const shuffled = [3, 0, 9, 12, 6, 33, 30, 39, 36, 70].map((m) =>
      appItem({ t: m * MINUTE, id: `a${m}`, status: 'unproductive', seconds: 180 }),
    );
    const sorted = run(rules, inOrder, { settle: true }).firings;
    const reordered = run(rules, shuffled, { settle: true }).firings;
    expect(summarise(sorted)).toEqual([
      'unproductive u-ada firing +9m',
      'unproductive u-ada resolved +30m',
      'unproductive u-ada firing +39m',
      'unproductive u-ada resolved +70m',
    ]);
    // The same episodes and the same resolved alerts (ids included). An eager firing alert may name a
    // later item of its episode: when +9m arrived, +6m had not, so the sum first held at +12m.
    expect(summarise(reordered)).toEqual([
      'unproductive u-ada firing +12m',
      'unproductive u-ada resolved +30m',
      'unproductive u-ada firing +39m',
      'unproductive u-ada resolved +70m',
    ]);
    const resolvedIds = (firings: typeof sorted) =>
      firings.filter((f) => f.alert.status === 'resolved').map((f) => f.alert.id);
    expect(resolvedIds(reordered)).toEqual(resolvedIds(sorted));
  });

  it('give identical alerts for a reordering when the rule waits for settlement (low activity)', () => {
    const rules = compileTestRules([
      {
        name: 'low',
        on: APP,
        if: { 'app.productivityStatus': 'productive' },
        threshold: { window: '20m', count: true, lt: 2, minCount: 3, resolve: true },
        to: ['d'],
      },
    ]);
    const status = (m: number) => ([0, 20, 24].includes(m) ? 'productive' : 'neutral');
    const make = (m: number) => appItem({ t: m * MINUTE, id: `a${m}`, status: status(m) });
    const sorted = run(rules, [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40].map(make), { settle: true }).firings;
    const reordered = run(rules, [4, 0, 12, 8, 16, 24, 20, 32, 28, 40, 36].map(make), {
      settle: true,
    }).firings;
    expect(summarise(sorted)).toEqual([
      'low u-ada firing +8m',
      'low u-ada resolved +24m',
      'low u-ada firing +40m',
    ]);
    // Everything but the item the alert was rendered with (the one whose arrival settled the point).
    const decided = (firings: typeof sorted) => firings.map(({ alert: { item, event, ...rest } }) => rest);
    expect(decided(reordered)).toEqual(decided(sorted));
  });
});

describe('sum, avg, min, max and ratio', () => {
  const unproductive = (threshold: Record<string, unknown>) => ({
    name: 'unproductive',
    on: APP,
    if: { 'app.productivityStatus': 'unproductive' },
    threshold: { window: '1h', lateness: '0s', ...threshold },
    to: ['d'],
  });
  const items = [
    appItem({ t: 0, status: 'productive', seconds: 600 }),
    appItem({ t: 10 * MINUTE, status: 'unproductive', seconds: 300 }),
    appItem({ t: 20 * MINUTE, status: 'unproductive', seconds: 600 }),
  ];

  it.each([
    {
      threshold: { sum: 'time.durationInSeconds', gte: 900 },
      alerts: ['unproductive u-ada firing +20m value=900'],
    },
    { threshold: { sum: 'time.durationInSeconds', gt: 900 }, alerts: [] },
    {
      threshold: { avg: 'time.durationInSeconds', gte: 450 },
      alerts: ['unproductive u-ada firing +20m value=450'],
    },
    // lt/lte wait for data: minCount 1 says one item is enough.
    {
      threshold: { min: 'time.durationInSeconds', lte: 300, minCount: 1 },
      alerts: ['unproductive u-ada firing +10m value=300'],
    },
    { threshold: { min: 'time.durationInSeconds', lte: 300 }, alerts: [] },
    {
      threshold: { max: 'time.durationInSeconds', gte: 600 },
      alerts: ['unproductive u-ada firing +20m value=600'],
    },
    // Unproductive seconds over all tracked seconds of the key: 300/900, then 900/1500.
    {
      threshold: { ratio: 'time.durationInSeconds', gte: 0.5 },
      alerts: ['unproductive u-ada firing +20m value=0.6'],
    },
    { threshold: { ratio: 'time.durationInSeconds', gt: 0.6 }, alerts: [] },
  ])('$threshold', ({ threshold, alerts }) => {
    expect(
      summarise(run(compileTestRules([unproductive(threshold)]), items).firings, { value: true }),
    ).toEqual(alerts);
  });

  it('carry the value and the threshold in the alert', () => {
    const rules = compileTestRules([unproductive({ sum: 'time.durationInSeconds', gte: 900 })]);
    const alert = run(rules, items).firings[0]?.alert;
    expect(alert).toMatchObject({
      value: 900,
      threshold: { op: 'gte', value: 900, aggregate: 'sum(time.durationInSeconds)', window: '1h' },
      title: 'unproductive: Ada Lovelace',
      text: 'sum(time.durationInSeconds) over 1h is 15m 00s (alert when ≥ 15m 00s)',
      user: ADA,
      person: { name: 'Ada Lovelace' },
    });
  });

  it('per team adds up the team', () => {
    const rules = compileTestRules([unproductive({ per: 'team', sum: 'time.durationInSeconds', gte: 600 })]);
    const teamItems = [
      appItem({ t: 0, user: ADA, status: 'unproductive', seconds: 300 }),
      appItem({ t: MINUTE, user: GRACE, status: 'unproductive', seconds: 600 }),
      appItem({ t: 2 * MINUTE, user: ALAN, status: 'unproductive', seconds: 300 }),
    ];
    const alert = run(rules, teamItems).firings.map((f) => f.alert);
    expect(summarise(run(rules, teamItems).firings)).toEqual([
      'unproductive t-ops firing +1m',
      'unproductive t-eng firing +2m',
    ]);
    // A team alert is about no one in particular.
    expect(alert[1]?.person).toBeUndefined();
  });
});

describe('low activity (lt/lte) waits for enough data', () => {
  const lowActivity = (threshold: Record<string, unknown>) => ({
    name: 'low-activity',
    on: APP,
    if: { 'app.productivityStatus': 'productive' },
    threshold: { window: '1h', ...threshold },
    to: ['managers'],
  });
  const neutralEvery10m = (from: number, to: number) => {
    const list = [];
    for (let m = from; m <= to; m += 10)
      list.push(appItem({ t: m * MINUTE, id: `n${m}`, status: 'neutral', seconds: 60 }));
    return list;
  };

  it('minCount: no alert until the window holds that many items of the key', () => {
    const rules = compileTestRules([
      lowActivity({ window: '30m', count: true, lt: 2, minCount: 3, lateness: '0s' }),
    ]);
    const result = run(rules, neutralEvery10m(0, 20), { explain: true });
    expect(summarise(result.firings)).toEqual(['low-activity u-ada firing +20m']);
    expect(result.explanations?.[0]).toMatchObject({
      outcome: 'not-ready',
      reason: 'not enough data to judge: 1 of 3 items (minCount)',
    });
  });

  it('by default waits for a full window of activity, so the first item of the morning is not an alert', () => {
    const rules = compileTestRules([lowActivity({ sum: 'time.durationInSeconds', lt: 600, lateness: '0s' })]);
    const morning = neutralEvery10m(0, 70);
    const nextMorning = neutralEvery10m(24 * 60, 24 * 60 + 70);
    expect(summarise(run(rules, [...morning, ...nextMorning]).firings)).toEqual([
      'low-activity u-ada firing +60m',
      'low-activity u-ada firing +1500m',
    ]);
  });

  it('with a lateness allowance, alerts once the window has settled', () => {
    const rules = compileTestRules([
      lowActivity({ window: '30m', count: true, lt: 2, minCount: 3, lateness: '30m' }),
    ]);
    const early = run(rules, neutralEvery10m(0, 20), { explain: true });
    expect(early.firings).toEqual([]);
    expect(early.explanations?.at(-1)?.outcome).toBe('pending');
    // An item 30 minutes after the low point settles it.
    const later = run(rules, [appItem({ t: 51 * MINUTE, status: 'neutral' })], { state: early.state });
    expect(summarise(later.firings)).toEqual(['low-activity u-ada firing +20m']);
  });

  it('settleAll judges what is still pending at the end of a stream', () => {
    const rules = compileTestRules([lowActivity({ window: '30m', count: true, lt: 2, minCount: 3 })]);
    const state = createState();
    for (const item of neutralEvery10m(0, 20)) expect(evaluateItem(rules, state, item).firings).toEqual([]);
    expect(summarise(settleAll(rules, state).firings)).toEqual(['low-activity u-ada firing +20m']);
  });
});

describe('repeat, resolve and cooldown', () => {
  it('repeat: alert again while the condition holds', () => {
    const rules = compileTestRules([idleRule({ window: '1h', count: 1, repeat: '30m', lateness: '0s' })]);
    const result = run(rules, idleAt(0, 10, 20, 30, 40, 50, 60, 70));
    expect(summarise(result.firings)).toEqual([
      'idle-screens u-ada firing +0m',
      'idle-screens u-ada firing +30m',
      'idle-screens u-ada firing +60m',
    ]);
    expect(new Set(result.firings.map((f) => f.alert.id)).size).toBe(3);
  });

  it("repeat measures from the episode's start, whatever the arrival order", () => {
    const rules = compileTestRules([idleRule({ count: 3, repeat: '10m', lateness: '10m' })]);
    const inOrder = run(rules, idleAt(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20), { settle: true });
    // +6m arrives before +4m: the eager alert names +6m, but the episode still began at +4m.
    const reordered = run(rules, idleAt(0, 2, 6, 4, 8, 10, 12, 14, 16, 18, 20), { settle: true });
    expect(summarise(inOrder.firings)).toEqual([
      'idle-screens u-ada firing +4m',
      'idle-screens u-ada firing +14m',
    ]);
    expect(summarise(reordered.firings)).toEqual([
      'idle-screens u-ada firing +6m',
      'idle-screens u-ada firing +14m',
    ]);
    expect(reordered.firings[1]?.alert.id).toBe(inOrder.firings[1]?.alert.id);
  });

  it('resolve: a resolved alert when the condition clears, and a new episode fires again', () => {
    const rules = compileTestRules([idleRule({ window: '10m', count: 3, resolve: true, lateness: '0s' })]);
    const items = [
      ...idleAt(0, 1, 2),
      screenshotItem({ t: 15 * MINUTE, idle: false }),
      ...idleAt(20, 21, 22),
    ];
    const result = run(rules, items);
    expect(summarise(result.firings)).toEqual([
      'idle-screens u-ada firing +2m',
      'idle-screens u-ada resolved +15m',
      'idle-screens u-ada firing +22m',
    ]);
    expect(result.firings[1]?.alert.title).toBe('[resolved] idle-screens: Ada Lovelace');
  });

  it('cooldown: at most one alert per key within the duration, on item time', () => {
    const rules = compileTestRules([
      idleRule({ window: '10m', count: 3, lateness: '0s' }, { cooldown: '1h' }),
    ]);
    const result = run(rules, idleAt(0, 1, 2, 20, 21, 22, 60, 61, 62), { explain: true });
    expect(summarise(result.firings)).toEqual([
      'idle-screens u-ada firing +2m',
      'idle-screens u-ada firing +62m',
    ]);
    const held = result.explanations?.find((e) => e.outcome === 'cooldown');
    expect(held?.reason).toMatch(
      /^3 matching items in 10m \(alert when ≥ 3\); cooldown 1h: last alert for u-ada at 2026-03-02T09:02:00.000Z, next from 2026-03-02T10:02:00.000Z$/,
    );
  });
});

describe('explanations', () => {
  it('say where the window stands', () => {
    const rules = compileTestRules([idleRule({ count: 3 })]);
    const result = run(rules, [...idleAt(0, 5, 10, 15), screenshotItem({ t: 16 * MINUTE, idle: false })], {
      explain: true,
    });
    expect(result.explanations?.map((e) => [e.outcome, e.reason])).toEqual([
      ['below-threshold', '1 matching item in 30m (alert when ≥ 3)'],
      ['below-threshold', '2 matching items in 30m (alert when ≥ 3)'],
      ['fired', '3 matching items in 30m (alert when ≥ 3)'],
      ['holding', '4 matching items in 30m (alert when ≥ 3); already alerted, quiet until it clears'],
      ['no-match', 'screenshot.isIdle is false, expected true'],
    ]);
  });
});
