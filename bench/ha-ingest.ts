import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { RequestStream } from './bodies.js';
import { LatencyRecorder } from './latency.js';
import { type LoadRun, type LoadSpec, runLoad, summarise } from './load.js';
import { type BenchDatabase, createBenchDatabase } from './pg-database.js';
import { cpuSecondsOf } from './proc.js';
import type { RunRecord } from './report.js';
import {
  assertAlive,
  freePort,
  type ProcessSample,
  type ServerHandle,
  serveEnv,
  startServer,
} from './servers.js';

/*
 * Ingest with several instances (issue 11 §6): the same signed requests and load spec as the ingest
 * scenario, sent to one `hookrelay serve` on a fresh SQLite file, and to 1, 2 and 3 `hookrelay serve`
 * sharing one fresh PostgreSQL database per count. The generator spreads the connections evenly over the
 * instances of a configuration and drives them at once from one request stream (so every body is distinct
 * across instances). Every configuration is started before the first round and the rounds interleave
 * them (forward, then backward), so other work on a shared host lands on all of them. Each figure is
 * also given as a ratio to the single SQLite process of the same run: absolute req/s do not carry from
 * one host, or one hour, to another.
 */

export interface HaIngestOptions {
  /** dist/src/main.js */
  mainJs: string;
  /** Where the rules file and the SQLite database go (the caller removes it). */
  workDir: string;
  /** The rules file the instances run (one source, no rules: ingest alone). */
  rulesYaml: string;
  /** The `:source` of POST /webhooks/:source. */
  source: string;
  load: Extract<LoadSpec, { kind: 'max' }>;
  /** A fresh request stream per slice, made just before it (signed timestamps stay current). */
  requests: () => RequestStream;
  /** PostgreSQL instance counts, e.g. [1, 2, 3]. */
  instanceCounts: number[];
  /** Measured slices per configuration, each load.durationMs / rounds long. */
  rounds: number;
  warmupMs: number;
  readyTimeoutMs: number;
  /** Where the PostgreSQL databases are created. */
  pgAdminUrl: string;
  log: (line: string) => void;
  onServer: (server: ServerHandle) => void;
}

/** HaIngestRow is one configuration: its pooled run over all rounds and how it compares. */
export interface HaIngestRow {
  label: string;
  engine: 'sqlite' | 'postgres';
  instances: number;
  /** Connections each instance got (their sum is load.connections). */
  connections: number[];
  run: RunRecord;
  /** 2xx answers per second in each round. */
  roundRps: number[];
  /** 2xx answers per instance over all rounds: the spread shows the load was shared. */
  okPerInstance: number[];
  /**
   * CPU of the other configurations' instances (started, not loaded) while this one was loaded, percent
   * of one core: what they took beside it (their timers, and any evaluation the settling left over).
   */
  othersCpuPercent?: number;
  /** How long, in all, the rounds waited for every instance to settle before this configuration's slices. */
  settleMs: number;
  /**
   * CPU of the PostgreSQL backends serving this configuration's database (from /proc, where the server
   * runs on this machine), percent of one core and µs per answered request: the database's share of the
   * work, which the hookrelay figures leave out.
   */
  postgresCpuPercent?: number;
  postgresCpuUsPerRequest?: number;
  /** req/s ÷ the single SQLite process's, over all rounds and per round. */
  ratioToSqlite: number;
  roundRatios: number[];
}

export interface HaIngestRecord {
  load: Extract<LoadSpec, { kind: 'max' }>;
  rounds: number;
  command: string;
  rows: HaIngestRow[];
}

interface Configuration {
  label: string;
  engine: 'sqlite' | 'postgres';
  servers: ServerHandle[];
  /** The PostgreSQL database's name, for its backends' CPU. */
  database?: string;
  runs: LoadRun[];
  okPerInstance: number[];
  warmupFailures: number;
  cpu: { seconds: number; wall: number; othersSeconds: number; postgresSeconds?: number };
  settleMs: number;
}

const PAUSE_BETWEEN_RUNS_MS = 300;
/**
 * After a slice, the loaded instances go on working for a while: the evaluator (on the leader) reads back
 * what ingest just stored. The next slice waits until every instance together uses under SETTLED_CPU of a
 * core, at most SETTLE_MAX_MS, so one configuration's backlog does not land on the next one's figure.
 */
const SETTLED_CPU = 0.15;
const SETTLE_SAMPLE_MS = 250;
const SETTLE_MAX_MS = 15_000;

