import { type EndToEndRecord, runEndToEnd } from './e2e.js';
import { type FailoverRow, runFailover } from './failover.js';
import { type HaIngestRecord, measureHaIngest } from './ha-ingest.js';
import { createBenchDatabase, pgUnavailable, withoutPassword } from './pg-database.js';
import type { PhaseRecord } from './report.js';
import type { HaEndToEndScenario, HaFailoverScenario, HaIngestScenario, HaScenario } from './scenarios.js';
import type { ServerHandle } from './servers.js';

/*
 * The several-instance measurements of `npm run bench` (issue 11 §6): ingest req/s with 1, 2 and 3
 * instances on PostgreSQL beside one process on SQLite (bench/ha-ingest.ts), POST → alert on PostgreSQL
 * beside SQLite (bench/e2e.ts), and evaluator failover (bench/failover.ts). They need a PostgreSQL server
 * (HOOKRELAY_BENCH_PG, by default the local one); without one they are skipped with a note, never failed.
 */

/** HOST_NOTE is what the several-instance figures can and cannot say on this kind of host. */
export const HOST_NOTE =
  'every instance, PostgreSQL and the load generator share this machine’s CPUs: more instances add no CPU here, so the figures show what sharing one database costs, not horizontal scaling.';

type Machine = PhaseRecord['machineAtEnd'];

export interface HaIngestPhase extends HaIngestRecord {
  name: string;
  title: string;
  machineAtEnd: Machine;
}

export interface HaEndToEndPhase {
  name: string;
  title: string;
  sqlite: EndToEndRecord;
  postgres: EndToEndRecord;
  /** PostgreSQL alerts/s ÷ SQLite alerts/s, and the same for the alert p99. */
  alertsPerSecondRatio: number;
  p99Ratio: number;
  machineAtEnd: Machine;
}

export interface HaFailoverPhase {
  name: string;
  title: string;
  rounds: number;
  /** `node dist/bench/failover.js N`'s measurement, for the record. */
  command: string;
  rows: FailoverRow[];
  machineAtEnd: Machine;
}

/** HaRecord is the `ha` part of latest.json. */
export interface HaRecord {
  /** Where the databases were made (no password). */
  postgres: string;
  hostNote: string;
  /** Why nothing was measured (PostgreSQL did not answer). */
  skipped?: string;
  ingest?: HaIngestPhase;
  endToEnd?: HaEndToEndPhase;
  failover?: HaFailoverPhase;
}

export interface HaContext {
  mainJs: string;
  workDir: string;
  secret: string;
  /** The ingest scenario's rules (one source, no rules). */
  rulesYaml: string;
  quick: boolean;
  /** How much shorter --quick runs are (run.ts's QUICK_SCALE). */
  quickScale: number;
  warmupMs: number;
  readyTimeoutMs: number;
  /** Interleaved rounds of the ingest measurement. */
  rounds: number;
  pgAdminUrl: string;
  /** dist/bench/lease-holder.js; beside bench/failover.js by default. */
  holderJs?: string;
  log: (line: string) => void;
  onServer: (server: ServerHandle) => void;
  /** How busy the machine was as a phase ended. */
  phaseEnd: () => Machine;
}

export async function runHa(scenarios: HaScenario[], context: HaContext): Promise<HaRecord> {
  const record: HaRecord = { postgres: withoutPassword(context.pgAdminUrl), hostNote: HOST_NOTE };
  const unavailable = await pgUnavailable(context.pgAdminUrl);
  if (unavailable !== undefined) {
    record.skipped = `no PostgreSQL at ${record.postgres} (${unavailable}); set HOOKRELAY_BENCH_PG to a server where this user may create databases`;
    context.log(`ha: skipped: ${record.skipped}`);
    return record;
  }
  for (const scenario of scenarios) {
    if (scenario.kind === 'ha-ingest') record.ingest = await ingest(scenario, context);
    else if (scenario.kind === 'ha-e2e') record.endToEnd = await endToEnd(scenario, context);
    else record.failover = await failover(scenario, context);
  }
  return record;
}

