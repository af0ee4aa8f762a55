import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { createRequestStream } from '../bodies.js';
import { assertAlive, freePort, type ServerHandle } from '../servers.js';
import { type Sink as AlertSink, nowMs } from '../sink.js';
import { type Started, saveProfileCounts, startAlertmanager, startHookrelay } from './processes.js';
import { median } from './usage.js';

/**
 * Alerts end to end beside Alertmanager (issue 14 §1): N distinct alerts POSTed in batches into each
 * system, each alert delivered as its own webhook to the same local sink. Alertmanager holds alerts in
 * memory (group_wait 0s, one group per alert); hookrelay stores the events durably, runs a rule and
 * sends through its outbox. A fresh process per round, so VmHWM is that round's peak RSS; rounds
 * interleaved (Alertmanager, hookrelay, hookrelay, Alertmanager, …).
 */

export interface AlertRun {
  alerts: number;
  /** Alerts ÷ (first POST → last distinct alert at the sink). */
  alertsPerSecond: number;
  /** utime + stime of the server process over the same interval, per 1,000 alerts. */
  cpuSecondsPer1000: number;
  peakRssMb: number;
  missing: number;
}

export interface AlertSide {
  command: string;
  runs: AlertRun[];
  /** Medians over runs. */
  alertsPerSecond: number;
  cpuSecondsPer1000: number;
  /** The highest of the runs. */
  peakRssMb: number;
  missing: number;
}

export interface AlertComparison {
  alerts: number;
  batchSize: number;
  connections: number;
  alertmanager: AlertSide;
  hookrelay: AlertSide;
  ratio: number;
  cpuRatio: number;
}

export interface DeadDestinationRun {
  queued: number;
  target: number;
  peakRssMb: number;
  rssAtEndMb: number;
  seconds: number;
}

export interface AlertOptions {
  alertmanager: string;
  workDir: string;
  secret: string;
  sink: AlertSink;
  alerts: number;
  warmupAlerts: number;
  batchSize: number;
  connections: number;
  rounds: number;
  profileDir?: string;
  log: (line: string) => void;
  onServer: (server: ServerHandle) => void;
}

/** How long without a new alert at the sink before the rest count as missing. */
const IDLE_TIMEOUT_MS = 15_000;

type Batch = { body: Buffer; headers: Record<string, string> };

/** alertmanagerBatches: `count` distinct alerts, `size` per POST, labelled as a small real alert would be. */
function alertmanagerBatches(count: number, size: number): Batch[] {
  const prefix = randomUUID();
  const batches: Batch[] = [];
  for (let start = 0; start < count; start += size) {
    const alerts = [];
    for (let i = start; i < Math.min(count, start + size); i++) {
      alerts.push({
        labels: {
          alertname: 'every-app-item',
          key: `${prefix}-${i}`,
          user: `user-${i}`,
          severity: 'warning',
        },
        annotations: { summary: `app item ${i}`, description: 'Microsoft Edge, outlook.office.com, 168 s' },
      });
    }
    batches.push({
      body: Buffer.from(JSON.stringify(alerts)),
      headers: { 'content-type': 'application/json' },
    });
  }
  return batches;
}

/** hookrelayBatches: signed app batches of `size` distinct items, each item one alert by the bench rule. */
function hookrelayBatches(count: number, size: number, secret: string): Batch[] {
  const stream = createRequestStream({ kind: 'app', secret, items: size });
  return Array.from({ length: Math.ceil(count / size) }, () => stream.next());
}