/** splitConnections shares `total` connections over `parts` instances, the first ones getting any extra. */
export function splitConnections(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

export async function measureHaIngest(options: HaIngestOptions): Promise<HaIngestRecord> {
  const rulesFile = join(options.workDir, 'ha-rules.yaml');
  await writeFile(rulesFile, options.rulesYaml);
  const databases: BenchDatabase[] = [];
  const configurations: Configuration[] = [];
  const start = async (database: string, name: string): Promise<ServerHandle> => {
    const port = await freePort();
    const server = await startServer({
      name,
      args: [options.mainJs, 'serve'],
      port,
      env: serveEnv(port, rulesFile, database),
      readyPath: '/readyz',
      readyTimeoutMs: options.readyTimeoutMs,
    });
    options.onServer(server);
    return server;
  };
  const configuration = (
    label: string,
    engine: Configuration['engine'],
    servers: ServerHandle[],
    database?: string,
  ) => {
    configurations.push({
      label,
      engine,
      servers,
      ...(database === undefined ? {} : { database }),
      runs: [],
      okPerInstance: servers.map(() => 0),
      warmupFailures: 0,
      cpu: { seconds: 0, wall: 0, othersSeconds: 0 },
      settleMs: 0,
    });
  };
  // Reads which backends serve each database, to charge their CPU to its configuration.
  const admin = new pg.Client({ connectionString: options.pgAdminUrl });
  await admin.connect();
  try {
    configuration('SQLite file, 1 process', 'sqlite', [
      await start(`sqlite:${join(options.workDir, 'ha-ingest.db')}`, 'hookrelay serve (SQLite)'),
    ]);
    for (const count of options.instanceCounts) {
      const database = await createBenchDatabase(options.pgAdminUrl);
      databases.push(database);
      const servers: ServerHandle[] = [];
      // One after the other: the first applies the migrations to the empty database before the next starts.
      for (let i = 0; i < count; i++) {
        servers.push(await start(database.url, `hookrelay serve (PostgreSQL ${i + 1} of ${count})`));
      }
      configuration(
        `PostgreSQL, ${count} instance${count === 1 ? '' : 's'}`,
        'postgres',
        servers,
        database.name,
      );
    }
    for (const c of configurations) {
      options.log(`ha-ingest: ${c.label}: pid ${c.servers.map((s) => s.pid).join(', ')}`);
    }

    for (const c of configurations) {
      const warm = await spread(c, { ...options.load, durationMs: Math.max(300, options.warmupMs) }, options);
      c.warmupFailures = summarise([warm.run]).non2xx + warm.run.errors;
      await sleep(PAUSE_BETWEEN_RUNS_MS);
    }
    const slice = {
      ...options.load,
      durationMs: Math.max(300, Math.round(options.load.durationMs / options.rounds)),
    };
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? configurations : [...configurations].reverse();
      for (const c of order) {
        c.settleMs += await settle(configurations.flatMap((o) => o.servers));
        const others = configurations.filter((o) => o !== c).flatMap((o) => o.servers);
        const before = c.servers.map((s) => s.sample());
        const othersBefore = others.map((s) => s.sample());
        const backendsBefore = await backendCpu(admin, c.database);
        const wallBefore = performance.now();
        const measured = await spread(c, slice, options);
        const wall = (performance.now() - wallBefore) / 1000;
        const after = c.servers.map((s) => s.sample());
        const backendsAfter = await backendCpu(admin, c.database);
        if (backendsBefore && backendsAfter) {
          let seconds = 0;
          // A backend that started during the slice counts whole (its start is part of the work).
          for (const [pid, used] of backendsAfter) seconds += used - (backendsBefore.get(pid) ?? 0);
          c.cpu.postgresSeconds = (c.cpu.postgresSeconds ?? 0) + seconds;
        }
        c.cpu.othersSeconds += cpuDelta(
          othersBefore,
          others.map((s) => s.sample()),
        );
        c.runs.push(measured.run);
        measured.okPerInstance.forEach((ok, i) => {
          c.okPerInstance[i] = (c.okPerInstance[i] ?? 0) + ok;
        });
        c.cpu.seconds += cpuDelta(before, after);
        c.cpu.wall += wall;
        const rps = Math.round(measured.run.ok2xx / measured.run.durationSec);
        options.log(`ha-ingest round ${round + 1}: ${c.label} ${rps.toLocaleString('en-US')} req/s`);
        await sleep(PAUSE_BETWEEN_RUNS_MS);
      }
    }
    return {
      load: options.load,
      rounds: options.rounds,
      command:
        'node dist/src/main.js serve (LOG_LEVEL=warn; HOOKRELAY_DB=sqlite:<tmp>/ha-ingest.db, or postgres://…/hr_bench_<random>, one fresh database per instance count)',
      rows: rows(configurations, options.load.connections),
    };
  } finally {
    await admin.end().catch(() => undefined);
    await Promise.all(configurations.flatMap((c) => c.servers.map((s) => s.stop())));
    for (const database of databases) await database.drop();
  }
}

/**
 * spread drives every instance of a configuration at once, each with its share of the connections and
 * all from one request stream, and pools what they answered into one run of the configuration.
 */
