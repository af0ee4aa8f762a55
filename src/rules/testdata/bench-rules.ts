import type { Item, Person } from '../../domain/item.js';
import { type CompileInput, compileRules } from '../compile.js';
import { createState, evaluateItem, stateSize, takeChanges, tick } from '../engine.js';
import { type RuleConfig, ruleSchema } from '../schema.js';
import type { CompiledRuleSet } from '../types.js';

/*
 * A realistic rule set of any size for `npm run bench` (bench/evaluate.ts): items/s with 10, 1,000 and
 * 10,000 rules. A large deployment does not have 10,000 rules that all watch every event; it has a few
 * organisation-wide rules plus many rules scoped to one person or team, or to other sources' events.
 * So the set is:
 *   - 10 organisation-wide rules over the three Trackpilots events (the examples of DESIGN.md:
 *     unproductive hour, idle screenshots, low activity, went quiet, forward everything, …);
 *   - then, in every 12: three rules scoped to one person (`users:`, by id or by name), one scoped to a
 *     team, and eight for other sources' event types (github.*, stripe.*, shops' order events).
 * The directory has 2,000 people in 400 teams; the bench items come from 200 of them. The per-item
 * cost then depends on the rules that watch the item, not on the size of the set.
 */

/** BENCH_REFERENCE_TIME is the time of the first bench item (a Monday, 08:00Z). */
export const BENCH_REFERENCE_TIME = Date.UTC(2026, 2, 2, 8, 0, 0);

// Five people per team, as in a company of 2,000.
const TEAMS = 400;

/** benchPeople returns the directory the bench rules refer to. */
export function benchPeople(count = 2_000): Person[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `user-${i}`,
    name: `Person ${i}`,
    email: `person${i}@example.com`,
    team: `team-${i % TEAMS}`,
  }));
}

const APP = 'desktop.app_tracking.captured';
const SHOT = 'desktop.screenshot_tracking.captured';
const ACTIVITY = 'desktop.activity_tracking.captured';

const ORG_RULES: unknown[] = [
  {
    name: 'unproductive-hour',
    on: APP,
    if: { 'app.productivityStatus': 'unproductive' },
    threshold: { per: 'user', window: '1h', sum: 'time.durationInSeconds', gte: 1800 },
    cooldown: '2h',
    during: 'work-hours',
    to: ['team-slack'],
    message: {
      title: 'Unproductive hour: {{ person.name | default: user }}',
      text: '{{ value | duration }} on unproductive apps in the last hour (latest: {{ app.name }})',
    },
  },
  {
    name: 'idle-screens',
    on: SHOT,
    if: { 'screenshot.isIdle': true },
    threshold: { per: 'user', window: '30m', count: 3 },
    attach: 'screenshot',
    to: ['team-discord'],
  },
  {
    name: 'low-activity',
    on: APP,
    if: { 'app.productivityStatus': 'productive' },
    threshold: {
      per: 'user',
      window: '1h',
      ratio: 'time.durationInSeconds',
      lt: 0.3,
      lateness: '10m',
      resolve: true,
    },
    during: 'work-hours',
    to: ['managers'],
  },
  {
    name: 'went-quiet',
    absent: { on: APP, per: 'user', for: '30m' },
    during: 'work-hours',
    to: ['team-discord'],
  },
  { name: 'forward-everything', on: '*', to: ['zapier'] },
  {
    name: 'games',
    on: APP,
    if: { 'app.name': { regex: '/steam|epic games|battle\\.net/i' } },
    cooldown: '1h',
    to: ['team-slack'],
  },
  {
    name: 'team-unproductive',
    on: APP,
    if: { 'app.productivityStatus': 'unproductive' },
    threshold: { per: 'team', window: '1h', sum: 'time.durationInSeconds', gte: 36_000 },
    digest: { every: '1h' },
    to: ['managers'],
  },
  {
    name: 'offline-tracking',
    on: APP,
    if: { trackingMode: { ne: 'online' } },
    cooldown: '4h',
    to: ['console'],
  },
  { name: 'work-mode-changes', on: ACTIVITY, to: ['console'], simulation: 'ignore' },
  {
    name: 'long-sessions',
    on: APP,
    if: { 'time.durationInSeconds': { gte: 3_600 } },
    to: ['console'],
  },
];

