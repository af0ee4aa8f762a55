import type { DeliveryRecord } from './delivery.js';
import type { EndToEndRecord } from './e2e.js';
import type { EvaluationResult } from './evaluate.js';
import type { HaRecord } from './ha.js';
import type { LatencySummary } from './latency.js';
import type { LoadResult, LoadSpec } from './load.js';
import type { ProcessSample } from './servers.js';
import type { SqliteFloorRow } from './sqlite-floor.js';

/** RunRecord is one measured run plus what the server process spent on it. */
export interface RunRecord extends LoadResult {
  /** Server CPU during the run, percent of one core (can exceed 100 with worker threads). */
  serverCpuPercent?: number;
  /**
   * Server CPU time per answered request, microseconds. Unlike req/s it hardly moves when other work
   * shares the machine, so it is the steadier figure for comparing servers on a busy box.
   */
  serverCpuUsPerRequest?: number;
  /** The server's main thread (its event loop) alone, microseconds per answered request. */
  serverMainThreadUsPerRequest?: number;
  /** Non-2xx answers and errors during the unmeasured warm-up. */
  warmupFailures: number;
}

/** ScenarioRecord is one scenario's pair of runs and how they compare. */
export interface ScenarioRecord {
  name: string;
  title: string;
  load: LoadSpec;
  baseline: RunRecord;
  hookrelay: RunRecord;
  /** hookrelay req/s ÷ baseline req/s, over all rounds. */
  ratio: number;
  /** The same ratio within each interleaved round; a wide spread means a noisy machine. */
  roundRatios: number[];
  target?: { label: string; met: boolean; value: string };
}

/** TargetCheck is one target of an issue, checked after the run (reported, never an exit status). */
export interface TargetCheck {
  /** Where the target comes from, e.g. `issue 3 §4`. */
  issue: string;
  label: string;
  met: boolean;
  value: string;
}

/**
 * PhaseRecord is what every measurement after the ingest ones carries: its name and title, its targets,
 * and how busy the machine was when it ended (each runs alone, so the figure is about other work).
 */
export interface PhaseRecord {
  name: string;
  title: string;
  targets: TargetCheck[];
  machineAtEnd: { loadAverage1m: number; cpuPressureAvg10?: number };
}

/** BenchResults is bench/results/latest.json. */
export interface BenchResults {
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: {
    node: string;
    platform: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
    /**
     * Linux PSI: the share of the last 60 s (percent) in which some runnable task waited for a CPU, at the
     * start and end. On a shared machine it says how much other work competed with the run (absent where
     * /proc/pressure is not available).
     */
    cpuPressureAtStart?: number;
    cpuPressureAtEnd?: number;
  };
  /** What "hookrelay" was: the real server, or the stub while the server did not exist. */
  hookrelayTarget: 'hookrelay' | 'stub';
  hookrelayCommand: string;
  quick: boolean;
  /** The ingest scenarios (issue 2 §7). */
  scenarios: ScenarioRecord[];
  /** RSS of the ingest servers after the ingest scenarios. */
  memory: { baseline?: ProcessSample; hookrelay?: ProcessSample };
  /** The SQLite insert alone per request (context for issue 2 §7), when selected. */
  sqliteFloor?: SqliteFloorRow[];
  /** Rules engine items/s (issue 3 §4), when selected. */
  evaluation?: EvaluationResult & PhaseRecord;
  /** Deliveries/s and memory with a destination down (issue 4 §4), when selected. */
  delivery?: DeliveryRecord & PhaseRecord;
  /** POST → alert latency through a real server (issue 4 §4), when selected. */
  endToEnd?: EndToEndRecord & PhaseRecord;
  /** Several instances on PostgreSQL (issue 11 §6), when selected. */
  ha?: HaRecord;
  notes: string[];
}