async function spread(
  c: Configuration,
  spec: Extract<LoadSpec, { kind: 'max' }>,
  options: HaIngestOptions,
): Promise<{ run: LoadRun; okPerInstance: number[] }> {
  const stream = options.requests();
  const connections = splitConnections(spec.connections, c.servers.length);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const runs = await Promise.all(
    c.servers.map((server, i) =>
      runLoad(
        new URL(`/webhooks/${options.source}`, server.origin),
        { ...spec, connections: connections[i] ?? 1 },
        stream,
      ),
    ),
  );
  const cpu = process.cpuUsage(cpuBefore);
  for (const server of c.servers) assertAlive(server);
  const latencies = new LatencyRecorder();
  const statusCounts: Record<string, number> = {};
  let firstFailure: string | undefined;
  for (const run of runs) {
    latencies.addAll(run.latencies);
    for (const [status, count] of Object.entries(run.statusCounts)) {
      statusCounts[status] = (statusCounts[status] ?? 0) + count;
    }
    firstFailure ??= run.firstFailure;
  }
  // The instances ran side by side: their answers add up over the same wall time, not after each other.
  const run: LoadRun = {
    ok2xx: runs.reduce((sum, r) => sum + r.ok2xx, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    statusCounts,
    ...(firstFailure === undefined ? {} : { firstFailure }),
    durationSec: Math.max(...runs.map((r) => r.durationSec)),
    latencies,
    // Each runLoad measured this whole process over the same span, so their sum would count it N times.
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds: (performance.now() - wallBefore) / 1000,
  };
  return { run, okPerInstance: runs.map((r) => r.ok2xx) };
}

/**
 * backendCpu reads the CPU-seconds so far of each PostgreSQL backend connected to `database`, by pid;
 * undefined for no database, or where the backends are not processes of this machine.
 */
async function backendCpu(
  admin: pg.Client,
  database: string | undefined,
): Promise<Map<number, number> | undefined> {
  if (database === undefined) return undefined;
  const result = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
    database,
  ]);
  const cpu = new Map<number, number>();
  for (const { pid } of result.rows) {
    const seconds = cpuSecondsOf(`/proc/${pid}/stat`);
    if (Number.isFinite(seconds)) cpu.set(pid, seconds);
  }
  return result.rows.length > 0 && cpu.size === 0 ? undefined : cpu;
}

/** settle waits until `servers` together use under SETTLED_CPU of a core (or SETTLE_MAX_MS), and says how long it took. */
async function settle(servers: ServerHandle[]): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < SETTLE_MAX_MS) {
    const before = servers.map((s) => s.sample());
    await sleep(SETTLE_SAMPLE_MS);
    const used = cpuDelta(
      before,
      servers.map((s) => s.sample()),
    );
    if (used / (SETTLE_SAMPLE_MS / 1000) < SETTLED_CPU) break;
  }
  return performance.now() - started;
}

/** cpuDelta is the CPU-seconds a set of processes used between two samples of each. */
function cpuDelta(before: (ProcessSample | undefined)[], after: (ProcessSample | undefined)[]): number {
  let seconds = 0;
  for (let i = 0; i < before.length; i++) {
    const b = before[i];
    const a = after[i];
    if (b && a) seconds += a.cpuSeconds - b.cpuSeconds;
  }
  return seconds;
}

function rows(configurations: Configuration[], connections: number): HaIngestRow[] {
  const roundRps = (c: Configuration) => c.runs.map((r) => (r.durationSec > 0 ? r.ok2xx / r.durationSec : 0));
  const sqlite = configurations.find((c) => c.engine === 'sqlite');
  const sqliteRounds = sqlite ? roundRps(sqlite) : [];
  const sqliteRps = sqlite ? summarise(sqlite.runs).rps : 0;
  return configurations.map((c) => {
    const run: RunRecord = { ...summarise(c.runs), warmupFailures: c.warmupFailures };
    if (c.cpu.wall > 0) run.serverCpuPercent = Math.round((c.cpu.seconds / c.cpu.wall) * 100);
    if (run.responses > 0) run.serverCpuUsPerRequest = Math.round((c.cpu.seconds * 1e6) / run.responses);
    const rounds = roundRps(c);
    const others =
      c.cpu.wall > 0 ? { othersCpuPercent: Math.round((c.cpu.othersSeconds / c.cpu.wall) * 100) } : {};
    const pgSeconds = c.cpu.postgresSeconds;
    const postgres =
      pgSeconds === undefined || c.cpu.wall === 0 || run.responses === 0
        ? {}
        : {
            postgresCpuPercent: Math.round((pgSeconds / c.cpu.wall) * 100),
            postgresCpuUsPerRequest: Math.round((pgSeconds * 1e6) / run.responses),
          };
    return {
      label: c.label,
      engine: c.engine,
      instances: c.servers.length,
      connections: splitConnections(connections, c.servers.length),
      run,
      roundRps: rounds.map(Math.round),
      okPerInstance: c.okPerInstance,
      ...others,
      ...postgres,
      settleMs: Math.round(c.settleMs),
      ratioToSqlite: sqliteRps > 0 ? round2(run.rps / sqliteRps) : 0,
      roundRatios: rounds.map((rps, i) => round2(rps / Math.max(1, sqliteRounds[i] ?? 0))),
    };
  });
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