/** post sends every batch over `connections` keep-alive connections, each waiting for its answer. */
async function post(url: URL, batches: Batch[], connections: number): Promise<void> {
  const pool = new Pool(url.origin, { connections, pipelining: 1 });
  let next = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] as Batch;
      const response = await pool.request({
        path: url.pathname,
        method: 'POST',
        headers: batch.headers,
        body: batch.body,
      });
      const text = await response.body.text();
      if (response.statusCode >= 300) failures.push(`${response.statusCode} ${text.slice(0, 200)}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    await pool.close();
  }
  if (failures.length > 0)
    throw new Error(`${failures.length} POSTs to ${url.href} failed; first: ${failures[0]}`);
}

/** waitForSink waits until `count` distinct alerts arrived, or none came for IDLE_TIMEOUT_MS. */
async function waitForSink(sink: AlertSink, count: number, server: ServerHandle) {
  let last = -1;
  let lastProgress = performance.now();
  for (;;) {
    const stats = await sink.stats();
    if (stats.distinct >= count) return stats;
    if (stats.distinct !== last) {
      last = stats.distinct;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > IDLE_TIMEOUT_MS) {
      return stats;
    }
    assertAlive(server);
    await sleep(20);
  }
}

async function measureRun(
  started: Started,
  options: AlertOptions,
  makeBatches: (count: number) => Batch[],
): Promise<AlertRun> {
  const { sink } = options;
  // Warm-up (JIT, connections, SQLite pages), drained and forgotten before the measured alerts.
  await sink.reset();
  await post(started.url, makeBatches(options.warmupAlerts), options.connections);
  await waitForSink(sink, options.warmupAlerts, started.server);
  await sink.reset();
  const batches = makeBatches(options.alerts);
  const before = started.server.sample();
  const t0 = nowMs();
  await post(started.url, batches, options.connections);
  const stats = await waitForSink(sink, options.alerts, started.server);
  const after = started.server.sample();
  const seconds = (stats.lastArrivalMs - t0) / 1000;
  const cpuSeconds = before && after ? after.cpuSeconds - before.cpuSeconds : Number.NaN;
  return {
    alerts: stats.distinct,
    alertsPerSecond: seconds > 0 ? Math.round(stats.distinct / seconds) : 0,
    cpuSecondsPer1000: Math.round((cpuSeconds / (stats.distinct / 1000)) * 1000) / 1000,
    peakRssMb: after ? Math.round(after.peakRssBytes / 1024 / 1024) : Number.NaN,
    missing: options.alerts - stats.distinct,
  };
}

export async function compareAlerts(options: AlertOptions): Promise<AlertComparison> {
  const runs = { alertmanager: [] as AlertRun[], hookrelay: [] as AlertRun[] };
  const commands = { alertmanager: '', hookrelay: '' };
  const amBatches = (count: number) => alertmanagerBatches(count, options.batchSize);
  const hrBatches = (count: number) => hookrelayBatches(count, options.batchSize, options.secret);
  for (let round = 0; round < options.rounds; round++) {
    const order: ('alertmanager' | 'hookrelay')[] =
      round % 2 === 0 ? ['alertmanager', 'hookrelay'] : ['hookrelay', 'alertmanager'];
    for (const side of order) {
      const profiled = side === 'hookrelay' && options.profileDir !== undefined && round === 0;
      const started =
        side === 'alertmanager'
          ? await startAlertmanager(options.alertmanager, options.workDir, options.sink.url)
          : await startHookrelay({
              workDir: options.workDir,
              secret: options.secret,
              label: `alerts-${round}`,
              sinkUrl: options.sink.url,
              // One profile is enough, and profiling slows the run it is taken in.
              ...(profiled && options.profileDir !== undefined ? { profileDir: options.profileDir } : {}),
            });
      options.onServer(started.server);
      commands[side] = started.command;
      try {
        const run = await measureRun(started, options, side === 'alertmanager' ? amBatches : hrBatches);
        runs[side].push(run);
        options.log(
          `alerts round ${round + 1}: ${started.server.name} ${run.alertsPerSecond.toLocaleString('en-US')} alerts/s, ${run.cpuSecondsPer1000} CPU-s per 1,000, peak RSS ${run.peakRssMb} MB, ${run.missing} missing`,
        );
      } finally {
        if (profiled && options.profileDir !== undefined && started.server.exitStatus() === undefined) {
          await saveProfileCounts(
            started,
            options.profileDir,
            `alerts end to end (${options.alerts.toLocaleString('en-US')})`,
          );
        }
        await started.server.stop();
      }
      await sleep(300);
    }
  }
  const side = (name: 'alertmanager' | 'hookrelay'): AlertSide => ({
    command: commands[name],
    runs: runs[name],
    alertsPerSecond: Math.round(median(runs[name].map((r) => r.alertsPerSecond))),
    cpuSecondsPer1000: Math.round(median(runs[name].map((r) => r.cpuSecondsPer1000)) * 1000) / 1000,
    peakRssMb: Math.max(...runs[name].map((r) => r.peakRssMb)),
    missing: runs[name].reduce((sum, r) => sum + r.missing, 0),
  });
  const alertmanager = side('alertmanager');
  const hookrelay = side('hookrelay');
  return {
    alerts: options.alerts,
    batchSize: options.batchSize,
    connections: options.connections,
    alertmanager,
    hookrelay,
    ratio: Math.round((hookrelay.alertsPerSecond / alertmanager.alertsPerSecond) * 100) / 100,
    cpuRatio: Math.round((hookrelay.cpuSecondsPer1000 / alertmanager.cpuSecondsPer1000) * 100) / 100,
  };
}

/**
 * queueBehindDeadDestination POSTs `target` alerts into hookrelay whose webhook destination is a port
 * nothing listens on, waits until all of them are in the outbox (`hookrelay_outbox_pending`), and reads
 * the peak RSS: the queue must wait on disk, not in memory.
 */
export async function queueBehindDeadDestination(
  options: Pick<AlertOptions, 'workDir' | 'secret' | 'batchSize' | 'connections' | 'log' | 'onServer'> & {
    target: number;
  },
): Promise<DeadDestinationRun> {
  const deadPort = await freePort();
  const started = await startHookrelay({
    workDir: options.workDir,
    secret: options.secret,
    label: 'dead-destination',
    sinkUrl: `http://127.0.0.1:${deadPort}/alerts`,
  });
  options.onServer(started.server);
  try {
    const t0 = performance.now();
    await post(
      started.url,
      hookrelayBatches(options.target, options.batchSize, options.secret),
      options.connections,
    );
    let queued = 0;
    let lastChange = performance.now();
    while (queued < options.target && performance.now() - lastChange < IDLE_TIMEOUT_MS) {
      const now = await outboxPending(started.server.origin);
      if (now !== queued) lastChange = performance.now();
      queued = now;
      assertAlive(started.server);
      if (queued < options.target) await sleep(250);
    }
    const sample = started.server.sample();
    const run = {
      queued,
      target: options.target,
      peakRssMb: sample ? Math.round(sample.peakRssBytes / 1024 / 1024) : Number.NaN,
      rssAtEndMb: sample ? Math.round(sample.rssBytes / 1024 / 1024) : Number.NaN,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
    options.log(`dead destination: ${queued.toLocaleString('en-US')} queued, peak RSS ${run.peakRssMb} MB`);
    return run;
  } finally {
    await started.server.stop();
  }
}

/** outboxPending sums hookrelay_outbox_pending over destinations from /metrics. */
async function outboxPending(origin: string): Promise<number> {
  const pool = new Pool(origin, { connections: 1 });
  try {
    const response = await pool.request({ path: '/metrics', method: 'GET' });
    const text = await response.body.text();
    let sum = 0;
    for (const match of text.matchAll(/^hookrelay_outbox_pending\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) {
      sum += Number(match[1]);
    }
    return sum;
  } finally {
    await pool.close();
  }
}
