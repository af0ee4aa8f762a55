import { mkdir } from 'node:fs/promises';
import type { ServerHandle } from '../servers.js';
import { startSink } from '../sink.js';
import {
  type AlertComparison,
  compareAlerts,
  type DeadDestinationRun,
  queueBehindDeadDestination,
} from './alerts.js';
import { ALERTMANAGER, findPeer, missingMessage, WEBHOOK, WRK } from './binaries.js';
import { compareIngest, type IngestComparison, type IngestSide, PEER_INGEST_SCENARIOS } from './ingest.js';

/**
 * `npm run bench -- --peers` (issue 14 §1): hookrelay beside the tools people would pick instead, in one
 * run. A missing peer binary is reported with the package that installs it, and its part is skipped;
 * the bench never fails for it.
 */

export interface PeersOptions {
  workDir: string;
  secret: string;
  quick: boolean;
  /** Where hookrelay's V8 CPU profiles go, when wanted (node --cpu-prof). */
  profileDir?: string;
  log: (line: string) => void;
  onServer: (server: ServerHandle) => void;
}

export interface PeerTarget {
  label: string;
  met: boolean;
  value: string;
}

export interface PeersRecord {
  ingest: IngestComparison[];
  alerts?: AlertComparison;
  deadDestination?: DeadDestinationRun;
  targets: PeerTarget[];
  /** Peers that were not installed, with how to install them. */
  missing: string[];
}

const CONNECTIONS = 32;

export async function runPeers(options: PeersOptions): Promise<PeersRecord> {
  const scale = options.quick ? 0.2 : 1;
  const wrk = findPeer(WRK);
  const webhook = findPeer(WEBHOOK);
  const alertmanager = findPeer(ALERTMANAGER);
  const missing: string[] = [];
  if (!wrk) missing.push(missingMessage(WRK, 'the ingest comparison'));
  if (!webhook) missing.push(missingMessage(WEBHOOK, 'the ingest comparison'));
  if (!alertmanager) missing.push(missingMessage(ALERTMANAGER, 'the alerts comparison'));
  for (const line of missing) options.log(line);
  if (options.profileDir !== undefined) await mkdir(options.profileDir, { recursive: true });

  const ingest: IngestComparison[] = [];
  if (wrk && webhook) {
    for (const scenario of PEER_INGEST_SCENARIOS) {
      ingest.push(
        await compareIngest(scenario, {
          wrk,
          webhook,
          workDir: options.workDir,
          secret: options.secret,
          connections: CONNECTIONS,
          roundSeconds: Math.max(1, Math.round(5 * scale)),
          warmupSeconds: Math.max(1, Math.round(2 * scale)),
          rounds: options.quick ? 2 : 4,
          // The 1-item run is the hot path the README's per-stage figures describe.
          ...(options.profileDir !== undefined && scenario.items === 1
            ? { profileDir: options.profileDir }
            : {}),
          log: options.log,
          onServer: options.onServer,
        }),
      );
    }
  }

  let alerts: AlertComparison | undefined;
  // Alertmanager's notifications carry alerts[].labels.key, hookrelay's alerts their item's id.
  const sink = await startSink({ path: '/alerts', key: 'alert', status: 200 });
  try {
    if (alertmanager) {
      alerts = await compareAlerts({
        alertmanager,
        workDir: options.workDir,
        secret: options.secret,
        sink,
        alerts: Math.round(20_000 * scale),
        warmupAlerts: Math.round(1_000 * scale),
        batchSize: 10,
        connections: 8,
        rounds: options.quick ? 2 : 4,
        ...(options.profileDir === undefined ? {} : { profileDir: options.profileDir }),
        log: options.log,
        onServer: options.onServer,
      });
    }
  } finally {
    await sink.close();
  }
  // hookrelay alone: needs no peer.
  const deadDestination = await queueBehindDeadDestination({
    workDir: options.workDir,
    secret: options.secret,
    target: Math.round(100_000 * scale),
    batchSize: 10,
    connections: 8,
    log: options.log,
    onServer: options.onServer,
  });
  return {
    ingest,
    ...(alerts ? { alerts } : {}),
    deadDestination,
    targets: judge(ingest, alerts, deadDestination),
    missing,
  };
}

/** judge compares the run with issue 14's targets, each a ratio against the peer in the same run. */
function judge(
  ingest: IngestComparison[],
  alerts: AlertComparison | undefined,
  dead: DeadDestinationRun | undefined,
): PeerTarget[] {
  const targets: PeerTarget[] = [];
  for (const row of ingest) {
    const unit = row.items === 1 ? 'req/s' : 'items/s';
    targets.push({
      label: `ingest, ${row.title}: ${unit} ≥ 1.5× adnanh/webhook`,
      met: row.ratio >= 1.5,
      value: `${row.ratio.toFixed(2)}× (rounds ${row.roundRatios.join(', ')}); the bare node:http baseline reaches ${row.baselineOverWebhook.toFixed(2)}× and hookrelay ${row.hookrelayOverBaseline.toFixed(2)}× of it`,
    });
  }
  if (alerts) {
    targets.push({
      label: 'alerts/s end to end ≥ 1.5× Alertmanager (durable)',
      met: alerts.ratio >= 1.5,
      value: `${alerts.ratio.toFixed(2)}×`,
    });
    targets.push({
      label: 'CPU-seconds per 1,000 alerts ≤ 0.5× Alertmanager',
      met: alerts.cpuRatio <= 0.5,
      value: `${alerts.cpuRatio.toFixed(2)}×`,
    });
    targets.push({
      label: `peak RSS ≤ 150 MB for the ${alerts.alerts.toLocaleString('en-US')}-alert run`,
      met: alerts.hookrelay.peakRssMb <= 150,
      value: `${alerts.hookrelay.peakRssMb} MB (Alertmanager ${alerts.alertmanager.peakRssMb} MB)`,
    });
  }
  if (dead) {
    targets.push({
      label: `peak RSS ≤ 150 MB with ${dead.target.toLocaleString('en-US')} alerts queued behind a dead destination`,
      met: dead.peakRssMb <= 150 && dead.queued >= dead.target,
      value: `${dead.peakRssMb} MB, ${dead.queued.toLocaleString('en-US')} queued`,
    });
  }
  return targets;
}