function scopedRule(i: number, people: readonly Person[]): unknown {
  const person = people[i % people.length] as Person;
  const name = `rule-${i}`;
  switch (i % 12) {
    case 0:
    case 1:
      return {
        name,
        on: APP,
        users: [person.id],
        if: { 'app.productivityStatus': 'unproductive' },
        threshold: { window: '30m', sum: 'time.durationInSeconds', gte: 900 },
        cooldown: '1h',
        to: ['team-slack'],
      };
    case 2:
      return {
        name,
        on: SHOT,
        users: [person.name as string],
        if: { 'screenshot.isIdle': true },
        threshold: { window: '15m', count: 2 },
        to: ['team-discord'],
      };
    case 3:
      return {
        name,
        on: APP,
        teams: [person.team as string],
        if: { all: [{ 'app.category': 'Social Media' }, { 'time.durationInSeconds': { gt: 600 } }] },
        cooldown: '30m',
        to: ['managers'],
      };
    case 4:
    case 5:
      return {
        name,
        on: `github.${['push', 'pull_request', 'issues'][i % 3]}`,
        if: { 'raw.ref': 'refs/heads/main' },
        to: ['console'],
      };
    case 6:
    case 7:
      return {
        name,
        on: 'stripe.*',
        if: { 'raw.data.object.amount': { gte: 100_000 } },
        threshold: { per: 'org', window: '1h', count: 5 },
        to: ['managers'],
      };
    default:
      return {
        name,
        on: [`shop-${i % 97}.order.created`, `shop-${i % 97}.order.refunded`],
        if: { any: [{ 'raw.total': { gt: 500 } }, { 'raw.flagged': true }] },
        to: ['console'],
      };
  }
}

/** makeBenchRules returns the compile input of a realistic set of n rules (parsed through the schema). */
export function makeBenchRules(n: number, people: readonly Person[] = benchPeople()): CompileInput {
  const raw: unknown[] = [];
  for (let i = 0; i < n; i++) raw.push(i < ORG_RULES.length ? ORG_RULES[i] : scopedRule(i, people));
  const rules: RuleConfig[] = raw.map((rule) => ruleSchema.parse(rule));
  return {
    rules,
    people,
    schedules: {
      'work-hours': {
        timezone: 'Europe/Berlin',
        days: ['mon', 'tue', 'wed', 'thu', 'fri'],
        hours: '09:00-17:30',
      },
    },
    silences: [],
  };
}

/** makeBenchRuleSet compiles makeBenchRules(n); it throws if the set does not compile (a bench bug). */
export function makeBenchRuleSet(n: number, people: readonly Person[] = benchPeople()): CompiledRuleSet {
  const ruleSet = compileRules(makeBenchRules(n, people));
  if (!ruleSet.ok)
    throw new Error(`bench rules do not compile: ${JSON.stringify(ruleSet.problems.slice(0, 3))}`);
  return ruleSet;
}

/**
 * benchItems yields `count` Trackpilots items from `activeUsers` people, in time order, 2 s apart
 * overall (each person sends an item every few minutes): 70% app tracking, 25% screenshots, 5%
 * activity changes. The stream is deterministic (a fixed linear congruential generator) and generated
 * lazily, so a bench can evaluate it in batches of fresh objects, as the evaluator reads the log.
 */
export function* benchItems(count: number, activeUsers = 200): Generator<Item> {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const apps = ['Google Chrome', 'Slack', 'VS Code', 'Steam', 'Figma', 'YouTube'];
  const statuses = ['productive', 'productive', 'neutral', 'unproductive'];
  for (let i = 0; i < count; i++) {
    const userIndex = Math.floor(random() * activeUsers);
    const at = BENCH_REFERENCE_TIME + i * 2_000;
    const kind = random();
    const base = {
      source: 'trackpilots',
      id: `bench-${i}`,
      at,
      receivedAt: at + 5_000,
      simulation: false,
      user: `user-${userIndex}`,
      team: `team-${userIndex % TEAMS}`,
      org: 'org-1',
      raw: {},
    };
    if (kind < 0.7) {
      const app = apps[Math.floor(random() * apps.length)] as string;
      yield {
        ...base,
        event: APP,
        app: {
          name: app,
          type: 'application',
          category: app === 'YouTube' ? 'Social Media' : 'Unknown Category',
          productivityStatus: statuses[Math.floor(random() * statuses.length)] as string,
        },
        time: { startDate: new Date(at).toISOString(), durationInSeconds: 20 + Math.floor(random() * 600) },
        trackingMode: random() < 0.02 ? 'offline' : 'online',
        operatingSystem: 'windows',
      };
    } else if (kind < 0.95) {
      yield {
        ...base,
        event: SHOT,
        screenshot: {
          id: `shot-${i}`,
          isIdle: random() < 0.2,
          image: { kind: 'bytes', mime: 'image/jpeg', size: 45_000 },
        },
        app: { name: 'Slack', productivityStatus: 'productive' },
        time: { capturedAt: new Date(at).toISOString() },
      };
    } else {
      yield { ...base, event: ACTIVITY, activity: { workMode: random() < 0.5 } };
    }
  }
}

