import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serialiseState, TICK_MS } from './engine.js';
import {
  ADA,
  ALAN,
  appItem,
  compileTestRules,
  GRACE,
  HOUR,
  MINUTE,
  REFERENCE_TIME,
  SCHEDULES,
} from './testdata/items.js';
import { summarise } from './testdata/run.js';
import { runTimeline } from './timeline.js';

const APP = 'desktop.app_tracking.captured';

/** One rule of every clock-driven kind, with schedules and a silence, so every due time is exercised. */
const rules = compileTestRules(
  [
    {
      name: 'low-share',
      on: APP,
      if: { 'app.productivityStatus': 'productive' },
      threshold: { window: '30m', ratio: 'time.durationInSeconds', lt: 0.5, minCount: 2, lateness: '5m' },
      to: ['d'],
    },
    {
      name: 'avg-long',
      on: APP,
      threshold: { window: '1h', avg: 'time.durationInSeconds', gte: 90, resolve: true },
      during: 'work-hours',
      to: ['d'],
    },
    {
      name: 'busy',
      on: APP,
      threshold: { window: '20m', count: 3, lateness: '2m' },
      cooldown: '30m',
      to: ['d'],
    },
    { name: 'quiet', absent: { on: APP, for: '20m' }, to: ['d'] },
    {
      name: 'quiet-at-work',
      absent: { on: APP, for: '45m', watch: 'people' },
      during: 'work-hours',
      to: ['d'],
    },
    { name: 'seen-at-work', absent: { on: APP, for: '25m' }, during: 'work-hours', to: ['d'] },
    { name: 'steam', on: APP, if: { 'app.name': 'Steam' }, digest: { every: '30m' }, to: ['d'] },
    {
      name: 'steam-daily',
      on: APP,
      if: { 'app.name': 'Steam' },
      digest: { at: ['11:17', '13:00'], timezone: 'Europe/Berlin', first: 'now' },
      to: ['d'],
    },
    {
      name: 'chrome-workday',
      on: APP,
      if: { 'app.name': 'Google Chrome' },
      digest: { schedule: 'short' },
      to: ['d'],
    },
  ],
  {
    schedules: {
      ...SCHEDULES,
      short: { timezone: 'Europe/Berlin', days: ['mon', 'tue'], hours: ['10:30-11:45', '12:10-13:20'] },
    },
    silences: [
      {
        name: 'lunch',
        rules: ['quiet'],
        starts: new Date(REFERENCE_TIME + 2 * HOUR + 17_500).toISOString(),
        ends: new Date(REFERENCE_TIME + 3 * HOUR + 2_250).toISOString(),
      },
    ],
  },
);

const arrival = fc.record({
  user: fc.constantFrom(ADA, ALAN, GRACE),
  // Received within the first four hours, at any millisecond; timed up to 90 minutes earlier (or, from
  // a client whose clock is ahead, up to 20 minutes later).
  receivedMs: fc.integer({ min: 0, max: 4 * HOUR }),
  delayMs: fc.integer({ min: -20 * MINUTE, max: 90 * MINUTE }),
  seconds: fc.integer({ min: 10, max: 300 }),
  status: fc.constantFrom('productive', 'neutral', 'unproductive'),
  app: fc.constantFrom('Google Chrome', 'Steam'),
});

type Arrival = typeof arrival extends fc.Arbitrary<infer T> ? T : never;

function itemsOf(entries: Arrival[]) {
  return entries
    .sort((a, b) => a.receivedMs - b.receivedMs)
    .map((entry, i) =>
      appItem({
        id: `i${i}`,
        user: entry.user,
        t: entry.receivedMs - entry.delayMs,
        receivedAfter: entry.delayMs,
        seconds: entry.seconds,
        status: entry.status,
        app: entry.app,
      }),
    );
}

/** Each alert, its id, and when it would have been sent. */
const outcome = (result: ReturnType<typeof runTimeline>) =>
  result.firings.map((f, i) => `${summarise([f])[0]} ${f.alert.id} sent ${result.sentAt[i]}`);

