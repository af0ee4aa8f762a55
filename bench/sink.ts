import { Worker } from 'node:worker_threads';

/**
 * Sink is the webhook receiver alerts are delivered to in the bench: by hookrelay in the end-to-end
 * scenario (bench/e2e.ts), and by hookrelay and Alertmanager in the peer comparison (bench/peers/). It
 * stamps each distinct alert when its body has been read whole, keyed as SinkOptions.key says.
 */
export interface Sink {
  /** http://127.0.0.1:PORT/<path> */
  url: string;
  /** Distinct alerts since the last reset. */
  count(): Promise<number>;
  /** Counters since the last reset; lastArrivalMs is when the newest new alert arrived (nowMs). */
  stats(): Promise<SinkStats>;
  /** Every distinct alert with its first arrival (nowMs), and the counters. */
  snapshot(): Promise<{ arrivals: [string, number][]; duplicates: number; bad: number }>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface SinkStats {
  distinct: number;
  requests: number;
  duplicates: number;
  bad: number;
  lastArrivalMs: number;
}

export interface SinkOptions {
  /** The one path alerts may arrive on; a request to any other counts as bad. */
  path: string;
  /**
   * What makes an alert distinct: `user`, the alert body's `user` (a hookrelay webhook alert of an
   * activity event); or `alert`, every `alerts[].labels.key` of an Alertmanager notification, else the
   * body's `item.id` (a hookrelay alert of an app item).
   */
  key: 'user' | 'alert';
  /** The answer: 204 and no body, or 200 `ok`; both what a fast receiver sends. */
  status: 200 | 204;
}

/**
 * nowMs is the monotonic clock the sink's thread and this one share (CLOCK_MONOTONIC via uv_hrtime), in
 * ms. performance.now() would not do: each worker thread has its own time origin.
 */
export function nowMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}

/*
 * The sink runs on a worker thread, so the load generator's timer and undici callbacks on the main
 * thread cannot delay when an arrival is stamped (a real receiver does not share the sender's event
 * loop either). It keeps connections alive, listens on 127.0.0.1 only and closes on `close`.
 */
const SINK_SOURCE = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { path, key, status } = workerData;
const nowMs = () => { const [s, ns] = process.hrtime(); return s * 1e3 + ns / 1e6; };
let arrivals = new Map();
let requests = 0;
let duplicates = 0;
let bad = 0;
let lastArrivalMs = 0;
const add = (id, at) => {
  if (typeof id !== 'string') { bad += 1; return; }
  if (arrivals.has(id)) { duplicates += 1; return; }
  arrivals.set(id, at);
  lastArrivalMs = at;
};
const server = http.createServer({ keepAlive: true }, (req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const at = nowMs();
    requests += 1;
    let body;
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch {}
    if (req.url !== path || typeof body !== 'object' || body === null) bad += 1;
    else if (key === 'user') add(body.user, at);
    else if (Array.isArray(body.alerts)) for (const alert of body.alerts) add(alert?.labels?.key, at);
    else add(body.item?.id, at);
    if (status === 204) res.writeHead(204).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
parentPort.on('message', (message) => {
  if (message === 'count') parentPort.postMessage({ count: arrivals.size });
  if (message === 'stats') parentPort.postMessage({ stats: { distinct: arrivals.size, requests, duplicates, bad, lastArrivalMs } });
  if (message === 'snapshot') parentPort.postMessage({ snapshot: { arrivals: [...arrivals], duplicates, bad } });
  if (message === 'reset') { arrivals = new Map(); requests = 0; duplicates = 0; bad = 0; lastArrivalMs = 0; parentPort.postMessage({ reset: true }); }
  if (message === 'close') { server.closeAllConnections(); server.close(() => parentPort.postMessage({ closed: true })); }
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

export async function startSink(options: SinkOptions): Promise<Sink> {
  const worker = new Worker(SINK_SOURCE, { eval: true, workerData: options });
  const ask = <T>(key: string, message?: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (reply: Record<string, T>) => {
        if (!(key in reply)) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve(reply[key] as T);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      if (message !== undefined) worker.postMessage(message);
    });
  const port = await ask<number>('port');
  return {
    url: `http://127.0.0.1:${port}${options.path}`,
    count: () => ask<number>('count', 'count'),
    stats: () => ask<SinkStats>('stats', 'stats'),
    snapshot: () => ask<Awaited<ReturnType<Sink['snapshot']>>>('snapshot', 'snapshot'),
    reset: async () => {
      await ask<boolean>('reset', 'reset');
    },
    close: async () => {
      await ask<boolean>('closed', 'close');
      await worker.terminate();
    },
  };
}
