import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import type { Item } from '../domain/item.js';
import { createManualClock } from '../lib/clock.js';
import { createMetrics } from '../lib/metrics.js';
import { type CompiledRuleSet, compileRules } from '../rules/engine.js';
import { type RuleConfig, ruleSchema } from '../rules/schema.js';
import { ADA, appItem, GRACE, MINUTE, PEOPLE, REFERENCE_TIME } from '../rules/testdata/items.js';
import type { CompiledRule } from '../rules/types.js';
import type { Store } from '../store/ports.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createEvaluator, type Evaluator, type EvaluatorOptions } from './evaluator.js';

const logger = pino({ level: 'silent' });
const noForwards = { forwardsEvent: () => false };
const opened: Array<{ store: Store; evaluator?: Evaluator }> = [];

afterEach(async () => {
  for (const { store, evaluator } of opened.splice(0)) {
    await evaluator?.stop();
    await store.close();
  }
});

function rules(...configs: Array<Record<string, unknown>>): CompiledRuleSet {
  const parsed: RuleConfig[] = configs.map((c) => ruleSchema.parse(c));
  const set = compileRules({ rules: parsed, people: PEOPLE });
  expect(set.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return set;
}

async function openStore(path: string): Promise<Store> {
  const store = await openSqliteStore(path);
  opened.push({ store });
  return store;
}

/** startEvaluator runs an evaluator over `store` (closed after the test) with a manual clock by default. */
async function startEvaluator(
  store: Store,
  ruleSet: CompiledRuleSet,
  options: Partial<EvaluatorOptions> = {},
): Promise<Evaluator> {
  const evaluator = createEvaluator({
    store,
    ruleSet,
    forwards: noForwards,
    clock: createManualClock(REFERENCE_TIME),
    logger,
    ...options,
  });
  const entry = opened.find((o) => o.store === store);
  if (entry) entry.evaluator = evaluator;
  await evaluator.start();
  return evaluator;
}

function freshDbPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'hookrelay-eval-')), 'db.sqlite');
}

async function append(store: Store, items: Item[]): Promise<void> {
  await store.events.append({
    request: {
      source: 'trackpilots',
      event: items[0]?.event ?? 'x',
      receivedAt: REFERENCE_TIME,
      body: Buffer.from('{}'),
    },
    events: items.map((item) => ({ dedupeKey: item.id, item })),
  });
}

/** pending returns the outbox's pending notifications of one destination (claimed far in the future). */
async function pending(store: Store, destination = 'out'): Promise<string[]> {
  const claimed = await store.outbox.claim({
    now: REFERENCE_TIME + 365 * 24 * 60 * MINUTE,
    leaseMs: 1,
    limitPerDestination: 100,
    destinations: [destination],
  });
  return claimed.map((n) => `${n.alert.rule}:${n.alert.key}`);
}

