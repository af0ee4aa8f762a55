import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DeliveryRecord, runDeliveryBench } from './delivery.js';
import { type EndToEndRecord, runEndToEnd } from './e2e.js';
import { type EvaluationResult, measureEvaluation } from './evaluate.js';
import { type HaRecord, haFailures, runHa } from './ha.js';
import { type LoadRun, type LoadSpec, runLoad, summarise } from './load.js';
import { formatPeers, runPeers } from './peers/index.js';
import { PG_ADMIN_URL } from './pg-database.js';
import {
  type BenchResults,
  formatReport,
  type PhaseRecord,
  type RunRecord,
  type ScenarioRecord,
} from './report.js';
import {
  type DeliverScenario,
  type EndToEndScenario,
  type EvaluateScenario,
  type HaScenario,
  type IngestScenario,
  SCENARIOS,
  type Scenario,
} from './scenarios.js';
import { assertAlive, freePort, type ServerHandle, serveEnv, startServer } from './servers.js';
import { measureSqliteFloor, type SqliteFloorRow } from './sqlite-floor.js';

/*
 * `npm run bench`, in this order:
 *   1. ingest throughput and latency of hookrelay against a bare node:http server, both started here as
 *      child processes on 127.0.0.1 and loaded by the same generator in the same run, so the ratio holds
 *      on any machine even though the absolute figures do not (issue 2 §7);
 *   2. rules-engine items/s with 10 to 10,000 rules, in this process (issue 3 §4);
 *   3. deliveries/s and memory with a destination down, by benchDeliveries in a child (issue 4 §4);
 *   4. POST → alert latency through a real `hookrelay serve` to a webhook sink here (issue 4 §4);
 *   5. several instances on PostgreSQL beside one on SQLite: ingest, end to end, failover (issue 11 §6).
 * Each of 2–5 runs with nothing else of the bench running. Every run is bounded in time. Exit status: 0
 * when the harness worked, every answer was 2xx and every alert arrived; 1 otherwise. A missed
 * performance target is reported, never an exit status.
 */

const SECRET = 'bench-secret';
const READY_TIMEOUT_MS = 30_000;
const WARMUP_MS = 2_000;
const QUICK_SCALE = 0.2;
const PAUSE_BETWEEN_RUNS_MS = 300;
/** Measured slices per server and scenario, interleaved ABBA; each is durationMs / ROUNDS long. */
const ROUNDS = 4;

// dist/bench/run.js → dist/src/main.js, and the repository root two levels up.
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const MAIN_JS = resolve(HERE, '../src/main.js');
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'latest.json');
const PEERS_RESULTS_FILE = join(ROOT, 'bench', 'results', 'peers.json');

const PROFILE_DIR = join(ROOT, 'bench', 'results', 'profiles');

const USAGE = `Usage: npm run bench -- [--quick] [--only name,name] [--stub] [--db URL] [--keep] [--profile] [--peers]

  --quick      each run 20% as long (a smoke test; figures are noisier)
  --only LIST  run only these scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
  --stub       load the stand-in stub instead of dist/src/main.js serve in the ingest scenarios
               (e2e-latency needs the real server and is skipped)
  --db URL     the ingest runs' HOOKRELAY_DB instead of a fresh SQLite file; sqlite::memory: gives the
               ceiling of everything but the durable commit (no file, no fsync, no writer thread)
               (the ha-* scenarios make their own databases on HOOKRELAY_BENCH_PG, by default
               ${PG_ADMIN_URL}, and are skipped with a note where it does not answer)
  --keep       keep the temporary rules file and database, and print where they are
  --profile    write a V8 CPU profile of the ingest hookrelay process to ${relative(ROOT, PROFILE_DIR)}/
               (open it in Chrome DevTools or speedscope; profiling slows the server)
  --peers      instead of the scenarios above: hookrelay beside adnanh/webhook (ingest, wrk -c32) and
               Alertmanager (20,000 alerts end to end), plus 100,000 alerts behind a dead destination
               (bench/peers/; needs the Debian packages webhook, prometheus-alertmanager and wrk, and says
               which is missing). With --profile, hookrelay's profiles of those runs.
`;

