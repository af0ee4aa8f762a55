import { describe, expect, it } from 'vitest';
import {
  createState,
  evaluateItem,
  type RuleStateMap,
  restoreState,
  serialiseState,
  takeChanges,
  tick,
} from './engine.js';
import { ADA, ALAN, appItem, compileTestRules, HOUR, MINUTE, REFERENCE_TIME } from './testdata/items.js';
import { summarise } from './testdata/run.js';
import type { Firing } from './types.js';

/*
 * Issue 9 §1: a threshold point held back by `lateness` (ratios, averages, "low" sums) must be judged
 * once its lateness has passed, whatever its key does next: by the evaluator's clock (ticks) and by
 * the newest item time the rule has seen, and never deleted unjudged.
 */

const APP = 'desktop.app_tracking.captured';
const UNPRODUCTIVE = { 'app.productivityStatus': 'unproductive' };
const RULES = [
  {
    name: 'unproductive-share',
    on: APP,
    if: UNPRODUCTIVE,
    threshold: { window: '1h', ratio: 'time.durationInSeconds', gte: 0.5 },
    to: ['d'],
  },
  {
    name: 'unproductive-sum',
    on: APP,
    if: UNPRODUCTIVE,
    threshold: { window: '1h', sum: 'time.durationInSeconds', gte: 200 },
    to: ['d'],
  },
];

/** Twelve unproductive items of Ada, one a minute, timed three hours before they are received. */
function threeHoursAgo(): ReturnType<typeof appItem>[] {
  return Array.from({ length: 12 }, (_, i) =>
    appItem({
      t: -3 * HOUR + i * MINUTE,
      id: `late-${i}`,
      status: 'unproductive',
      receivedAfter: 3 * HOUR - i * MINUTE,
    }),
  );
}

