import { createRequestStream, type RequestStream } from './bodies.js';
import type { LoadSpec } from './load.js';

/** ScenarioContext is what a scenario may use to build its requests. */
export interface ScenarioContext {
  /** Signing secret of the bench source. */
  secret: string;
}

/**
 * Target is the figure issue 2 §7 asks the README to state, checked after the run. Missing a target
 * is reported, never an error: the bench measures, it does not gate.
 */
export type Target =
  | { kind: 'min-ratio'; ratio: number; label: string }
  | { kind: 'max-p99'; ms: number; label: string };

/**
 * Scenario is one row pair of the report: the same requests, at the same load, sent to the baseline
 * and to hookrelay. Later scenarios (rule evaluation, delivery) are new entries in SCENARIOS; a
 * scenario that needs different rules will add a field here and run.ts will start a server for it.
 */
export interface Scenario {
  /** Stable key in results JSON and for `--only`. */
  name: string;
  title: string;
  /** The `:source` of POST /webhooks/:source. */
  source: string;
  load: LoadSpec;
  /** A fresh stream per run, made just before it, so signed timestamps are current. */
  requests(context: ScenarioContext): RequestStream;
  target?: Target;
}

/** BENCH_SOURCE is the source name in the bench rules file. */
export const BENCH_SOURCE = 'bench';

/** SCENARIOS run in this order; each against the baseline first, then hookrelay. */
export const SCENARIOS: Scenario[] = [
  {
    name: 'activity-max',
    title: 'activity events (1 item), max throughput',
    source: BENCH_SOURCE,
    load: { kind: 'max', connections: 50, durationMs: 10_000 },
    requests: ({ secret }) => createRequestStream({ kind: 'activity', secret }),
    target: { kind: 'min-ratio', ratio: 0.5, label: 'req/s ≥ 50% of bare node:http' },
  },
  {
    name: 'app-batch-max',
    title: 'app batches (12 items), max throughput',
    source: BENCH_SOURCE,
    load: { kind: 'max', connections: 50, durationMs: 10_000 },
    requests: ({ secret }) => createRequestStream({ kind: 'app', secret, items: 12 }),
    target: { kind: 'min-ratio', ratio: 0.5, label: 'req/s ≥ 50% of bare node:http' },
  },
  {
    name: 'activity-2000rps',
    title: 'activity events at a fixed 2,000 req/s',
    source: BENCH_SOURCE,
    load: { kind: 'rate', rps: 2_000, connections: 50, durationMs: 10_000 },
    requests: ({ secret }) => createRequestStream({ kind: 'activity', secret }),
    target: { kind: 'max-p99', ms: 20, label: 'p99 < 20 ms at 2,000 req/s' },
  },
];