describe('the timeline runner', () => {
  it('stepping to the due times gives exactly the alerts of ticking every second', () => {
    fc.assert(
      fc.property(
        fc.array(arrival, { minLength: 1, maxLength: 14 }),
        fc.integer({ min: 0, max: 5 * HOUR }),
        (entries, advanceMs) => {
          const items = itemsOf(entries);
          const due = runTimeline(rules, items, { advanceMs });
          const everyTick = runTimeline(rules, items, { advanceMs, stepping: 'every-tick' });
          expect(outcome(due)).toEqual(outcome(everyTick));
          expect(serialiseState(due.state)).toBe(serialiseState(everyTick.state));
          expect(due.endedAt).toBe(everyTick.endedAt);
          expect(due.ticks).toBeLessThanOrEqual(everyTick.ticks);
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 40) },
    );
  });

  it('agrees over days of schedule stretches too, with far fewer engine calls', () => {
    const items = itemsOf([
      { user: ADA, receivedMs: 0, delayMs: 0, seconds: 60, status: 'productive', app: 'Steam' },
      { user: ALAN, receivedMs: 7 * MINUTE, delayMs: 0, seconds: 120, status: 'neutral', app: 'Steam' },
    ]);
    const advanceMs = 3 * 24 * HOUR;
    const due = runTimeline(rules, items, { advanceMs });
    const everyTick = runTimeline(rules, items, { advanceMs, stepping: 'every-tick' });
    expect(outcome(due)).toEqual(outcome(everyTick));
    // watch: people: all three (two seen, one only listed) are quiet on Monday, then each morning.
    expect(summarise(due.firings).filter((line) => line.startsWith('quiet-at-work'))).toHaveLength(12);
    // watch: seen: the two seen on Monday, on Monday only.
    expect(summarise(due.firings).filter((line) => line.startsWith('seen-at-work'))).toHaveLength(2);
    expect(everyTick.ticks).toBe(advanceMs / TICK_MS + 7 * 60 + 1);
    expect(due.ticks).toBeLessThan(everyTick.ticks / 20);
  });

  it('prunes at the tick after the item that made a key a day idle, as ticking every second does', () => {
    const games = compileTestRules([
      { name: 'games', on: APP, if: { 'app.name': 'Steam' }, cooldown: '30m', to: ['d'] },
    ]);
    const items = [
      appItem({ t: 0, app: 'Steam' }),
      appItem({ t: 25 * HOUR, user: ALAN }),
      // Timed inside Ada's cooldown: muted unless her cooldown was pruned (idle for a day) meanwhile.
      appItem({ t: 10 * MINUTE, app: 'Steam', receivedAfter: 25 * HOUR + 3_000 }),
    ];
    const due = runTimeline(games, items);
    expect(outcome(due)).toEqual(outcome(runTimeline(games, items, { stepping: 'every-tick' })));
    expect(summarise(due.firings)).toEqual(['games u-ada firing +0m', 'games u-ada firing +10m']);
  });

  it('ticks up to the advance and no further, and settles nothing it has not reached', () => {
    const held = compileTestRules([
      {
        name: 'low-share',
        on: APP,
        if: { 'app.productivityStatus': 'productive' },
        threshold: { window: '30m', ratio: 'time.durationInSeconds', lt: 0.5, lateness: '5m', minCount: 1 },
        to: ['d'],
      },
    ]);
    const items = [appItem({ t: 0, status: 'neutral' })];
    expect(runTimeline(held, items).firings).toEqual([]);
    expect(runTimeline(held, items, { advanceMs: 5 * MINUTE }).firings).toEqual([]);
    const after = runTimeline(held, items, { advanceMs: 5 * MINUTE + 1 });
    expect(summarise(after.firings)).toEqual(['low-share u-ada firing +0m']);
    expect(after.endedAt).toBe(REFERENCE_TIME + 5 * MINUTE + TICK_MS);
  });
});