describe('held-back threshold points', () => {
  it('the sum alerts at once; the ratio at the first tick after its lateness has passed', () => {
    const rules = compileTestRules(RULES);
    const state = createState();
    const onArrival = threeHoursAgo().flatMap((item) => evaluateItem(rules, state, item).firings);
    expect(summarise(onArrival)).toEqual(['unproductive-sum u-ada firing -177m']);
    // Received now (REFERENCE_TIME), timed 3h ago: the 1h allowance passed long since.
    const ticked = tick(rules, state, REFERENCE_TIME).firings;
    expect(summarise(ticked)).toEqual(['unproductive-share u-ada firing -180m']);
    expect(tick(rules, state, REFERENCE_TIME + MINUTE).firings).toEqual([]);
  });

  it('a tick before the lateness has passed keeps the point waiting; the first one after judges it', () => {
    const rules = compileTestRules([{ ...RULES[0], threshold: { ...RULES[0]?.threshold, lateness: '5m' } }]);
    const state = createState();
    evaluateItem(rules, state, appItem({ t: 0, status: 'unproductive' }));
    expect(tick(rules, state, REFERENCE_TIME + 5 * MINUTE).firings).toEqual([]);
    expect(summarise(tick(rules, state, REFERENCE_TIME + 5 * MINUTE + 1000).firings)).toEqual([
      'unproductive-share u-ada firing +0m',
    ]);
  });

  it("other keys' newer items settle it too: the rule's item clock counts like the wall clock", () => {
    const rules = compileTestRules(RULES);
    const state = createState();
    for (const item of threeHoursAgo()) evaluateItem(rules, state, item);
    // Alan's item is timed (and received) now; a tick whose own clock lags still judges Ada's points.
    evaluateItem(rules, state, appItem({ t: 0, user: ALAN, status: 'productive' }));
    const ticked = tick(rules, state, REFERENCE_TIME - 3 * HOUR + 12 * MINUTE).firings;
    expect(summarise(ticked)).toEqual(['unproductive-share u-ada firing -180m']);
  });

  it('the judgement owed survives a restart: the rule state persisted with the cursor holds it', () => {
    const rules = compileTestRules(RULES);
    const state = createState();
    for (const item of threeHoursAgo()) evaluateItem(rules, state, item);
    takeChanges(state);
    const restored = restoreState(serialiseState(state));
    expect(summarise(tick(rules, restored, REFERENCE_TIME).firings)).toEqual([
      'unproductive-share u-ada firing -180m',
    ]);
  });

  it('survives a reload of an unchanged rule', () => {
    const rules = compileTestRules(RULES);
    const state = createState();
    for (const item of threeHoursAgo()) evaluateItem(rules, state, item);
    const reloaded = compileTestRules(RULES.map((rule) => ({ ...rule, message: { title: 'Again' } })));
    expect(reloaded.rules[0]?.fingerprint).toBe(rules.rules[0]?.fingerprint);
    expect(tick(reloaded, state, REFERENCE_TIME).firings.map((f) => f.alert.title)).toEqual(['Again']);
  });

  it('is never pruned unjudged, even when the first tick comes a day later', () => {
    const rules = compileTestRules([RULES[0]]);
    const state = createState();
    for (const item of threeHoursAgo()) evaluateItem(rules, state, item);
    // Another person's item two days later moves the item clock past the pruning horizon.
    evaluateItem(rules, state, appItem({ t: 48 * HOUR, user: ALAN }));
    const fired = tick(rules, state, REFERENCE_TIME + 48 * HOUR).firings;
    expect(summarise(fired)).toEqual(['unproductive-share u-ada firing -180m']);
    expect(fired[0]?.alert.key).toBe(ADA);
  });

  it('a restart from the rows the evaluator persisted, at any step, sends exactly the alerts of an uninterrupted run', () => {
    const rules = compileTestRules([
      ...RULES,
      {
        name: 'low-share',
        on: APP,
        if: { 'app.productivityStatus': 'productive' },
        threshold: {
          window: '30m',
          ratio: 'time.durationInSeconds',
          lt: 0.5,
          minCount: 2,
          lateness: '3m',
          resolve: true,
        },
        to: ['d'],
      },
    ]);
    // Items of two people a few minutes apart, and a tick every minute between them, for two hours.
    const steps: Array<{ item: ReturnType<typeof appItem> } | { tick: number }> = [];
    for (let m = 0; m < 120; m++) {
      if (m % 7 === 0 || m % 11 === 0) {
        const status = m % 3 === 0 ? 'productive' : 'unproductive';
        steps.push({ item: appItem({ t: m * MINUTE, id: `i${m}`, user: m % 2 ? ALAN : ADA, status }) });
      }
      steps.push({ tick: REFERENCE_TIME + m * MINUTE + 30_000 });
    }
    const apply = (state: RuleStateMap, rows: Map<string, unknown>) => {
      for (const change of takeChanges(state)) {
        if (change.value === undefined) rows.delete(change.key);
        else rows.set(change.key, JSON.parse(JSON.stringify(change.value)));
      }
    };
    const runFrom = (state: RuleStateMap, from: number, rows: Map<string, unknown>, until = steps.length) => {
      const firings: Firing[] = [];
      for (let i = from; i < until; i++) {
        const step = steps[i] as (typeof steps)[number];
        const evaluation =
          'item' in step ? evaluateItem(rules, state, step.item) : tick(rules, state, step.tick);
        firings.push(...evaluation.firings);
        apply(state, rows);
      }
      return firings;
    };
    const ids = (firings: Firing[]) => firings.map((f) => f.alert.id);
    const uninterrupted = ids(runFrom(createState(), 0, new Map()));
    expect(uninterrupted.length).toBeGreaterThan(3);
    for (let cut = 1; cut < steps.length; cut += 5) {
      const rows = new Map<string, unknown>();
      const before = runFrom(createState(), 0, rows, cut);
      const after = runFrom(restoreState([...rows]), cut, rows);
      expect([cut, ...ids([...before, ...after])]).toEqual([cut, ...uninterrupted]);
    }
  });
});
