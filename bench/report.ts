import type { LoadResult, LoadSpec } from './load.js';
import type { ProcessSample } from './servers.js';

/** RunRecord is one measured run plus what the server process spent on it. */
export interface RunRecord extends LoadResult {
  /** Server CPU during the run, percent of one core (can exceed 100 with worker threads). */
  serverCpuPercent?: number;
  /**
   * Server CPU time per answered request, microseconds. Unlike req/s it hardly moves when other work
   * shares the machine, so it is the steadier figure for comparing servers on a busy box.
   */
  serverCpuUsPerRequest?: number;
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
  scenarios: ScenarioRecord[];
  memory: { baseline?: ProcessSample; hookrelay?: ProcessSample };
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
    'req/s ÷ baseline',
  ];
  const rows: string[][] = [];
  for (const scenario of results.scenarios) {
    rows.push(row(scenario.title, 'node:http', scenario.baseline, ''));
    rows.push(row('', label, scenario.hookrelay, `${scenario.ratio.toFixed(2)}×`));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7, 8]);
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
  out.push(line(header));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) out.push(line(r));
  out.push('');
  const mem = (sample: ProcessSample | undefined) =>
    sample ? `${mb(sample.rssBytes)} (peak ${mb(sample.peakRssBytes)})` : 'n/a';
  out.push(
    `RSS at the end: node:http ${mem(results.memory.baseline)}, ${label} ${mem(results.memory.hookrelay)}`,
  );
  const targets = results.scenarios.filter((s) => s.target);
  if (targets.length > 0) {
    out.push('Targets (issue 2 §7):');
    for (const s of targets) {
      const t = s.target as NonNullable<ScenarioRecord['target']>;
      out.push(`  ${t.met ? 'met    ' : 'MISSED '} ${s.title}: ${t.label} (measured ${t.value})`);
    }
  }
  for (const note of results.notes) out.push(`Note: ${note}`);
  return `${out.join('\n')}\n`;
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
    ratio,
  ];
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}