/** formatReport renders the results as the table the README figures are copied from. */
export function formatReport(results: BenchResults): string {
  const label = results.hookrelayTarget === 'stub' ? 'stub' : 'hookrelay';
  const header = [
    'scenario',
    'server',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'CPU',
    'CPU µs/req',
    'main µs/req',
    'req/s ÷ baseline',
  ];
  const rows: string[][] = [];
  for (const scenario of results.scenarios) {
    rows.push(row(scenario.title, 'node:http', scenario.baseline, ''));
    rows.push(row('', label, scenario.hookrelay, `${scenario.ratio.toFixed(2)}×`));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7, 8, 9]);
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ');

  const out: string[] = [];
  const m = results.machine;
  out.push(
    `hookrelay bench · node ${m.node} · ${m.platform}/${m.arch} · ${m.cpus} × ${m.cpuModel} · load average ${m.loadAverageAtStart.join(' ')} at start` +
      (m.cpuPressureAtStart === undefined ? '' : ` · CPU pressure ${m.cpuPressureAtStart}% at start`),
  );
  out.push(`${label}: ${results.hookrelayCommand}${results.quick ? ' · QUICK RUN (short durations)' : ''}`);
  out.push('');
  if (rows.length > 0) {
    out.push(`Ingest (issue 2 §7): ${label} vs a bare node:http server, same requests, interleaved rounds`);
    out.push(line(header));
    out.push(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of rows) out.push(line(r));
    const mem = (sample: ProcessSample | undefined) =>
      sample ? `${mb(sample.rssBytes)} (peak ${mb(sample.peakRssBytes)})` : 'n/a';
    out.push(
      `RSS after the ingest runs: node:http ${mem(results.memory.baseline)}, ${label} ${mem(results.memory.hookrelay)}`,
    );
    out.push('');
  }
  if (results.sqliteFloor) out.push(...formatSqliteFloor(results.sqliteFloor), '');
  if (results.evaluation) out.push(...formatEvaluation(results.evaluation), '');
  if (results.delivery) out.push(...formatDelivery(results.delivery), '');
  if (results.endToEnd) out.push(...formatEndToEnd(results.endToEnd), '');
  if (results.ha) out.push(...formatHa(results.ha), '');

  const targets: TargetCheck[] = [
    ...results.scenarios.flatMap((s) =>
      s.target ? [{ issue: 'issue 2 §7', ...s.target, label: `${s.title}: ${s.target.label}` }] : [],
    ),
    ...(results.evaluation?.targets ?? []),
    ...(results.delivery?.targets ?? []),
    ...(results.endToEnd?.targets ?? []),
  ];
  if (targets.length > 0) {
    out.push('Targets:');
    for (const t of targets) {
      out.push(`  ${t.met ? 'met    ' : 'MISSED '} ${t.issue}  ${t.label} (measured ${t.value})`);
    }
  }
  out.push(
    `Machine at the end: load average ${m.loadAverageAtEnd.join(' ')}` +
      (m.cpuPressureAtEnd === undefined ? '' : ` · CPU pressure ${m.cpuPressureAtEnd}% (PSI some avg60)`),
  );
  for (const note of results.notes) out.push(`Note: ${note}`);
  return `${out.join('\n')}\n`;
}

