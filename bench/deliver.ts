/**
 * Measurements of the deliver stage (issue 4 §4), run in-process against a real SQLite file store:
 *
 * 1. Deliveries per second to a local webhook sink over one keep-alive connection, with the outbox calls
 *    timed, the same run on a `:memory:` store (no fsync), and the adapter alone (the ceiling at the
 *    default concurrency of 1) for comparison.
 * 2. Memory while 100,000 alerts are queued for a destination that is down: they must wait on disk.
 *
 * `benchDeliveries(options)` is what bench/run.ts calls; `node dist/bench/deliver.js [--quick]` runs it
 * alone and prints the figures as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createDeliverer, type DelivererStore, type DeliveryEvent } from '../src/deliver/deliverer.js';
import { pacingPolicyFor } from '../src/deliver/pacing.js';
import { retryPolicyFor } from '../src/deliver/retry-policy.js';
import { createDestination, type Destination } from '../src/destinations/index.js';
import type { Alert } from '../src/domain/alert.js';
import { systemClock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/log.js';
import { createMetrics } from '../src/lib/metrics.js';
import type { NewNotification, Store } from '../src/store/ports.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

/** BenchDeliveriesOptions size the two measurements. */
export interface BenchDeliveriesOptions {
  /** Notifications delivered in each throughput round (default 10,000). */
  deliveries?: number;
  /**
   * Throughput rounds (default 5), each a file-store run then an adapter-alone run, so other work on a
   * shared machine falls on both alike; the figures are the medians.
   */
  rounds?: number;
  /** Notifications queued for a down destination for the memory figure (default 100,000). */
  queued?: number;
  /** How long the deliverer keeps retrying the down destination before memory is read (default 5 s). */
  downForMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/**
 * OutboxTiming is how long the deliverer's outbox calls took to resolve (to be durable), per kind of call.
 * The deliverer waits for a claim, but not for a transition (recordDelivered…) before its next send, so a
 * transition's time here is latency, not time the deliveries waited.
 */
export interface OutboxTiming {
  calls: number;
  totalMs: number;
  meanMs: number;
}

/** BenchDeliveriesResult holds the figures; rates are per second, memory in MB. */
export interface BenchDeliveriesResult {
  /** Median over the rounds, file store. */
  deliveriesPerSecond: number;
  /** Each round's file-store figure, in order, to show the spread. */
  roundDeliveriesPerSecond: number[];
  /** Each round's adapter-alone figure, in order. */
  roundAdapterAlonePerSecond: number[];
  /** The same run on `:memory:` (no fsync): the ceiling without per-transition durability. */
  deliveriesPerSecondInMemory: number;
  /** Outbox calls during the file-store run, by method. */
  outboxTiming: Record<string, OutboxTiming>;
  /**
   * The ceiling at the default concurrency of 1: the same adapter sending to the same sink one at a time,
   * with no store and no deliverer (median over the rounds).
   */
  adapterAlonePerSecond: number;
  /** Share of the file-store run the main thread was busy (event loop utilisation, 0–1; median). */
  eventLoopUtilization: number;
  /** Main-thread busy time per delivery in the file-store run, µs (median; the adapter alone's is the floor). */
  mainThreadUsPerDelivery: number;
  /** Main-thread busy time per send of the adapter alone, µs (median). */
  adapterAloneMainThreadUsPerSend: number;
  /** Claims and transitions per worker transaction in the file-store run (group commit). */
  outboxWritesPerTransaction: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  heapUsedBeforeMb: number;
  heapUsedAfterMb: number;
  /** Pending notifications for the down destination when memory was read. */
  queued: number;
  /** How long one /metrics scrape took with them queued (it counts pending rows per destination). */
  scrapeMs: number;
  /** Whether a GC could be forced before each memory reading (node --expose-gc). */
  gcForced: boolean;
}

const MB = 1024 * 1024;
const COMMIT_CHUNK = 1_000;
const silent = createLogger('silent');
/** The defaults a `type: webhook` destination gets: unpaced, one send at a time (order kept). */
const WEBHOOK_POLICY = { retry: retryPolicyFor('webhook'), pacing: pacingPolicyFor('webhook') };

function alert(id: string, at: number): Alert {
  return {
    id,
    rule: 'bench',
    status: 'firing',
    severity: 'info',
    title: `bench alert ${id}`,
    text: 'low activity for an hour (bench)',
    key: 'user-bench',
    user: 'user-bench',
    event: 'desktop.app_tracking.captured',
    at,
    simulation: true,
  };
}

/** enqueue writes `count` notifications the way the evaluator does, in commits of COMMIT_CHUNK. */
async function enqueue(store: Store, destination: string, count: number, prefix: string): Promise<void> {
  const now = Date.now();
  for (let start = 0; start < count; start += COMMIT_CHUNK) {
    const notifications: NewNotification[] = [];
    for (let i = start; i < Math.min(count, start + COMMIT_CHUNK); i++) {
      const id = `${prefix}-${i}`;
      notifications.push({ id, destination, alert: alert(id, now), createdAt: now, orderKey: i, dueAt: now });
    }
    const { cursor } = await store.evaluator.load();
    await store.evaluator.commit({ fromCursor: cursor, cursor, upserts: [], deletes: [], notifications });
  }
}

/** The sink's code: answer every request with 204 at once, keeping connections alive. */
const SINK_SOURCE = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
let received = 0;
const server = http.createServer({ keepAlive: true }, (req, res) => {
  req.resume();
  req.on('end', () => { received += 1; res.writeHead(204).end(); });
});
parentPort.on('message', (message) => {
  if (message === 'count') parentPort.postMessage({ received });
  if (message === 'close') { server.closeAllConnections(); server.close(() => parentPort.postMessage({ closed: true })); }
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

interface Sink {
  url: string;
  received(): Promise<number>;
  close(): Promise<void>;
}

/**
 * startSink runs the sink on a worker thread, so its CPU is not taken from the deliverer (a remote
 * receiver would not share the relay's event loop either).
 */
async function startSink(): Promise<Sink> {
  const worker = new Worker(SINK_SOURCE, { eval: true });
  const next = <T>(key: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: Record<string, T>) => {
        if (!(key in message)) return;
        worker.off('message', onMessage);
        resolve(message[key] as T);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  const port = await next<number>('port');
  return {
    url: `http://127.0.0.1:${port}/sink`,
    received: async () => {
      const count = next<number>('received');
      worker.postMessage('count');
      return count;
    },
    close: async () => {
      const closed = next<boolean>('closed');
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}

function webhookTo(url: string): Destination {
  return createDestination(
    'sink',
    {
      type: 'webhook',
      url,
      method: 'POST',
      headers: {},
      body: 'alert',
      timeoutMs: 10_000,
      allowPrivateNetworks: true,
    },
    { logger: silent },
  );
}

/** timed wraps the named methods of a store port so every call's duration is added up per method. */
function timed<T extends object>(
  port: T,
  names: Array<keyof T & string>,
  timing: Record<string, OutboxTiming>,
): T {
  const wrapped: Partial<T> = {};
  for (const name of names) {
    const method = port[name] as (...args: unknown[]) => unknown;
    wrapped[name] = (async (...args: unknown[]) => {
      const started = performance.now();
      try {
        return await method.apply(port, args);
      } finally {
        const entry = timing[name] ?? { calls: 0, totalMs: 0, meanMs: 0 };
        entry.calls += 1;
        entry.totalMs += performance.now() - started;
        entry.meanMs = entry.totalMs / entry.calls;
        timing[name] = entry;
      }
    }) as T[keyof T & string];
  }
  return { ...port, ...wrapped };
}

/** Throughput is what one measureThroughput run found. */
interface Throughput {
  perSecond: number;
  eventLoopUtilization: number;
  mainThreadUsPerDelivery: number;
  /** Claims and transitions per transaction that carried any (group commit of the outbox writes). */
  outboxWritesPerTransaction: number;
}

/** measureThroughput delivers `count` queued notifications to the sink and returns deliveries/s. */
async function measureThroughput(
  path: string,
  count: number,
  timing: Record<string, OutboxTiming>,
): Promise<Throughput> {
  const store = await openSqliteStore(path);
  const sink = await startSink();
  const destination = webhookTo(sink.url);
  try {
    await enqueue(store, 'sink', count, 't');
    let delivered = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const onEvent = (event: DeliveryEvent) => {
      if (event.type === 'delivery:delivered' && ++delivered === count) done();
    };
    const deliveryStore: DelivererStore = {
      outbox: timed(store.outbox, ['claim', 'recordDelivered', 'scheduleRetry', 'deadLetter'], timing),
      deadLetters: timed(store.deadLetters, ['listPausedDestinations'], timing),
      blobs: store.blobs,
      events: store.events,
      conversations: store.conversations,
    };
    const deliverer = createDeliverer({
      store: deliveryStore,
      destinations: new Map([['sink', destination]]),
      policies: new Map([['sink', WEBHOOK_POLICY]]),
      clock: systemClock,
      logger: silent,
      metrics: createMetrics(),
      onEvent,
    });
    const statsBefore = store.stats();
    const loopBefore = performance.eventLoopUtilization();
    const started = performance.now();
    await deliverer.start();
    await finished;
    const seconds = (performance.now() - started) / 1000;
    const loop = performance.eventLoopUtilization(loopBefore);
    const stats = store.stats();
    await deliverer.stop();
    const received = await sink.received();
    if (received !== count) throw new Error(`the sink received ${received} of ${count}`);
    const transactions = stats.outboxTransactions - statsBefore.outboxTransactions;
    return {
      perSecond: Math.round(count / seconds),
      eventLoopUtilization: Math.round(loop.utilization * 100) / 100,
      mainThreadUsPerDelivery: Math.round((loop.active * 1000) / count),
      outboxWritesPerTransaction:
        transactions === 0
          ? 0
          : Math.round(((stats.outboxWrites - statsBefore.outboxWrites) / transactions) * 10) / 10,
    };
  } finally {
    await destination.close();
    await sink.close();
    await store.close();
  }
}

/** measureAdapterAlone sends `count` alerts through the webhook adapter one at a time: the ceiling. */
async function measureAdapterAlone(
  count: number,
): Promise<{ perSecond: number; mainThreadUsPerSend: number }> {
  const sink = await startSink();
  const destination = webhookTo(sink.url);
  try {
    const now = Date.now();
    const signal = new AbortController().signal;
    const loopBefore = performance.eventLoopUtilization();
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const id = `a-${i}`;
      const notification = { id, destination: 'sink', alert: alert(id, now), createdAt: now, attempts: 1 };
      const result = await destination.send(notification, { signal, attempt: 1 });
      if (!result.ok) throw new Error(`the sink refused a send: ${result.detail}`);
    }
    const perSecond = Math.round(count / ((performance.now() - started) / 1000));
    const loop = performance.eventLoopUtilization(loopBefore);
    return { perSecond, mainThreadUsPerSend: Math.round((loop.active * 1000) / count) };
  } finally {
    await destination.close();
    await sink.close();
  }
}

function memory(): { rss: number; heapUsed: number } {
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: rss / MB, heapUsed: heapUsed / MB };
}

async function settledMemory(): Promise<{ rss: number; heapUsed: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await sleep(200);
  gc?.();
  return memory();
}

/**
 * benchDeliveries runs both measurements in this process (temporary databases, removed afterwards) and
 * returns the figures. It never throws for a missed target; it throws when the harness itself fails.
 */
export async function benchDeliveries(options: BenchDeliveriesOptions = {}): Promise<BenchDeliveriesResult> {
  const count = options.deliveries ?? 10_000;
  const rounds = Math.max(1, options.rounds ?? 5);
  const queuedTarget = options.queued ?? 100_000;
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-bench-deliver-'));
  try {
    log(`queueing ${queuedTarget} notifications for a destination that is down…`);
    const store = await openSqliteStore(join(dir, 'memory.db'));
    // A port nobody listens on: every attempt fails at connect (ECONNREFUSED) and is retried with backoff.
    const closed = await startSink();
    const downUrl = closed.url;
    await closed.close();
    const destination = webhookTo(downUrl);
    const metrics = createMetrics();
    const deliverer = createDeliverer({
      store,
      destinations: new Map([['down', destination]]),
      policies: new Map([['down', WEBHOOK_POLICY]]),
      clock: systemClock,
      logger: silent,
      metrics,
    });
    try {
      await deliverer.start();
      const before = await settledMemory();
      await enqueue(store, 'down', queuedTarget, 'q');
      await sleep(options.downForMs ?? 5_000);
      // A scrape reads the pending count from the database, as /metrics does.
      const scrapeStarted = performance.now();
      await metrics.registry.metrics();
      const scrapeMs = Math.round((performance.now() - scrapeStarted) * 10) / 10;
      const after = await settledMemory();
      const queued = (await store.outbox.pendingCounts())['down'] ?? 0;
      log(`… ${queued} waiting; RSS ${before.rss.toFixed(1)} → ${after.rss.toFixed(1)} MB`);
      await deliverer.stop();
      const outboxTiming: Record<string, OutboxTiming> = {};
      const files: Throughput[] = [];
      const alone: Array<{ perSecond: number; mainThreadUsPerSend: number }> = [];
      for (let round = 1; round <= rounds; round++) {
        log(`round ${round}/${rounds}: ${count} notifications to a local webhook sink (SQLite file)…`);
        files.push(await measureThroughput(join(dir, `throughput-${round}.db`), count, outboxTiming));
        log(`… ${files.at(-1)?.perSecond}/s; the adapter alone (no store, no deliverer)…`);
        alone.push(await measureAdapterAlone(count));
        log(`… ${alone.at(-1)?.perSecond}/s`);
      }
      log('once more on :memory: (no fsync)…');
      const inMemory = await measureThroughput(':memory:', count, {});
      log(`… ${inMemory.perSecond}/s`);

      return {
        deliveriesPerSecond: median(files.map((f) => f.perSecond)),
        roundDeliveriesPerSecond: files.map((f) => f.perSecond),
        roundAdapterAlonePerSecond: alone.map((a) => a.perSecond),
        deliveriesPerSecondInMemory: inMemory.perSecond,
        outboxTiming,
        adapterAlonePerSecond: median(alone.map((a) => a.perSecond)),
        adapterAloneMainThreadUsPerSend: median(alone.map((a) => a.mainThreadUsPerSend)),
        eventLoopUtilization: median(files.map((f) => f.eventLoopUtilization)),
        mainThreadUsPerDelivery: median(files.map((f) => f.mainThreadUsPerDelivery)),
        outboxWritesPerTransaction: median(files.map((f) => f.outboxWritesPerTransaction)),
        rssBeforeMb: round(before.rss),
        rssAfterMb: round(after.rss),
        heapUsedBeforeMb: round(before.heapUsed),
        heapUsedAfterMb: round(after.heapUsed),
        queued,
        scrapeMs,
        gcForced: typeof (globalThis as { gc?: unknown }).gc === 'function',
      };
    } finally {
      await deliverer.stop();
      await destination.close();
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** median of a non-empty list (the mean of the middle two for an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function round(mb: number): number {
  return Math.round(mb * 10) / 10;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  benchDeliveries({
    ...(quick ? { deliveries: 5_000, rounds: 2, queued: 20_000, downForMs: 2_000 } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error: unknown) => {
      process.stderr.write(`bench/deliver failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