async function until(check: () => Promise<boolean>): Promise<void> {
  // Generous: the machine running the suite may be busy; a passing check returns at once.
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const HOUR_LATER = 60 * MINUTE;

const THREE_IN_AN_HOUR = {
  name: 'busy',
  on: 'desktop.app_tracking.captured',
  threshold: { window: '1h', count: 3 },
  to: ['out'],
};

describe('evaluator', () => {
  test('evaluates what was appended, writes one notification per destination, and survives a restart without repeats', async () => {
    const path = freshDbPath();
    const store = await openStore(path);
    const ruleSet = rules({ name: 'every-app', on: 'desktop.app_tracking.captured', to: ['out', 'other'] });
    const evaluator = await startEvaluator(store, ruleSet);
    await append(store, [appItem({ user: ADA, t: 0 }), appItem({ user: GRACE, t: MINUTE })]);
    await until(async () => evaluator.cursor >= 2);
    expect((await store.evaluator.load()).cursor).toBe(2);
    await evaluator.stop();
    await store.close();
    opened.length = 0;

    // A second run over the same database starts from the cursor: nothing is evaluated twice.
    const again = await openStore(path);
    const second = await startEvaluator(again, ruleSet);
    expect(second.cursor).toBe(2);
    expect((await pending(again, 'out')).sort()).toEqual([`every-app:${ADA}`, `every-app:${GRACE}`]);
    expect(await pending(again, 'other')).toHaveLength(2);
  });

  test("alerts carry the person's manager from the directory, for routing", async () => {
    const store = await openStore(freshDbPath());
    const people = [
      { id: ADA, name: 'Ada Lovelace', email: 'ada@example.com', manager: GRACE },
      { id: GRACE, name: 'Grace Hopper', email: 'grace@example.com' },
    ];
    const ruleSet = compileRules({
      rules: [ruleSchema.parse({ name: 'every-app', on: 'desktop.app_tracking.captured', to: ['out'] })],
      people,
    });
    const evaluator = await startEvaluator(store, ruleSet);
    await append(store, [appItem({ user: ADA, t: 0 }), appItem({ user: GRACE, t: MINUTE })]);
    await until(async () => evaluator.cursor >= 2);
    const claimed = await store.outbox.claim({
      now: REFERENCE_TIME + HOUR_LATER,
      leaseMs: 1,
      limitPerDestination: 10,
      destinations: ['out'],
    });
    const byUser = new Map(claimed.map((n) => [n.alert.user, n.alert]));
    expect(byUser.get(ADA)?.manager).toEqual({ id: GRACE, name: 'Grace Hopper', email: 'grace@example.com' });
    expect(byUser.get(GRACE)?.manager).toBeUndefined();
  });

  test('a reload keeps the window of an unchanged rule and drops that of a changed one', async () => {
    const store = await openStore(freshDbPath());
    const evaluator = await startEvaluator(store, rules(THREE_IN_AN_HOUR));
    await append(store, [appItem({ user: ADA, t: 0 }), appItem({ user: ADA, t: MINUTE })]);
    await until(async () => evaluator.cursor >= 2);

    // Same rule, new wording: its state (two items in the window) carries over, the third item fires.
    await evaluator.reload(rules({ ...THREE_IN_AN_HOUR, message: { title: 'Busy {{ user }}' } }), noForwards);
    await append(store, [appItem({ user: ADA, t: 2 * MINUTE })]);
    await until(async () => evaluator.cursor >= 3);
    expect(await pending(store)).toEqual([`busy:${ADA}`]);

    // A changed condition starts from nothing: three new items are needed again.
    await evaluator.reload(
      rules({ ...THREE_IN_AN_HOUR, if: { 'app.productivityStatus': 'productive' } }),
      noForwards,
    );
    await append(store, [appItem({ user: GRACE, t: 3 * MINUTE }), appItem({ user: GRACE, t: 4 * MINUTE })]);
    await until(async () => evaluator.cursor >= 5);
    expect(await pending(store)).toEqual([]);
  });

  test('absence runs on the clock: a person who goes quiet is alerted once', async () => {
    const store = await openStore(freshDbPath());
    const clock = createManualClock(REFERENCE_TIME);
    const ticks: number[] = [];
    /** ticked waits until a tick at the clock's current time has committed (instead of sleeping). */
    const ticked = () => {
      const now = clock.now();
      return until(async () => ticks.some((t) => t >= now));
    };
    const evaluator = await startEvaluator(
      store,
      rules({
        name: 'quiet',
        absent: { on: 'desktop.app_tracking.captured', for: '30m' },
        users: [ADA],
        to: ['out'],
      }),
      { clock, tickMs: 5, onTick: (now) => ticks.push(now) },
    );
    await append(store, [appItem({ user: ADA, t: 0 })]);
    await until(async () => evaluator.cursor >= 1);
    clock.set(REFERENCE_TIME + 10 * MINUTE);
    await ticked();
    expect(await pending(store)).toEqual([]);
    clock.set(REFERENCE_TIME + 31 * MINUTE);
    await until(async () => (await store.outbox.pendingCounts()).out === 1);
    clock.set(REFERENCE_TIME + 45 * MINUTE);
    await ticked();
    expect(await pending(store)).toEqual([`quiet:${ADA}`]);
  });

  test('a threshold point held back by lateness is sent by the tick once the allowance has passed (issue 9 §1)', async () => {
    const store = await openStore(freshDbPath());
    const ruleSet = rules({
      name: 'unproductive-share',
      on: 'desktop.app_tracking.captured',
      if: { 'app.productivityStatus': 'unproductive' },
      threshold: { window: '1h', ratio: 'time.durationInSeconds', gte: 0.5 },
      to: ['out'],
    });
    const ticks: number[] = [];
    const evaluator = await startEvaluator(store, ruleSet, { tickMs: 5, onTick: (now) => ticks.push(now) });
    // Ada's last items, timed 3h before the clock: nothing of hers follows to settle them.
    await append(
      store,
      [0, 1, 2].map((m) => appItem({ user: ADA, t: -3 * HOUR_LATER + m * MINUTE, status: 'unproductive' })),
    );
    await until(async () => evaluator.cursor >= 3);
    await until(async () => (await store.outbox.pendingCounts()).out === 1);
    expect(await pending(store)).toEqual([`unproductive-share:${ADA}`]);
    expect(ticks.length).toBeGreaterThan(0);
  });

  test('an item whose evaluation throws is skipped alone: logged once with its seq and code, counted, and the items behind it are evaluated', async () => {
    const path = freshDbPath();
    const store = await openStore(path);
    const good = rules(THREE_IN_AN_HOUR);
    // The poisoned item's evaluation throws half-way, after the threshold rule has already counted it:
    // that half-done change must not survive either.
    const poisoned: CompiledRuleSet = {
      ...good,
      candidates(item) {
        const found = good.candidates(item);
        if (item.id !== 'poison') return found;
        return (function* (): Generator<CompiledRule> {
          yield* found;
          throw new Error('evaluation blew up');
        })() as unknown as readonly CompiledRule[];
      },
    };
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const metrics = createMetrics();
    const evaluator = await startEvaluator(store, poisoned, { logger: capture, metrics, batchSize: 2 });
    await append(store, [
      appItem({ user: ADA, t: 0 }),
      appItem({ user: ADA, t: MINUTE }),
      appItem({ user: ADA, t: 2 * MINUTE, id: 'poison' }),
      appItem({ user: ADA, t: 3 * MINUTE }),
    ]);
    await until(async () => evaluator.cursor >= 4);
    // Three good items in the hour: one alert, at the fourth item (the poisoned one never counted).
    expect(await pending(store)).toEqual([`busy:${ADA}`]);
    const failed = lines.filter((line) => line['code'] === 'HR_ERR_EVALUATE_ITEM_FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ seq: 3, level: 50 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('hookrelay_evaluator_items_failed_total 1');
    expect((await store.evaluator.load()).cursor).toBe(4);
    // The item stays in the event log for an operator to look at.
    expect((await store.events.readAfter(2, 1, { images: false }))[0]?.item.id).toBe('poison');
  });
});
