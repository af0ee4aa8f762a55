import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { createManualClock } from '../lib/clock.js';
import { runRuleTest } from '../rules/rule-test.js';
import { ADA, appItem, compileTestRules, HOUR, MINUTE, REFERENCE_TIME } from '../rules/testdata/items.js';
import type { Store } from '../store/ports.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createEvaluator, type Evaluator } from './evaluator.js';

/*
 * Issue 9 §1: `serve` and `hookrelay test` give the same alerts for the same input, for every kind of
 * threshold. One person's last items, timed three hours before they arrive, with nothing after them:
 * the eager thresholds fire on arrival, the others once their lateness has passed, on the first tick.
 * The evaluator (serve's evaluate stage, over a SQLite file) and the test runner must agree exactly.
 */

const AGGREGATES = {
  // Matching items (unproductive): 60s, 120s, 180s, 60s at minutes 0, 1, 3, 4; 60s and 30s productive.
  count: { gt: 2, gte: 3, lt: 3, lte: 2 },
  sum: { gt: 300, gte: 360, lt: 200, lte: 180 },
  avg: { gt: 100, gte: 105, lt: 95, lte: 90 },
  min: { gt: 50, gte: 60, lt: 70, lte: 60 },
  max: { gt: 150, gte: 180, lt: 130, lte: 120 },
  ratio: { gt: 0.8, gte: 1, lt: 0.8, lte: 0.75 },
} as const;

const RULES = Object.entries(AGGREGATES).flatMap(([aggregate, ops]) =>
  Object.entries(ops).map(([op, bound]) => ({
    name: `${aggregate}-${op}`,
    on: 'desktop.app_tracking.captured',
    if: { 'app.productivityStatus': 'unproductive' },
    threshold: {
      window: '1h',
      ...(aggregate === 'count' ? { count: true } : { [aggregate]: 'time.durationInSeconds' }),
      [op]: bound,
      ...(op === 'lt' || op === 'lte' ? { minCount: 2 } : {}),
      resolve: true,
    },
    to: ['out'],
  })),
);

const ITEMS = (
  [
    [60, 'unproductive'],
    [120, 'unproductive'],
    [60, 'productive'],
    [180, 'unproductive'],
    [60, 'unproductive'],
    [30, 'productive'],
  ] as const
).map(([seconds, status], i) =>
  appItem({
    user: ADA,
    id: `late-${i}`,
    t: -3 * HOUR + i * MINUTE,
    receivedAfter: 3 * HOUR - i * MINUTE,
    seconds,
    status,
  }),
);

const opened: Array<{ store: Store; evaluator: Evaluator }> = [];
afterEach(async () => {
  for (const { store, evaluator } of opened.splice(0)) {
    await evaluator.stop();
    await store.close();
  }
});

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('serve and hookrelay test', () => {
  test('send the same alerts for every threshold kind, held back or not', async () => {
    const ruleSet = compileTestRules(RULES);
    const store = await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'hookrelay-agree-')), 'db.sqlite'));
    const ticks: number[] = [];
    const evaluator = createEvaluator({
      store,
      ruleSet,
      forwards: { forwardsEvent: () => false },
      clock: createManualClock(REFERENCE_TIME),
      logger: pino({ level: 'silent' }),
      tickMs: 5,
      onTick: (now) => ticks.push(now),
    });
    opened.push({ store, evaluator });
    await evaluator.start();
    await store.events.append({
      request: { source: 'trackpilots', event: 'x', receivedAt: REFERENCE_TIME, body: Buffer.from('{}') },
      events: ITEMS.map((item) => ({ dedupeKey: item.id, item })),
    });
    await until('the items evaluated', () => evaluator.cursor >= ITEMS.length);
    // Steps never interleave, so a tick that ends after this point ran after the items.
    const seen = ticks.length;
    await until('a tick after the items', () => ticks.length > seen);
    const claimed = await store.outbox.claim({
      now: REFERENCE_TIME + 24 * HOUR,
      leaseMs: 1,
      limitPerDestination: 1000,
      destinations: ['out'],
    });
    const served = claimed.map((n) => `${n.alert.rule} ${n.alert.status} ${n.alert.id}`).sort();

    // hookrelay test: the same items, on its own clock (the tick at their arrival), nothing advanced.
    const tested = runRuleTest(ruleSet, { items: ITEMS, expect: [], allowOthers: true })
      .firings.map((f) => `${f.alert.rule} ${f.alert.status} ${f.alert.id}`)
      .sort();

    expect(served).toEqual(tested);
    // Every kind fired, so the comparison covers each of them.
    const fired = new Set(
      served.filter((line) => line.includes(' firing ')).map((line) => line.split(' ')[0]),
    );
    expect([...fired].sort()).toEqual(RULES.map((rule) => rule.name).sort());
  });
});