/** table lays out rows under a header: the first column left-aligned, the others right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

function formatEvaluation(e: EvaluationResult & PhaseRecord): string[] {
  const out = [
    `Evaluation (issue 3 §4): ${e.title} · ${n(e.itemsPerMeasurement)} timed items after ${n(e.warmupItems)} untimed, × ${e.rounds} rounds per rule count`,
  ];
  out.push(
    ...table(
      ['rules', 'items/s', 'items/CPU-s', 'items/s per round', 'compile ms', 'alerts', 'state keys'],
      e.rows.map((r) => [
        n(r.rules),
        n(r.itemsPerSecond),
        n(r.itemsPerCpuSecond),
        r.roundItemsPerSecond.map(n).join(' / '),
        n(r.compileMs),
        n(r.firings),
        n(r.stateKeys),
      ]),
    ),
  );
  out.push(`bare loop reading the same items' fields, no rules: ${n(e.bareLoopItemsPerSecond)} items/s`);
  if (e.slowdown) {
    const { fromRules, toRules, pooled, perRound, pooledWall } = e.slowdown;
    out.push(
      `${n(toRules)} rules vs ${n(fromRules)}: ${pooled}× slower per CPU-second (per round ${perRound.map((r) => `${r}×`).join(', ')}); ${pooledWall}× by wall-time items/s`,
    );
  }
  out.push(
    "items/CPU-s counts all of the process's threads (GC helpers too): what one core sustains, and unmoved by other work queueing for the CPUs; the targets are judged on it.",
  );
  return out;
}

function formatSqliteFloor(rows: SqliteFloorRow[]): string[] {
  const out = [
    'SQLite floor (context for issue 2 §7): the durable insert alone, per request, in this process',
    '  (real schema, statements and rows; WAL, synchronous=FULL; no HTTP, no signature, no thread hand-off)',
  ];
  for (const r of rows) {
    out.push(
      `  ${r.kind} (${r.itemsPerAppend} item${r.itemsPerAppend === 1 ? '' : 's'}): ${r.cpuUsPerAppend} µs of CPU, ${r.wallUsPerAppend} µs of wall time per request; ${r.appends.toLocaleString('en-US')} requests, ${r.appendsPerCommit} per commit`,
    );
  }
  return out;
}

function formatDelivery(d: DeliveryRecord & PhaseRecord): string[] {
  const r = d.result;
  const perDelivery = Object.entries(r.outboxTiming)
    .filter(([, t]) => t.calls > 0)
    .map(([method, t]) => `${method} ${t.calls.toLocaleString('en-US')} × ${t.meanMs.toFixed(3)} ms`)
    .join(', ');
  return [
    `Delivery (issue 4 §4): ${d.title}`,
    `  run as: ${d.command} (${d.wallSeconds} s)`,
    `  deliveries/s, SQLite file store:    ${n(r.deliveriesPerSecond)}/s median (rounds: ${r.roundDeliveriesPerSecond.map(n).join(', ')}; ${n(d.options.deliveries)} notifications each, one webhook destination, default concurrency)`,
    `  the adapter alone (the ceiling):     ${n(r.adapterAlonePerSecond)}/s median (rounds: ${r.roundAdapterAlonePerSecond.map(n).join(', ')}), main thread ${r.adapterAloneMainThreadUsPerSend} µs/send against ${r.mainThreadUsPerDelivery} µs/delivery with the store and deliverer`,
    `  same on a :memory: store (no fsync): ${n(r.deliveriesPerSecondInMemory)}/s (one run)`,
    `  outbox calls (file store):          ${perDelivery}`,
    `  ${n(r.queued)} queued, destination down ${d.options.downForMs / 1000} s: RSS ${r.rssBeforeMb} → ${r.rssAfterMb} MB (${signed(r.rssAfterMb - r.rssBeforeMb)} MB), JS heap ${r.heapUsedBeforeMb} → ${r.heapUsedAfterMb} MB (${signed(r.heapUsedAfterMb - r.heapUsedBeforeMb)} MB)${r.gcForced ? ', GC forced before each reading' : ', GC NOT forced: heap figures are unreliable'}`,
    `  one /metrics scrape with them queued: ${r.scrapeMs} ms`,
  ];
}

function formatEndToEnd(e: EndToEndRecord & PhaseRecord): string[] {
  const lat = (what: string, s: LatencySummary) => [
    what,
    n(s.count),
    s.p50.toFixed(2),
    s.p90.toFixed(2),
    s.p99.toFixed(2),
    s.max.toFixed(2),
  ];
  return [
    `End-to-end (issue 4 §4): ${e.title} · ${e.load.durationMs / 1000} s, ${e.load.connections} connections, each event a new user`,
    ...table(
      ['measured from POST dispatch', 'count', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [lat('→ alert at the sink', e.alertLatency), lat('→ POST response (round-trip alone)', e.post.latency)],
    ),
    `  sent ${n(e.sent)}, answered 2xx ${n(e.post.ok2xx)}, alerts received ${n(e.received)}, MISSING ${n(e.missing)}, duplicates ${n(e.duplicates)}, unexpected ${n(e.unexpected)}; last alert ${n(e.drainMs)} ms after the last POST` +
      (e.serverCpuPercent === undefined ? '' : `; server CPU ${e.serverCpuPercent}%`) +
      (e.server ? `, RSS ${mb(e.server.rssBytes)}` : '') +
      (e.post.sendLagP99Ms === undefined ? '' : `; send lag p99 ${e.post.sendLagP99Ms} ms`),
  ];
}

/** formatHa renders the several-instance measurements (issue 11 §6). */
export function formatHa(ha: HaRecord): string[] {
  const out: string[] = [`Several instances on PostgreSQL (issue 11 §6): databases on ${ha.postgres}`];
  if (ha.skipped) return [...out, `  SKIPPED: ${ha.skipped}`];
  const machine = (m: PhaseRecord['machineAtEnd']) =>
    `load average ${m.loadAverage1m} at the end${m.cpuPressureAvg10 === undefined ? '' : `, CPU pressure ${m.cpuPressureAvg10}% (avg10)`}`;
  if (ha.ingest) {
    const i = ha.ingest;
    out.push(
      `Ingest: ${i.title} · ${i.load.connections} connections shared over the instances, ${i.rounds} interleaved rounds of ${i.load.durationMs / i.rounds / 1000} s per configuration · ${machine(i.machineAtEnd)}`,
      ...table(
        [
          'configuration',
          'connections',
          'req/s',
          'p50 ms',
          'p99 ms',
          'errors',
          'CPU (all instances)',
          'CPU µs/req',
          'PostgreSQL CPU',
          'PG µs/req',
          '÷ SQLite',
          'per round',
          '2xx per instance',
          'others CPU',
          'settled s',
        ],
        i.rows.map((r) => [
          r.label,
          r.connections.join('+'),
          n(r.run.rps),
          r.run.latency.p50.toFixed(2),
          r.run.latency.p99.toFixed(2),
          String(r.run.non2xx + r.run.errors + r.run.warmupFailures),
          r.run.serverCpuPercent === undefined ? 'n/a' : `${r.run.serverCpuPercent}%`,
          r.run.serverCpuUsPerRequest === undefined ? 'n/a' : n(r.run.serverCpuUsPerRequest),
          r.postgresCpuPercent === undefined ? '—' : `${r.postgresCpuPercent}%`,
          r.postgresCpuUsPerRequest === undefined ? '—' : n(r.postgresCpuUsPerRequest),
          `${r.ratioToSqlite.toFixed(2)}×`,
          r.roundRatios.map((x) => x.toFixed(2)).join(' '),
          r.okPerInstance.map(n).join(' / '),
          r.othersCpuPercent === undefined ? 'n/a' : `${r.othersCpuPercent}%`,
          (r.settleMs / 1000).toFixed(1),
        ]),
      ),
      `  errors: non-2xx and socket errors, warm-up included. CPU: the configuration's hookrelay processes; PostgreSQL CPU: the backends connected to its database (not the WAL writer or other shared server processes); others CPU: the other configurations' instances, not loaded, meanwhile. Before each slice every instance is left to settle (its evaluator reading back what ingest stored) until all together use < 15% of a core, at most 15 s: settled s is the wait, in all.`,
      `  ${i.command}`,
    );
  }
  if (ha.endToEnd) {
    const e = ha.endToEnd;
    const row = (engine: string, r: EndToEndRecord) => [
      engine,
      n(r.alertsPerSecond),
      r.alertLatency.p50.toFixed(2),
      r.alertLatency.p99.toFixed(2),
      r.post.latency.p99.toFixed(2),
      `${n(r.received)} of ${n(r.sent)}`,
      n(r.missing + r.warmupMissing),
      n(r.drainMs),
      r.serverCpuPercent === undefined ? 'n/a' : `${r.serverCpuPercent}%`,
    ];
    out.push(
      `End to end: ${e.title} · ${e.sqlite.load.durationMs / 1000} s each, one process each, one after the other · ${machine(e.machineAtEnd)}`,
      ...table(
        [
          'store',
          'alerts/s',
          'alert p50 ms',
          'alert p99 ms',
          'POST p99 ms',
          'alerts',
          'missing',
          'drain ms',
          'server CPU',
        ],
        [row('SQLite file', e.sqlite), row('PostgreSQL', e.postgres)],
      ),
      `  PostgreSQL ÷ SQLite: alerts/s ${e.alertsPerSecondRatio.toFixed(2)}×, alert p99 ${e.p99Ratio.toFixed(2)}×. alerts/s: alerts received ÷ (first POST → last alert); at a fixed rate it is the rate unless the server falls behind.`,
    );
  }
  if (ha.failover) {
    const f = ha.failover;
    out.push(
      `Failover: ${f.title} · ${f.rounds} rounds each, two lease holders with serve's timing (TTL 3 s, renew 1 s, standby poll 0.5 s) · ${machine(f.machineAtEnd)}`,
      ...table(
        ['leader stopped by', 'median ms', 'min ms', 'max ms', 'rounds (ms)'],
        f.rows.map((r) => [r.label, n(r.medianMs), n(r.minMs), n(r.maxMs), r.timesMs.map(n).join(', ')]),
      ),
      `  the same measurement as ${f.command}`,
    );
  }
  out.push(`  Note: ${ha.hostNote}`);
  return out;
}

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function signed(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return rounded >= 0 ? `+${rounded}` : String(rounded);
}

function row(title: string, server: string, run: RunRecord, ratio: string): string[] {
  return [
    title,
    server,
    run.rps.toLocaleString('en-US'),
    run.latency.p50.toFixed(2),
    run.latency.p99.toFixed(2),
    String(run.non2xx + run.errors),
    run.serverCpuPercent === undefined ? 'n/a' : `${run.serverCpuPercent}%`,
    run.serverCpuUsPerRequest === undefined ? 'n/a' : run.serverCpuUsPerRequest.toLocaleString('en-US'),
    run.serverMainThreadUsPerRequest === undefined
      ? 'n/a'
      : run.serverMainThreadUsPerRequest.toLocaleString('en-US'),
    ratio,
  ];
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}
