import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../domain/alert.js';
import type { Item } from '../domain/item.js';
import { ADA, ALAN, appItem, compileTestRules, MINUTE, SECOND } from './testdata/items.js';
import { run } from './testdata/run.js';

/*
 * Reordering within the lateness allowance must not change the alerts. The arrival order is generated
 * the way late items really arrive: each item is delayed by up to the allowance, and items arrive in
 * order of time + delay. So an item never arrives after one more than the allowance newer than it.
 *
 * What is promised: every alert decided on settled points (resolved alerts, and all alerts of rules
 * that wait for settlement: low activity, ratio, avg, plain rules) is identical, id included.
 * Eager firing alerts (count/sum above a bound) open the same episodes in the same sequence; each may
 * name a later item of its episode than the in-order run, by at most the allowance.
 */

const APP = 'desktop.app_tracking.captured';

interface Scenario {
  windowMin: number;
  latenessMin: number;
  items: Array<{
    atSec: number;
    user: string;
    status: string;
    seconds: number;
    delaySec: number;
    tie: number;
  }>;
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({ windowMin: fc.integer({ min: 5, max: 40 }), latenessMin: fc.integer({ min: 1, max: 30 }) })
  .chain(({ windowMin, latenessMin }) =>
    fc.record({
      windowMin: fc.constant(windowMin),
      latenessMin: fc.constant(latenessMin),
      items: fc.array(
        fc.record({
          // Whole minutes make ties in time (and exact window edges) common.
          atSec: fc.oneof(
            fc.integer({ min: 0, max: 180 }).map((m) => m * 60),
            fc.integer({ min: 0, max: 180 * 60 }),
          ),
          user: fc.constantFrom(ADA, ALAN),
          status: fc.constantFrom('productive', 'unproductive', 'neutral'),
          seconds: fc.integer({ min: 1, max: 600 }),
          delaySec: fc.integer({ min: 0, max: latenessMin * 60 }),
          tie: fc.nat(),
        }),
        { minLength: 1, maxLength: 60 },
      ),
    }),
  );

function rulesFor(windowMin: number, latenessMin: number) {
  const threshold = (extra: Record<string, unknown>) => ({
    window: `${windowMin}m`,
    lateness: `${latenessMin}m`,
    resolve: true,
    ...extra,
  });
  const unproductive = { 'app.productivityStatus': 'unproductive' };
  return compileTestRules([
    {
      name: 'eager-sum',
      on: APP,
      if: unproductive,
      threshold: threshold({ sum: 'time.durationInSeconds', gte: 900 }),
      to: ['d'],
    },
    {
      name: 'eager-count',
      on: APP,
      if: unproductive,
      threshold: threshold({ count: 3, repeat: '15m' }),
      to: ['d'],
    },
    {
      name: 'low-activity',
      on: APP,
      if: { 'app.productivityStatus': 'productive' },
      threshold: threshold({ count: true, lt: 2, minCount: 3 }),
      to: ['d'],
    },
    {
      name: 'ratio',
      on: APP,
      if: unproductive,
      threshold: threshold({ ratio: 'time.durationInSeconds', gte: 0.5 }),
      to: ['d'],
    },
    {
      name: 'avg',
      on: APP,
      if: unproductive,
      threshold: threshold({ avg: 'time.durationInSeconds', gt: 300, minCount: 1 }),
      to: ['d'],
    },
    { name: 'plain', on: APP, if: unproductive, to: ['d'] },
  ]);
}

function items(s: Scenario): { sorted: Item[]; arrival: Item[] } {
  const built = s.items.map((spec, i) => ({
    spec,
    item: appItem({
      t: spec.atSec * SECOND,
      id: `i${i}`,
      user: spec.user,
      status: spec.status,
      seconds: spec.seconds,
    }),
  }));
  const sorted = [...built]
    .sort((a, b) => a.item.at - b.item.at || (a.item.id < b.item.id ? -1 : 1))
    .map((entry) => entry.item);
  const arrival = [...built]
    .sort(
      (a, b) =>
        a.item.at + a.spec.delaySec * SECOND - (b.item.at + b.spec.delaySec * SECOND) ||
        a.spec.tie - b.spec.tie,
    )
    .map((entry) => entry.item);
  return { sorted, arrival };
}

const EAGER_RULES = new Set(['eager-sum', 'eager-count']);
// Firing alerts of eager rules (repeats included: they are settled, so they match exactly anyway).
const isEagerFiring = (alert: Alert) => EAGER_RULES.has(alert.rule) && alert.status === 'firing';

/** Each (rule, key)'s alerts in emission order. */
function byRuleAndKey(alerts: Alert[]): Map<string, Alert[]> {
  const groups = new Map<string, Alert[]>();
  for (const alert of alerts)
    groups.set(`${alert.rule}|${alert.key}`, [...(groups.get(`${alert.rule}|${alert.key}`) ?? []), alert]);
  return groups;
}

describe('evaluation over a reordered stream', () => {
  it('gives the same alerts when items arrive out of order within the allowance', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const rules = rulesFor(s.windowMin, s.latenessMin);
        const { sorted, arrival } = items(s);
        const inOrder = run(rules, sorted, { settle: true }).firings.map((f) => f.alert);
        const reordered = run(rules, arrival, { settle: true }).firings.map((f) => f.alert);

        // Settled decisions: identical ids (all alerts but eager firings).
        const settledIds = (alerts: Alert[]) =>
          alerts
            .filter((a) => !isEagerFiring(a))
            .map((a) => a.id)
            .sort();
        expect(settledIds(reordered)).toEqual(settledIds(inOrder));

        // Eager firings: the same sequence per rule and key, each at most the allowance later.
        const expected = byRuleAndKey(inOrder);
        const actual = byRuleAndKey(reordered);
        expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
        for (const [group, alerts] of expected) {
          const other = actual.get(group) ?? [];
          expect(other.map((a) => a.status)).toEqual(alerts.map((a) => a.status));
          alerts.forEach((alert, i) => {
            const counterpart = other[i] as Alert;
            if (!isEagerFiring(alert)) return;
            expect(counterpart.at).toBeGreaterThanOrEqual(alert.at);
            expect(counterpart.at).toBeLessThanOrEqual(alert.at + s.latenessMin * MINUTE);
          });
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    );
  });

  it('gives the same alert ids when the same stream is evaluated again', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const rules = rulesFor(s.windowMin, s.latenessMin);
        const { arrival } = items(s);
        const ids = () => run(rules, arrival, { settle: true }).firings.map((f) => f.alert.id);
        expect(ids()).toEqual(ids());
      }),
      { numRuns: 50 },
    );
  });
});