/** BENCH_RULES is the rules file the server runs with: one source and no rules, so ingest is measured. */
const BENCH_RULES = `# Written by npm run bench. One source and no rules: the figures measure ingest alone.
version: 1
sources:
  bench:
    type: trackpilots
    secrets: ["${SECRET}"]
destinations: {}
rules: []
`;

async function main(): Promise<number> {
  let args: ReturnType<typeof parseOptions>;
  let scenarios: Scenario[];
  try {
    args = parseOptions();
    scenarios = selectScenarios(args.only);
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const quick = args.quick ?? false;
  if (args.peers) return runPeersCommand(quick, args.profile ?? false, args.keep ?? false);
  const useStub = (args.stub ?? false) || !existsSync(MAIN_JS);
  const notes: string[] = [];
  if (args.profile) {
    notes.push(
      `profiled run: the hookrelay figures include V8 profiling overhead; profile in ${relative(ROOT, PROFILE_DIR)}/`,
    );
  }
  if (args.db !== undefined) {
    notes.push(
      `the ingest runs used HOOKRELAY_DB=${args.db}, not the default SQLite file: they are not the issue 2 figures.`,
    );
  }
  if (useStub) {
    const why = args.stub
      ? '--stub was given'
      : `${relative(ROOT, MAIN_JS)} does not exist (run npm run build)`;
    notes.push(`"hookrelay" rows are the STUB server (${why}): they say nothing about hookrelay.`);
    process.stderr.write(`bench: WARNING: measuring the stub, not hookrelay: ${why}\n`);
  }

  const startedAt = new Date();
  // Other work on the machine is the main source of error on a shared box; the record says how much.
  const loadAverageAtStart = loadavg().map((n) => Math.round(n * 100) / 100);
  const cpuPressureAtStart = cpuPressure();
  const workDir = await mkdtemp(join(tmpdir(), 'hookrelay-bench-'));
  const servers: ServerHandle[] = [];
  const stopAll = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  // Ctrl-C: stop the children and leave; the exit hook in servers.ts is the last resort.
  process.once('SIGINT', () => {
    void stopAll().finally(() => process.exit(130));
  });

  try {
    const ingestScenarios = scenarios.filter((s): s is IngestScenario => s.kind === 'ingest');
    const records: ScenarioRecord[] = [];
    let memory: BenchResults['memory'] = {};
    let hookrelayCommand = 'not started (no ingest scenario selected)';
    if (ingestScenarios.length > 0) {
      const ingest = await runIngest(ingestScenarios, {
        workDir,
        quick,
        useStub,
        profile: args.profile ?? false,
        ...(args.db === undefined ? {} : { database: args.db }),
        servers,
        notes,
      });
      records.push(...ingest.records);
      memory = ingest.memory;
      hookrelayCommand = ingest.hookrelayCommand;
    }
    // The ingest servers are stopped: what follows measures with nothing else of the bench running.
    await stopAll();

    let sqliteFloor: SqliteFloorRow[] | undefined;
    let evaluation: (EvaluationResult & PhaseRecord) | undefined;
    let delivery: (DeliveryRecord & PhaseRecord) | undefined;
    let endToEnd: (EndToEndRecord & PhaseRecord) | undefined;
    for (const scenario of scenarios) {
      if (scenario.kind === 'floor') {
        process.stderr.write('bench: sqlite-floor: inserting the bench requests into a fresh database…\n');
        sqliteFloor = measureSqliteFloor({
          appends: Math.round(scenario.appends * (quick ? QUICK_SCALE : 1)),
          appendsPerCommit: scenario.appendsPerCommit,
        });
      } else if (scenario.kind === 'evaluate') {
        evaluation = runEvaluate(scenario, quick, notes);
      } else if (scenario.kind === 'deliver') {
        delivery = await runDeliver(scenario, quick, notes);
      } else if (scenario.kind === 'e2e') {
        if (useStub) {
          notes.push(
            `${scenario.name} skipped: it needs the real hookrelay serve, and ${relative(ROOT, MAIN_JS)} was not used.`,
          );
          continue;
        }
        endToEnd = await runE2e(scenario, quick, workDir, servers, notes);
      }
    }
    const haScenarios = scenarios.filter((s): s is HaScenario => s.kind.startsWith('ha-'));
    let ha: HaRecord | undefined;
    if (haScenarios.length > 0) {
      if (useStub) {
        notes.push(
          `${haScenarios.map((s) => s.name).join(', ')} skipped: they need the real hookrelay serve.`,
        );
      } else {
        ha = await runHa(haScenarios, {
          mainJs: MAIN_JS,
          workDir,
          secret: SECRET,
          rulesYaml: BENCH_RULES,
          quick,
          quickScale: QUICK_SCALE,
          warmupMs: WARMUP_MS,
          readyTimeoutMs: READY_TIMEOUT_MS,
          rounds: ROUNDS,
          pgAdminUrl: PG_ADMIN_URL,
          log: (line) => process.stderr.write(`bench: ${line}\n`),
          onServer: (server) => servers.push(server),
          phaseEnd,
        });
        if (ha.skipped) notes.push(`ha-*: skipped: ${ha.skipped}`);
      }
    }

    const pressure = Math.max(cpuPressureAtStart ?? 0, cpuPressure() ?? 0);
    if (pressure > 20) {
      notes.push(
        `other work kept runnable tasks waiting for a CPU ${pressure}% of the time (PSI avg60): hookrelay's two threads and the generator competed with it, so its figures are low; rerun on an idle machine before quoting them.`,
      );
    }

    const results: BenchResults = {
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        node: process.version,
        platform: process.platform,
        arch: process.arch,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        loadAverageAtStart,
        loadAverageAtEnd: loadavg().map((n) => Math.round(n * 100) / 100),
        ...optional('cpuPressureAtStart', cpuPressureAtStart),
        ...optional('cpuPressureAtEnd', cpuPressure()),
      },
      hookrelayTarget: useStub ? 'stub' : 'hookrelay',
      hookrelayCommand,
      quick,
      scenarios: records,
      memory,
      ...(sqliteFloor ? { sqliteFloor } : {}),
      ...(evaluation ? { evaluation } : {}),
      ...(delivery ? { delivery } : {}),
      ...(endToEnd ? { endToEnd } : {}),
      ...(ha ? { ha } : {}),
      notes,
    };
    process.stdout.write(`\n${formatReport(results)}`);
    await mkdir(dirname(RESULTS_FILE), { recursive: true });
    await writeFile(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`Results written to ${relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}\n`);

    const failures = records.flatMap((r) =>
      [r.baseline, r.hookrelay]
        .filter((run) => run.non2xx + run.errors + run.warmupFailures > 0)
        .map(
          (run) =>
            `${r.name}: ${run.non2xx} non-2xx, ${run.errors} errors${run.firstFailure ? `; first: ${run.firstFailure}` : ''}`,
        ),
    );
    if (endToEnd) {
      const post = endToEnd.post;
      if (post.non2xx + post.errors > 0) {
        failures.push(
          `e2e-latency: ${post.non2xx} non-2xx, ${post.errors} errors${post.firstFailure ? `; first: ${post.firstFailure}` : ''}`,
        );
      }
      if (endToEnd.missing + endToEnd.warmupMissing > 0) {
        failures.push(
          `e2e-latency: ${endToEnd.missing} of ${endToEnd.sent} alerts never reached the sink (${endToEnd.warmupMissing} more in the warm-up)`,
        );
      }
    }
    failures.push(...haFailures(ha));
    if (failures.length > 0) {
      process.stderr.write(
        `bench: FAILED: some requests were not answered 2xx or some alerts did not arrive:\n  ${failures.join('\n  ')}\n`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    // Server start-up failures carry the server's own output; a stack would add nothing.
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await stopAll();
    if (args.keep) process.stderr.write(`bench: kept ${workDir}\n`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

/** runPeersCommand is `npm run bench -- --peers` (bench/peers/index.ts). */
async function runPeersCommand(quick: boolean, profile: boolean, keep: boolean): Promise<number> {
  if (!existsSync(MAIN_JS)) {
    process.stderr.write(`bench: ${relative(ROOT, MAIN_JS)} does not exist (run npm run build)\n`);
    return 1;
  }
  const workDir = await mkdtemp(join(tmpdir(), 'hookrelay-peers-'));
  const servers: ServerHandle[] = [];
  process.once('SIGINT', () => {
    void Promise.all(servers.map((server) => server.stop())).finally(() => process.exit(130));
  });
  const startedAt = new Date();
  const loadAverageAtStart = loadavg().map((n) => Math.round(n * 100) / 100);
  const cpuPressureAtStart = cpuPressure();
  try {
    const record = await runPeers({
      workDir,
      secret: SECRET,
      quick,
      ...(profile ? { profileDir: PROFILE_DIR } : {}),
      log: (line) => process.stderr.write(`bench: ${line}\n`),
      onServer: (server) => servers.push(server),
    });
    const machine = {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      loadAverageAtStart,
      loadAverageAtEnd: loadavg().map((n) => Math.round(n * 100) / 100),
      ...optional('cpuPressureAtStart', cpuPressureAtStart),
      ...optional('cpuPressureAtEnd', cpuPressure()),
    };
    const header = `Run ${startedAt.toISOString()}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')} → ${machine.loadAverageAtEnd.join(' ')}, CPU pressure (PSI avg60) ${cpuPressureAtStart ?? 'n/a'}% → ${cpuPressure() ?? 'n/a'}%${quick ? ', --quick' : ''}${profile ? ', PROFILED (hookrelay figures include V8 profiling overhead)' : ''}.`;
    process.stdout.write(`\n${header}\n\n${formatPeers(record)}`);
    await mkdir(dirname(PEERS_RESULTS_FILE), { recursive: true });
    await writeFile(
      PEERS_RESULTS_FILE,
      `${JSON.stringify({ command: `npm run bench -- ${process.argv.slice(2).join(' ')}`, startedAt, machine, ...record }, null, 2)}\n`,
    );
    process.stdout.write(`Results written to ${relative(process.cwd(), PEERS_RESULTS_FILE)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    if (keep) process.stderr.write(`bench: kept ${workDir}\n`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

/** IngestContext is what the ingest phase needs from main. */
interface IngestContext {
  workDir: string;
  quick: boolean;
  useStub: boolean;
  profile: boolean;
  /** HOOKRELAY_DB for hookrelay; a fresh SQLite file in workDir when absent. */
  database?: string;
  /** Servers started here are added, so Ctrl-C and main's `finally` stop them. */
  servers: ServerHandle[];
  notes: string[];
}

/**
 * runIngest starts the baseline and hookrelay servers, measures every ingest scenario against both
 * (issue 2 §7), and stops them.
 */
async function runIngest(
  scenarios: IngestScenario[],
  context: IngestContext,
): Promise<{ records: ScenarioRecord[]; memory: BenchResults['memory']; hookrelayCommand: string }> {
  const { workDir, quick, useStub, servers, notes } = context;
  const rulesFile = join(workDir, 'rules.yaml');
  await writeFile(rulesFile, BENCH_RULES);

  const baselinePort = await freePort();
  const baseline = await startServer({
    name: 'node:http baseline',
    args: [join(HERE, 'baseline-server.js')],
    port: baselinePort,
    env: { ...process.env, PORT: String(baselinePort), HOST: '127.0.0.1' },
    readyPath: '/readyz',
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  servers.push(baseline);

  const hookPort = await freePort();
  // V8 writes the profile when the process exits, which stop() lets it do with SIGTERM. Node refuses
  // --cpu-prof in NODE_OPTIONS, so it goes on the command line.
  const profileArgs = context.profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const hookArgs = [...profileArgs, ...(useStub ? [join(HERE, 'stub-server.js')] : [MAIN_JS, 'serve'])];
  const hookrelay = await startServer({
    name: useStub ? 'stub server' : 'hookrelay serve',
    args: hookArgs,
    port: hookPort,
    env: serveEnv(hookPort, rulesFile, context.database ?? `sqlite:${join(workDir, 'bench.db')}`, {
      BENCH_SECRET: SECRET,
    }),
    readyPath: '/readyz',
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  servers.push(hookrelay);
  const hookrelayCommand = `node ${hookArgs.map((a) => (a.startsWith('/') ? relative(ROOT, a) : a)).join(' ')} (PORT=${hookPort}, LOG_LEVEL=warn, HOOKRELAY_DB=${context.database ?? 'sqlite:<tmp>/bench.db'})`;
  process.stderr.write(
    `bench: ${baseline.name} pid ${baseline.pid}, ${hookrelay.name} pid ${hookrelay.pid}\n`,
  );

  const records: ScenarioRecord[] = [];
  for (const scenario of scenarios) {
    const load = scaled(scenario.load, scenario.load.durationMs * (quick ? QUICK_SCALE : 1));
    const measured = await measureScenario(scenario, load, baseline, hookrelay, quick);
    records.push(compare(scenario, load, measured.baseline, measured.hookrelay, measured.roundRatios));
  }
  const memory = { baseline: baseline.sample(), hookrelay: hookrelay.sample() };

  for (const record of records) {
    const spread =
      record.roundRatios.length > 1 ? Math.max(...record.roundRatios) / Math.min(...record.roundRatios) : 1;
    if (record.load.kind === 'max' && spread > 1.25) {
      notes.push(
        `${record.name}: the ratio per round ranged ${Math.min(...record.roundRatios)}–${Math.max(...record.roundRatios)}×; other work on this machine moved the figures, so rerun on an idle machine before quoting them.`,
      );
    }
    if (record.baseline.generatorCpuPercent >= 90 && record.load.kind === 'max') {
      notes.push(
        `${record.name}: the load generator used ${record.baseline.generatorCpuPercent}% of a core against the baseline, so the baseline figure may be the generator's limit and the ratio flattered.`,
      );
    }
    if ((record.hookrelay.sendLagP99Ms ?? 0) > 5) {
      notes.push(
        `${record.name}: the generator sent up to ${record.hookrelay.sendLagP99Ms} ms late (p99), so the rate was not held exactly.`,
      );
    }
  }
  await Promise.all([baseline.stop(), hookrelay.stop()]);
  return { records, memory, hookrelayCommand };
}

/** phaseEnd is how busy the machine was as a measurement ended. */
function phaseEnd(): PhaseRecord['machineAtEnd'] {
  const pressure = cpuPressure('avg10');
  return {
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    ...(pressure === undefined ? {} : { cpuPressureAvg10: pressure }),
  };
}

/** runEvaluate measures the rules engine in this process (issue 3 §4). */
function runEvaluate(
  scenario: EvaluateScenario,
  quick: boolean,
  notes: string[],
): EvaluationResult & PhaseRecord {
  const scale = quick ? QUICK_SCALE : 1;
  const result = measureEvaluation({
    ruleCounts: scenario.ruleCounts,
    count: Math.round(scenario.count * scale),
    warmup: Math.round(scenario.warmup * scale),
    rounds: scenario.rounds,
    log: (line) => process.stderr.write(`bench: ${line}\n`),
  });
  const { target } = scenario;
  const targets: PhaseRecord['targets'] = [];
  const atTarget = result.rows.find((r) => r.rules === target.rules);
  // Judged on items per CPU-second: the target is "on one core", and wall time on a shared machine also
  // counts the time other work held the CPU, while the GC threads' CPU would be left out.
  if (atTarget) {
    targets.push({
      issue: 'issue 3 §4',
      label: `evaluation: ≥ ${target.itemsPerSecond.toLocaleString('en-US')} items/s with ${target.rules} rules on one core (per CPU-second)`,
      met: atTarget.itemsPerCpuSecond >= target.itemsPerSecond,
      value: `${atTarget.itemsPerCpuSecond.toLocaleString('en-US')} per CPU-second; ${atTarget.itemsPerSecond.toLocaleString('en-US')} per wall second`,
    });
  }
  if (result.slowdown) {
    const { fromRules, toRules, pooled, pooledWall } = result.slowdown;
    targets.push({
      issue: 'issue 3 §4',
      label: `evaluation: ${toRules.toLocaleString('en-US')} rules no more than ${target.maxSlowdown}× slower than ${fromRules} (per CPU-second)`,
      met: pooled <= target.maxSlowdown,
      value: `${pooled}× slower; ${pooledWall}× by wall time`,
    });
  }
  for (const row of result.rows) {
    const perRound = row.roundItemsPerSecond;
    if (perRound.length > 1 && Math.max(...perRound) / Math.min(...perRound) > 1.25) {
      notes.push(
        `evaluate: with ${row.rules.toLocaleString('en-US')} rules, items/s per round ranged ${Math.min(...perRound).toLocaleString('en-US')}–${Math.max(...perRound).toLocaleString('en-US')}; other work on this machine moved the figures (items per CPU-second is the steadier one).`,
      );
    }
  }
  return { ...result, name: scenario.name, title: scenario.title, targets, machineAtEnd: phaseEnd() };
}

/** runDeliver runs benchDeliveries in a child process (bench/delivery.ts says why) (issue 4 §4). */
async function runDeliver(
  scenario: DeliverScenario,
  quick: boolean,
  notes: string[],
): Promise<DeliveryRecord & PhaseRecord> {
  // The quick sizes are bench/deliver.ts's own `--quick` ones.
  const options = quick
    ? { deliveries: 5_000, rounds: 2, queued: 20_000, downForMs: 2_000 }
    : {
        deliveries: scenario.deliveries,
        rounds: scenario.rounds,
        queued: scenario.queued,
        downForMs: scenario.downForMs,
      };
  const record = await runDeliveryBench(options, (line) => process.stderr.write(`bench: deliver: ${line}\n`));
  const r = record.result;
  const heapGrowthBytes = (r.heapUsedAfterMb - r.heapUsedBeforeMb) * 1024 * 1024;
  const bytesPerQueued = r.queued > 0 ? Math.round(heapGrowthBytes / r.queued) : Number.NaN;
  const targets: PhaseRecord['targets'] = [
    {
      issue: 'issue 4 §4',
      label: `deliveries/s to a local webhook sink ≥ ${scenario.target.deliveriesPerSecond.toLocaleString('en-US')} (SQLite file store)`,
      met: r.deliveriesPerSecond >= scenario.target.deliveriesPerSecond,
      value: `${r.deliveriesPerSecond.toLocaleString('en-US')}/s (median of ${r.roundDeliveriesPerSecond.length} rounds)`,
    },
    {
      // An Alert held as JS objects takes several hundred bytes (a dozen fields, its strings); under
      // 100 bytes of heap per queued alert means they are not in memory. RSS is reported beside, not
      // judged: it also moves with SQLite's page cache and the allocator, which one reading cannot tell
      // apart from the queue.
      issue: 'issue 4 §4',
      label: `memory flat with ${options.queued.toLocaleString('en-US')} alerts queued for a down destination: all still queued, JS heap growth < 100 B per queued alert (GC forced)`,
      met: r.queued === options.queued && r.gcForced && bytesPerQueued < 100,
      value: `${r.queued.toLocaleString('en-US')} queued, heap ${signedMb(r.heapUsedAfterMb - r.heapUsedBeforeMb)} = ${bytesPerQueued} B per alert; RSS ${signedMb(r.rssAfterMb - r.rssBeforeMb)}`,
    },
  ];
  if (!r.gcForced)
    notes.push(
      'deliver: no GC could be forced before the memory readings, so the heap figures are unreliable.',
    );
  return { ...record, name: scenario.name, title: scenario.title, targets, machineAtEnd: phaseEnd() };
}

/** runE2e measures POST → alert latency through a real `hookrelay serve` (issue 4 §4). */
async function runE2e(
  scenario: EndToEndScenario,
  quick: boolean,
  workDir: string,
  servers: ServerHandle[],
  notes: string[],
): Promise<EndToEndRecord & PhaseRecord> {
  const load = {
    ...scenario.load,
    durationMs: Math.max(2_000, Math.round(scenario.load.durationMs * (quick ? QUICK_SCALE : 1))),
  };
  const record = await runEndToEnd({
    mainJs: MAIN_JS,
    workDir,
    secret: SECRET,
    load,
    warmupMs: Math.round(WARMUP_MS * (quick ? QUICK_SCALE : 1)),
    readyTimeoutMs: READY_TIMEOUT_MS,
    log: (line) => process.stderr.write(`bench: ${line}\n`),
    onServer: (server) => servers.push(server),
  });
  process.stderr.write(
    `bench: e2e-latency: alert p50 ${record.alertLatency.p50.toFixed(2)} ms, p99 ${record.alertLatency.p99.toFixed(2)} ms; ${record.received} of ${record.sent} alerts\n`,
  );
  const p99 = record.alertLatency.p99;
  const targets: PhaseRecord['targets'] = [
    {
      issue: 'issue 4 §4',
      label: `end-to-end POST → alert at the sink p99 < ${scenario.target.p99Ms} ms at ${load.rps} events/s, every alert arriving`,
      // A run where alerts went missing has no honest p99: the missing ones would be the slowest.
      met: record.received > 0 && record.missing === 0 && p99 < scenario.target.p99Ms,
      value: `p99 ${p99.toFixed(2)} ms, ${record.missing} missing`,
    },
  ];
  if ((record.post.sendLagP99Ms ?? 0) > 5) {
    notes.push(
      `e2e-latency: the generator sent up to ${record.post.sendLagP99Ms} ms late (p99), so the rate was not held exactly.`,
    );
  }
  return { ...record, name: scenario.name, title: scenario.title, targets, machineAtEnd: phaseEnd() };
}

function signedMb(mb: number): string {
  const rounded = Math.round(mb * 10) / 10;
  return `${rounded >= 0 ? '+' : ''}${rounded} MB`;
}

/** cpuPressure reads Linux PSI `some avg60` (or avg10) for CPUs (percent), or undefined where there is none. */
function cpuPressure(window: 'avg10' | 'avg60' = 'avg60'): number | undefined {
  try {
    const match = new RegExp(`^some .*${window}=([\\d.]+)`, 'm').exec(
      readFileSync('/proc/pressure/cpu', 'utf8'),
    );
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

function parseOptions() {
  return parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      stub: { type: 'boolean' },
      keep: { type: 'boolean' },
      profile: { type: 'boolean' },
      peers: { type: 'boolean' },
      db: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}

function selectScenarios(only: string | undefined): Scenario[] {
  if (only === undefined) return SCENARIOS;
  const names = only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  }
  return SCENARIOS.filter((s) => names.includes(s.name));
}

function scaled(load: LoadSpec, durationMs: number): LoadSpec {
  return { ...load, durationMs: Math.max(500, Math.round(durationMs)) };
}

/**
 * measureScenario warms both servers up with the scenario's own load, then measures them in rounds
 * ordered baseline, hookrelay, hookrelay, baseline, … (ABBA). Other work on a shared machine comes and
 * goes; interleaving spreads it over both servers instead of letting it land on one of them.
 */
async function measureScenario(
  scenario: IngestScenario,
  load: LoadSpec,
  baseline: ServerHandle,
  hookrelay: ServerHandle,
  quick: boolean,
): Promise<{ baseline: RunRecord; hookrelay: RunRecord; roundRatios: number[] }> {
  const url = (server: ServerHandle) => new URL(`/webhooks/${scenario.source}`, server.origin);
  const servers = [baseline, hookrelay];
  const warmupFailures = new Map<ServerHandle, number>();
  const runs = new Map<ServerHandle, LoadRun[]>(servers.map((server) => [server, []]));
  const cpu = new Map<ServerHandle, { seconds: number; mainSeconds: number; wall: number }>();

  for (const server of servers) {
    const warmLoad = scaled(load, WARMUP_MS * (quick ? QUICK_SCALE : 1));
    const warm = summarise([await runLoad(url(server), warmLoad, scenario.requests({ secret: SECRET }))]);
    warmupFailures.set(server, warm.non2xx + warm.errors);
    assertAlive(server);
    await sleep(PAUSE_BETWEEN_RUNS_MS);
  }

  const slice = scaled(load, load.durationMs / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) {
      const before = server.sample();
      const wallBefore = performance.now();
      const run = await runLoad(url(server), slice, scenario.requests({ secret: SECRET }));
      const after = server.sample();
      assertAlive(server);
      runs.get(server)?.push(run);
      if (before && after) {
        const sum = cpu.get(server) ?? { seconds: 0, mainSeconds: 0, wall: 0 };
        sum.seconds += after.cpuSeconds - before.cpuSeconds;
        sum.mainSeconds +=
          (after.mainThreadCpuSeconds ?? Number.NaN) - (before.mainThreadCpuSeconds ?? Number.NaN);
        sum.wall += (performance.now() - wallBefore) / 1000;
        cpu.set(server, sum);
      }
      await sleep(PAUSE_BETWEEN_RUNS_MS);
    }
  }

  const record = (server: ServerHandle): RunRecord => {
    const result: RunRecord = {
      ...summarise(runs.get(server) ?? []),
      warmupFailures: warmupFailures.get(server) ?? 0,
    };
    const used = cpu.get(server);
    if (used && used.wall > 0) result.serverCpuPercent = Math.round((used.seconds / used.wall) * 100);
    if (used && result.responses > 0) {
      result.serverCpuUsPerRequest = Math.round((used.seconds * 1e6) / result.responses);
      if (Number.isFinite(used.mainSeconds)) {
        result.serverMainThreadUsPerRequest = Math.round((used.mainSeconds * 1e6) / result.responses);
      }
    }
    process.stderr.write(
      `bench: ${scenario.name} · ${server.name}: ${result.rps.toLocaleString('en-US')} req/s, p99 ${result.latency.p99.toFixed(2)} ms, ${result.non2xx + result.errors} errors\n`,
    );
    if (result.firstFailure) process.stderr.write(`bench:   first failure: ${result.firstFailure}\n`);
    return result;
  };
  // hookrelay ÷ baseline within each round: their spread shows how much the machine's other work moved
  // the figures.
  const roundRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const b = runs.get(baseline)?.[round];
    const h = runs.get(hookrelay)?.[round];
    if (b && h && b.ok2xx > 0) {
      roundRatios.push(Math.round((h.ok2xx / h.durationSec / (b.ok2xx / b.durationSec)) * 100) / 100);
    }
  }
  return { baseline: record(baseline), hookrelay: record(hookrelay), roundRatios };
}

function compare(
  scenario: IngestScenario,
  load: LoadSpec,
  baseline: RunRecord,
  hookrelay: RunRecord,
  roundRatios: number[],
): ScenarioRecord {
  const ratio = baseline.rps === 0 ? 0 : Math.round((hookrelay.rps / baseline.rps) * 1000) / 1000;
  const record: ScenarioRecord = {
    name: scenario.name,
    title: scenario.title,
    load,
    baseline,
    hookrelay,
    ratio,
    roundRatios,
  };
  const target = scenario.target;
  if (target?.kind === 'min-ratio') {
    record.target = { label: target.label, met: ratio >= target.ratio, value: `${ratio.toFixed(2)}×` };
  } else if (target?.kind === 'max-p99') {
    const p99 = hookrelay.latency.p99;
    // A run with no successful answer has no meaningful p99.
    const met = hookrelay.ok2xx > 0 && p99 < target.ms;
    record.target = { label: target.label, met, value: `p99 ${p99.toFixed(2)} ms` };
  }
  return record;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