/** formatPeers renders the record as the Markdown the README's table is copied from. */
export function formatPeers(record: PeersRecord): string {
  const lines: string[] = ['## Peers (issue 14)', ''];
  for (const line of record.missing) lines.push(`- MISSING: ${line}`);
  if (record.missing.length > 0) lines.push('');
  const n = (value: number) => value.toLocaleString('en-US');
  if (record.ingest.length > 0) {
    const first = record.ingest[0] as IngestComparison;
    lines.push(
      `Ingest: wrk -t2 -c${first.connections}, ${first.rounds} interleaved rounds of ${first.roundSeconds} s, medians.`,
      '',
      '| scenario | adnanh/webhook (HMAC + value match, no storage) | node:http baseline (reads the body, answers 200; no check, no storage) | hookrelay (durable SQLite) | hookrelay ÷ webhook | baseline ÷ webhook | hookrelay ÷ baseline |',
      '|---|---|---|---|---|---|---|',
    );
    for (const row of record.ingest) {
      const cell = (side: IngestSide) =>
        `${n(side.rps)} req/s${row.items > 1 ? ` = ${n(side.itemsPerSecond)} items/s` : ''}, p99 ${side.p99Ms.toFixed(1)} ms, ${n(side.cpuUsPerRequest)} CPU-µs/req${side.mainThreadUsPerRequest === undefined || side !== row.hookrelay ? '' : ` (main thread ${n(side.mainThreadUsPerRequest)}, writer thread ${n(side.busiestOtherThreadUsPerRequest ?? Number.NaN)})`}, RSS ${side.peakRssMb} MB`;
      lines.push(
        `| ${row.title} | ${cell(row.webhook)} | ${cell(row.baseline)} | ${cell(row.hookrelay)} | **${row.ratio.toFixed(2)}×** | ${row.baselineOverWebhook.toFixed(2)}× | ${row.hookrelayOverBaseline.toFixed(2)}× |`,
      );
      if (row.requestsPerCommit !== undefined) {
        lines.push(`|  | | | ${row.requestsPerCommit} requests per durable group commit | | | |`);
      }
      for (const side of [row.webhook, row.baseline, row.hookrelay]) {
        if (side.non2xx + side.errors > 0)
          lines.push(`|  | ${side.command}: ${side.non2xx} non-2xx, ${side.errors} errors | | | | | |`);
        // Repeats matter only to a server that deduplicates; the baseline's pool may wrap (ingest.ts).
        if (side.wraps > 0 && side !== row.baseline)
          lines.push(`|  | ${side.command}: the pool wrapped ${side.wraps}×: repeated bodies | | | | | |`);
      }
    }
    lines.push('');
  }
  if (record.alerts) {
    const a = record.alerts;
    lines.push(
      `Alerts end to end: ${n(a.alerts)} distinct alerts in POSTs of ${a.batchSize} over ${a.connections} connections, each delivered as its own webhook to a local sink; ${a.hookrelay.runs.length} interleaved rounds per system, fresh process each, medians.`,
      '',
      '| | Alertmanager (in memory) | hookrelay (durable) | ratio |',
      '|---|---|---|---|',
      `| alerts/s | ${n(a.alertmanager.alertsPerSecond)} | ${n(a.hookrelay.alertsPerSecond)} | **${a.ratio.toFixed(2)}×** |`,
      `| CPU-s per 1,000 alerts | ${a.alertmanager.cpuSecondsPer1000} | ${a.hookrelay.cpuSecondsPer1000} | **${a.cpuRatio.toFixed(2)}×** |`,
      `| peak RSS (VmHWM) | ${a.alertmanager.peakRssMb} MB | ${a.hookrelay.peakRssMb} MB | |`,
      `| missing alerts | ${a.alertmanager.missing} | ${a.hookrelay.missing} | |`,
      '',
      `Per round, alerts/s: Alertmanager ${a.alertmanager.runs.map((r) => n(r.alertsPerSecond)).join(', ')}; hookrelay ${a.hookrelay.runs.map((r) => n(r.alertsPerSecond)).join(', ')}.`,
      '',
    );
  }
  if (record.deadDestination) {
    const d = record.deadDestination;
    lines.push(
      `Dead destination: ${n(d.queued)} of ${n(d.target)} alerts queued in ${d.seconds} s; hookrelay peak RSS ${d.peakRssMb} MB (${d.rssAtEndMb} MB at the end).`,
      '',
    );
  }
  lines.push('Targets (issue 14), each against the peer in the same run:', '');
  for (const target of record.targets) {
    lines.push(`- ${target.met ? 'met' : '**missed**'}: ${target.label}: ${target.value}`);
  }
  return `${lines.join('\n')}\n`;
}
