import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type LoadRun, type LoadSpec, runLoad, summarise } from './load.js';
import { type BenchResults, formatReport, type RunRecord, type ScenarioRecord } from './report.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { freePort, indent, type ServerHandle, startServer } from './servers.js';

/*
 * `npm run bench`: ingest throughput and latency of hookrelay against a bare node:http server, both
 * started here as child processes on 127.0.0.1 and loaded by the same generator in the same run, so
 * the ratio holds on any machine even though the absolute figures do not. Every run is bounded in
 * time. Exit status: 0 when the harness worked and every answer was 2xx; 1 otherwise. A missed
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

const PROFILE_DIR = join(ROOT, 'bench', 'results', 'profiles');

const USAGE = `Usage: npm run bench -- [--quick] [--only name,name] [--stub] [--keep] [--profile]

  --quick      each run 20% as long (a smoke test; figures are noisier)
  --only LIST  run only these scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
  --stub       load the stand-in stub instead of dist/src/main.js serve
  --keep       keep the temporary rules file and database, and print where they are
  --profile    write a V8 CPU profile of the hookrelay process to ${relative(ROOT, PROFILE_DIR)}/
               (open it in Chrome DevTools or speedscope; profiling slows the server)
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
  const useStub = (args.stub ?? false) || !existsSync(MAIN_JS);
  const notes: string[] = [];
  if (args.profile) {
    notes.push(
      `profiled run: the hookrelay figures include V8 profiling overhead; profile in ${relative(ROOT, PROFILE_DIR)}/`,
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
    const profileArgs = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
    const hookArgs = [...profileArgs, ...(useStub ? [join(HERE, 'stub-server.js')] : [MAIN_JS, 'serve'])];
    const hookrelay = await startServer({
      name: useStub ? 'stub server' : 'hookrelay serve',
      args: hookArgs,
      port: hookPort,
      env: {
        ...process.env,
        PORT: String(hookPort),
        HOST: '127.0.0.1',
        HOOKRELAY_CONFIG: rulesFile,
        HOOKRELAY_DB: `sqlite:${join(workDir, 'bench.db')}`,
        // Logging every request would measure pino, not ingest.
        LOG_LEVEL: 'warn',
        BENCH_SECRET: SECRET,
      },
      readyPath: '/readyz',
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    servers.push(hookrelay);
    const hookrelayCommand = `node ${hookArgs.map((a) => (a.startsWith('/') ? relative(ROOT, a) : a)).join(' ')} (PORT=${hookPort}, LOG_LEVEL=warn, HOOKRELAY_DB=sqlite:<tmp>/bench.db)`;
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
    const pressure = Math.max(cpuPressureAtStart ?? 0, cpuPressure() ?? 0);
    if (pressure > 20) {
      notes.push(
        `other work kept runnable tasks waiting for a CPU ${pressure}% of the time (PSI avg60): hookrelay's two threads and the generator competed with it, so its figures are low; rerun on an idle machine before quoting them.`,
      );
    }
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
    await stopAll();

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
    if (failures.length > 0) {
      process.stderr.write(
        `bench: FAILED: some requests were not answered 2xx:\n  ${failures.join('\n  ')}\n`,
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

/** cpuPressure reads Linux PSI `some avg60` for CPUs (percent), or undefined where there is none. */
function cpuPressure(): number | undefined {
  try {
    const match = /^some .*avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
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
  scenario: Scenario,
  load: LoadSpec,
  baseline: ServerHandle,
  hookrelay: ServerHandle,
  quick: boolean,
): Promise<{ baseline: RunRecord; hookrelay: RunRecord; roundRatios: number[] }> {
  const url = (server: ServerHandle) => new URL(`/webhooks/${scenario.source}`, server.origin);
  const servers = [baseline, hookrelay];
  const warmupFailures = new Map<ServerHandle, number>();
  const runs = new Map<ServerHandle, LoadRun[]>(servers.map((server) => [server, []]));
  const cpu = new Map<ServerHandle, { seconds: number; wall: number }>();

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
        const sum = cpu.get(server) ?? { seconds: 0, wall: 0 };
        sum.seconds += after.cpuSeconds - before.cpuSeconds;
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
    if (used && result.responses > 0)
      result.serverCpuUsPerRequest = Math.round((used.seconds * 1e6) / result.responses);
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

/** assertAlive stops the bench with the server's last output when it died under load. */
function assertAlive(server: ServerHandle): void {
  const status = server.exitStatus();
  if (status !== undefined) {
    throw new Error(
      `${server.name} died during the run (${status}). Its last output:\n${indent(server.outputTail())}`,
    );
  }
}

function compare(
  scenario: Scenario,
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
