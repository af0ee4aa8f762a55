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
 * IngestScenario is one row pair of the ingest table: the same requests, at the same load, sent to the
 * baseline and to hookrelay.
 */
export interface IngestScenario {
  kind: 'ingest';
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

/**
 * EvaluateScenario measures the rules engine in this process (issue 3 §4): no HTTP, no store. `--quick`
 * scales `count` and `warmup`.
 */
export interface EvaluateScenario {
  kind: 'evaluate';
  name: string;
  title: string;
  ruleCounts: number[];
  /** Timed items per measurement, after `warmup` untimed ones. */
  count: number;
  warmup: number;
  rounds: number;
  /** ≥ `itemsPerSecond` with `rules` rules; the most rules no more than `maxSlowdown` × slower than the fewest. */
  target: { rules: number; itemsPerSecond: number; maxSlowdown: number };
}

/** DeliverScenario runs benchDeliveries (bench/deliver.ts) for the file store (issue 4 §4). */
export interface DeliverScenario {
  kind: 'deliver';
  name: string;
  title: string;
  /** Notifications per throughput round. */
  deliveries: number;
  /** Throughput rounds; the figure is their median. */
  rounds: number;
  queued: number;
  downForMs: number;
  /** Deliveries/s to a local webhook sink, file store. */
  target: { deliveriesPerSecond: number };
}

/**
 * EndToEndScenario POSTs at a fixed rate into a real `hookrelay serve` whose rule sends every event to a
 * webhook sink in the bench process, and times POST → alert at the sink (issue 4 §4).
 */
export interface EndToEndScenario {
  kind: 'e2e';
  name: string;
  title: string;
  load: Extract<LoadSpec, { kind: 'rate' }>;
  target: { p99Ms: number };
}

/**
 * FloorScenario measures the SQLite insert alone per request (bench/sqlite-floor.ts): the least any ingest
 * pays on this machine, against which the ingest ratio target is judged (issue 2 §7).
 */
export interface FloorScenario {
  kind: 'floor';
  name: string;
  title: string;
  appends: number;
  appendsPerCommit: number;
}

/**
 * HaIngestScenario is ingest with several instances (issue 11 §6, bench/ha-ingest.ts): one process on a
 * SQLite file, then 1, 2 and 3 on one PostgreSQL database, the load spread over the instances.
 */
export interface HaIngestScenario {
  kind: 'ha-ingest';
  name: string;
  title: string;
  source: string;
  load: Extract<LoadSpec, { kind: 'max' }>;
  instanceCounts: number[];
  requests(context: ScenarioContext): RequestStream;
}

/** HaEndToEndScenario is bench/e2e.ts on a SQLite file and on PostgreSQL, one after the other (issue 11 §6). */
export interface HaEndToEndScenario {
  kind: 'ha-e2e';
  name: string;
  title: string;
  load: Extract<LoadSpec, { kind: 'rate' }>;
}

/** HaFailoverScenario is bench/failover.ts: the median of `rounds` kills of the leader, per signal. */
export interface HaFailoverScenario {
  kind: 'ha-failover';
  name: string;
  title: string;
  rounds: number;
  quickRounds: number;
}

export type HaScenario = HaIngestScenario | HaEndToEndScenario | HaFailoverScenario;

/** Scenario is anything `--only` can name. */
export type Scenario =
  | IngestScenario
  | FloorScenario
  | EvaluateScenario
  | DeliverScenario
  | EndToEndScenario
  | HaScenario;

/** BENCH_SOURCE is the source name in the bench rules file. */
export const BENCH_SOURCE = 'bench';

/**
 * SCENARIOS run in this order: the ingest ones (against the baseline and hookrelay, interleaved), then
 * evaluation, delivery and end-to-end latency, each alone on the machine, then the several-instance ones
 * (they need PostgreSQL, and are skipped with a note where it does not answer).
 */
export const SCENARIOS: Scenario[] = [
  {
    kind: 'ingest',
    name: 'activity-max',
    title: 'activity events (1 item), max throughput',
    source: BENCH_SOURCE,
    load: { kind: 'max', connections: 50, durationMs: 10_000 },
    requests: ({ secret }) => createRequestStream({ kind: 'activity', secret }),
    target: { kind: 'min-ratio', ratio: 0.5, label: 'req/s ≥ 50% of bare node:http' },
  },
  {
    kind: 'ingest',
    name: 'app-batch-max',
    title: 'app batches (12 items), max throughput',
    source: BENCH_SOURCE,
    load: { kind: 'max', connections: 50, durationMs: 10_000 },
    requests: ({ secret }) => createRequestStream({ kind: 'app', secret, items: 12 }),
    target: { kind: 'min-ratio', ratio: 0.5, label: 'req/s ≥ 50% of bare node:http' },
  },
  {
    kind: 'ingest',
    name: 'activity-2000rps',
    title: 'activity events at a fixed 2,000 req/s',
    source: BENCH_SOURCE,
    load: { kind: 'rate', rps: 2_000, connections: 50, durationMs: 10_000 },
    requests: ({ secret }) => createRequestStream({ kind: 'activity', secret }),
    target: { kind: 'max-p99', ms: 20, label: 'p99 < 20 ms at 2,000 req/s' },
  },
  {
    kind: 'floor',
    name: 'sqlite-floor',
    title: 'the SQLite insert alone per request (real schema and rows, synchronous=FULL)',
    appends: 20_000,
    // About what one commit carries at full load over 50 connections (hookrelay_store_* in /metrics).
    appendsPerCommit: 20,
  },
  {
    kind: 'evaluate',
    name: 'evaluate',
    title: 'rules engine, items/s on one core (in-process)',
    ruleCounts: [10, 100, 1_000, 10_000],
    count: 100_000,
    warmup: 20_000,
    // Two rounds (10 → 10,000, then back) are enough to see the spread and take about 20 s.
    rounds: 2,
    target: { rules: 100, itemsPerSecond: 100_000, maxSlowdown: 3 },
  },
  {
    kind: 'deliver',
    name: 'deliver',
    title: 'deliveries/s to a local webhook sink (file store), memory with a destination down',
    // benchDeliveries' own defaults, written out so latest.json says what was run.
    deliveries: 10_000,
    rounds: 5,
    queued: 100_000,
    downForMs: 5_000,
    target: { deliveriesPerSecond: 5_000 },
  },
  {
    kind: 'e2e',
    name: 'e2e-latency',
    title: 'POST → alert at a webhook sink, activity events at a fixed 500 events/s',
    load: { kind: 'rate', rps: 500, connections: 50, durationMs: 10_000 },
    target: { p99Ms: 50 },
  },
  {
    kind: 'ha-ingest',
    name: 'ha-ingest',
    title: 'activity events (1 item), max throughput: 1 process on SQLite, 1/2/3 instances on PostgreSQL',
    source: BENCH_SOURCE,
    // The activity-max scenario's load: the same total connections, shared out over the instances.
    load: { kind: 'max', connections: 50, durationMs: 10_000 },
    instanceCounts: [1, 2, 3],
    requests: ({ secret }) => createRequestStream({ kind: 'activity', secret }),
  },
  {
    kind: 'ha-e2e',
    name: 'ha-e2e',
    title:
      'POST → alert at a webhook sink, SQLite file and PostgreSQL, activity events at a fixed 500 events/s',
    // e2e-latency's load, so the SQLite row is comparable with that scenario's.
    load: { kind: 'rate', rps: 500, connections: 50, durationMs: 10_000 },
  },
  {
    kind: 'ha-failover',
    name: 'ha-failover',
    title: 'evaluator failover on PostgreSQL: the leader killed (kill -9) or stopped (SIGTERM)',
    rounds: 5,
    quickRounds: 2,
  },
];