/** makeBenchItems returns benchItems as an array. */
export function makeBenchItems(count: number, activeUsers = 200): Item[] {
  return [...benchItems(count, activeUsers)];
}

// One tick per simulated minute: the bench compresses days into seconds, so a tick per wall-clock second
// (as live) would be far rarer still.
const TICK_MS = 60_000;

/** BenchResult is one measurement. */
export interface BenchResult {
  /** Items per second of wall time. */
  itemsPerSecond: number;
  /** Items per second of CPU time (user + system of this process): steadier on a busy machine. */
  itemsPerCpuSecond: number;
  firings: number;
  elapsedMs: number;
  cpuMs: number;
  /** State keys at the end (windows, timers). */
  stateKeys: number;
}

/**
 * measureEvaluate evaluates `count` bench items with a fresh state and returns items per second of
 * evaluation time. Items are generated in batches of `batchSize` outside the timed part, and parsed from
 * JSON as the evaluator reads them from the log; the clock ticks once per simulated minute and ticks
 * are timed. The first `warmup` items are evaluated but not timed.
 * It reads the clock, which is fine here: it is a measurement helper, never part of the engine.
 * `itemsPerCpuSecond` counts only this process's CPU time, so it is the steadier figure on a shared
 * machine.
 */
export function measureEvaluate(
  ruleSet: CompiledRuleSet,
  options: { count?: number; warmup?: number; batchSize?: number; activeUsers?: number } = {},
): BenchResult {
  const count = options.count ?? 200_000;
  const warmup = options.warmup ?? 50_000;
  const batchSize = options.batchSize ?? 1_000;
  const state = createState();
  const source = benchItems(warmup + count, options.activeUsers);
  let firings = 0;
  let elapsedMs = 0;
  let cpuMs = 0;
  let seen = 0;
  let nextTick = BENCH_REFERENCE_TIME + TICK_MS;
  for (;;) {
    const batch: Item[] = [];
    while (batch.length < batchSize) {
      const next = source.next();
      if (next.done) break;
      // The evaluator gets each item from JSON.parse of its stored row, so items of one kind share a
      // hidden class; objects spread together here would each get their own (measured: ~11% of the
      // evaluation time went to the slow property lookups that causes, a cost production never pays).
      batch.push(JSON.parse(JSON.stringify(next.value)) as Item);
    }
    if (batch.length === 0) break;
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    let batchFirings = 0;
    for (const item of batch) {
      batchFirings += evaluateItem(ruleSet, state, item).firings.length;
      if (item.receivedAt >= nextTick) {
        batchFirings += tick(ruleSet, state, item.receivedAt).firings.length;
        nextTick += TICK_MS;
      }
    }
    // The evaluator collects the changed keys once per batch (one transaction).
    takeChanges(state);
    const batchMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuStarted);
    if (seen >= warmup) {
      elapsedMs += batchMs;
      cpuMs += (cpu.user + cpu.system) / 1000;
      firings += batchFirings;
    }
    seen += batch.length;
  }
  return {
    itemsPerSecond: Math.round(count / (elapsedMs / 1000)),
    itemsPerCpuSecond: Math.round(count / (cpuMs / 1000)),
    firings,
    elapsedMs: Math.round(elapsedMs),
    cpuMs: Math.round(cpuMs),
    stateKeys: stateSize(state),
  };
}