async function ingest(scenario: HaIngestScenario, context: HaContext): Promise<HaIngestPhase> {
  const scale = context.quick ? context.quickScale : 1;
  context.log(`${scenario.name}: ${scenario.title}`);
  const measured = await measureHaIngest({
    mainJs: context.mainJs,
    workDir: context.workDir,
    rulesYaml: context.rulesYaml,
    source: scenario.source,
    load: { ...scenario.load, durationMs: Math.round(scenario.load.durationMs * scale) },
    requests: () => scenario.requests({ secret: context.secret }),
    instanceCounts: scenario.instanceCounts,
    rounds: context.rounds,
    warmupMs: Math.round(context.warmupMs * scale),
    readyTimeoutMs: context.readyTimeoutMs,
    pgAdminUrl: context.pgAdminUrl,
    log: context.log,
    onServer: context.onServer,
  });
  return { ...measured, name: scenario.name, title: scenario.title, machineAtEnd: context.phaseEnd() };
}

async function endToEnd(scenario: HaEndToEndScenario, context: HaContext): Promise<HaEndToEndPhase> {
  const scale = context.quick ? context.quickScale : 1;
  const load = {
    ...scenario.load,
    durationMs: Math.max(2_000, Math.round(scenario.load.durationMs * scale)),
  };
  const common = {
    mainJs: context.mainJs,
    workDir: context.workDir,
    secret: context.secret,
    load,
    warmupMs: Math.round(context.warmupMs * scale),
    readyTimeoutMs: context.readyTimeoutMs,
    log: context.log,
    onServer: context.onServer,
  };
  const report = (engine: string, r: EndToEndRecord) =>
    context.log(
      `${scenario.name} · ${engine}: ${r.alertsPerSecond} alerts/s, alert p99 ${r.alertLatency.p99.toFixed(2)} ms; ${r.received} of ${r.sent} alerts`,
    );
  const sqlite = await runEndToEnd({ ...common, label: 'ha-e2e-sqlite' });
  report('SQLite', sqlite);
  const database = await createBenchDatabase(context.pgAdminUrl);
  let postgres: EndToEndRecord;
  try {
    postgres = await runEndToEnd({ ...common, label: 'ha-e2e-postgres', database: database.url });
  } finally {
    await database.drop();
  }
  report('PostgreSQL', postgres);
  return {
    name: scenario.name,
    title: scenario.title,
    sqlite,
    postgres,
    alertsPerSecondRatio: ratio(postgres.alertsPerSecond, sqlite.alertsPerSecond),
    p99Ratio: ratio(postgres.alertLatency.p99, sqlite.alertLatency.p99),
    machineAtEnd: context.phaseEnd(),
  };
}

async function failover(scenario: HaFailoverScenario, context: HaContext): Promise<HaFailoverPhase> {
  const rounds = context.quick ? scenario.quickRounds : scenario.rounds;
  const database = await createBenchDatabase(context.pgAdminUrl);
  try {
    const rows = await runFailover({
      url: database.url,
      rounds,
      log: context.log,
      ...(context.holderJs === undefined ? {} : { holderJs: context.holderJs }),
    });
    return {
      name: scenario.name,
      title: scenario.title,
      rounds,
      command: `node dist/bench/failover.js ${rounds}`,
      rows,
      machineAtEnd: context.phaseEnd(),
    };
  } finally {
    await database.drop();
  }
}

/** haFailures are the several-instance runs' unanswered requests and missing alerts. */
export function haFailures(ha: HaRecord | undefined): string[] {
  const failures: string[] = [];
  for (const row of ha?.ingest?.rows ?? []) {
    const run = row.run;
    if (run.non2xx + run.errors + run.warmupFailures > 0) {
      failures.push(
        `ha-ingest ${row.label}: ${run.non2xx} non-2xx, ${run.errors} errors, ${run.warmupFailures} in the warm-up${run.firstFailure ? `; first: ${run.firstFailure}` : ''}`,
      );
    }
  }
  const e2e = ha?.endToEnd;
  for (const [engine, r] of e2e
    ? ([
        ['SQLite', e2e.sqlite],
        ['PostgreSQL', e2e.postgres],
      ] as const)
    : []) {
    if (r.post.non2xx + r.post.errors > 0)
      failures.push(`ha-e2e ${engine}: ${r.post.non2xx} non-2xx, ${r.post.errors} errors`);
    if (r.missing + r.warmupMissing > 0)
      failures.push(
        `ha-e2e ${engine}: ${r.missing} of ${r.sent} alerts missing (${r.warmupMissing} more in the warm-up)`,
      );
  }
  return failures;
}

function ratio(a: number, b: number): number {
  return b > 0 ? Math.round((a / b) * 100) / 100 : 0;
}
