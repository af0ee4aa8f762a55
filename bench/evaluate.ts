/**
 * Evaluation throughput (issue 3 §4): items/s through the rules engine with 10 to 10,000 rules, in this
 * process, on its main thread: no HTTP, no store. The rule sets, items and timing loop are the engine's
 * own bench helpers (src/rules/testdata/bench-rules.ts); this file only schedules them and adds a bare
 * loop over the same items as the floor a rule set cannot go under.
 */
import { performance } from 'node:perf_hooks';
import type { Item } from '../src/domain/item.js';
import {
  type BenchResult,
  benchItems,
  makeBenchRuleSet,
  measureEvaluate,
} from '../src/rules/testdata/bench-rules.js';

/** EvaluationOptions size the measurement. */
export interface EvaluationOptions {
  ruleCounts: readonly number[];
  /** Timed items per measurement (after `warmup` untimed ones). */
  count: number;
  warmup: number;
  /**
   * Measurements per rule count, in order 10 → 10,000, then 10,000 → 10, …: the JIT state and other
   * work on a shared machine then fall on every rule count alike instead of on whichever runs first.
   */
  rounds: number;
  log?: (line: string) => void;
}

/** EvaluationRow is one rule count, pooled over the rounds. */
export interface EvaluationRow {
  rules: number;
  /** Items per second of evaluation wall time (main thread). */
  itemsPerSecond: number;
  /**
   * Items per second of this process's CPU time (all threads, so GC helpers count): what one core
   * sustains, and steadier than wall time when other work shares the machine.
   */
  itemsPerCpuSecond: number;
  /** Items/s of each round, to show the spread. */
  roundItemsPerSecond: number[];
  roundItemsPerCpuSecond: number[];
  /** Alerts the timed items produced in one round, and rule-state keys at its end (a sanity check). */
  firings: number;
  stateKeys: number;
  /** Time to compile the rule set once (what a config load costs). */
  compileMs: number;
}

/** EvaluationResult is the evaluation part of latest.json. */
export interface EvaluationResult {
  itemsPerMeasurement: number;
  warmupItems: number;
  rounds: number;
  rows: EvaluationRow[];
  /** A loop that only reads the fields of the same items (no rules): the ceiling, for context. */
  bareLoopItemsPerSecond: number;
  /**
   * How many times slower the most rules are than the fewest (target ≤ 3), from items per CPU-second (the
   * one-core figure) pooled and per round, and from wall-time items/s pooled.
   */
  slowdown?: { fromRules: number; toRules: number; pooled: number; perRound: number[]; pooledWall: number };
}

/** measureEvaluation compiles each rule set once and measures it `rounds` times, interleaved. */
export function measureEvaluation(options: EvaluationOptions): EvaluationResult {
  const log = options.log ?? (() => undefined);
  const sets = options.ruleCounts.map((rules) => {
    const started = performance.now();
    const ruleSet = makeBenchRuleSet(rules);
    return { rules, ruleSet, compileMs: Math.round(performance.now() - started) };
  });
  const results = new Map<number, BenchResult[]>(sets.map((s) => [s.rules, []]));

  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? sets : [...sets].reverse();
    for (const { rules, ruleSet } of order) {
      const result = measureEvaluate(ruleSet, { count: options.count, warmup: options.warmup });
      results.get(rules)?.push(result);
      log(
        `evaluate: ${rules} rules, round ${round + 1}: ${result.itemsPerSecond.toLocaleString('en-US')} items/s`,
      );
    }
  }

  const rows = sets.map(({ rules, compileMs }): EvaluationRow => {
    const runs = results.get(rules) ?? [];
    const elapsedMs = runs.reduce((sum, r) => sum + r.elapsedMs, 0);
    const cpuMs = runs.reduce((sum, r) => sum + r.cpuMs, 0);
    const items = options.count * runs.length;
    const last = runs[runs.length - 1];
    return {
      rules,
      itemsPerSecond: elapsedMs > 0 ? Math.round(items / (elapsedMs / 1000)) : 0,
      itemsPerCpuSecond: cpuMs > 0 ? Math.round(items / (cpuMs / 1000)) : 0,
      roundItemsPerSecond: runs.map((r) => r.itemsPerSecond),
      roundItemsPerCpuSecond: runs.map((r) => r.itemsPerCpuSecond),
      firings: last?.firings ?? 0,
      stateKeys: last?.stateKeys ?? 0,
      compileMs,
    };
  });

  const result: EvaluationResult = {
    itemsPerMeasurement: options.count,
    warmupItems: options.warmup,
    rounds: options.rounds,
    rows,
    bareLoopItemsPerSecond: measureBareLoop(options.count, options.warmup),
  };
  const fewest = rows[0];
  const most = rows[rows.length - 1];
  if (fewest && most && rows.length > 1 && most.itemsPerCpuSecond > 0 && most.itemsPerSecond > 0) {
    const mostPerRound = most.roundItemsPerCpuSecond;
    result.slowdown = {
      fromRules: fewest.rules,
      toRules: most.rules,
      pooled: round2(fewest.itemsPerCpuSecond / most.itemsPerCpuSecond),
      perRound: fewest.roundItemsPerCpuSecond.map((r, i) => round2(r / (mostPerRound[i] ?? Number.NaN))),
      pooledWall: round2(fewest.itemsPerSecond / most.itemsPerSecond),
    };
  }
  return result;
}

/**
 * measureBareLoop times a loop that reads the fields a rule index and conditions would read (event,
 * user, team, times, a nested field) from the same items, generated and batched as measureEvaluate
 * does: the most an evaluator could reach if rules cost nothing.
 */
function measureBareLoop(count: number, warmup: number): number {
  const batchSize = 1_000;
  const source = benchItems(warmup + count);
  let seen = 0;
  let elapsedMs = 0;
  // Folded into a value that is used afterwards, so the JIT cannot drop the reads.
  let checksum = 0;
  for (;;) {
    const batch: Item[] = [];
    while (batch.length < batchSize) {
      const next = source.next();
      if (next.done) break;
      batch.push(next.value);
    }
    if (batch.length === 0) break;
    const started = performance.now();
    for (const item of batch) {
      checksum +=
        item.event.length +
        (item.user?.length ?? 0) +
        (item.team?.length ?? 0) +
        (item.at - item.receivedAt) +
        (item.app?.productivityStatus?.length ?? 0) +
        (item.screenshot?.isIdle ? 1 : 0);
    }
    if (seen >= warmup) elapsedMs += performance.now() - started;
    seen += batch.length;
  }
  if (checksum === Number.MIN_SAFE_INTEGER) process.stderr.write('unreachable\n');
  return elapsedMs > 0 ? Math.round(count / (elapsedMs / 1000)) : 0;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
