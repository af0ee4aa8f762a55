import { Worker } from 'node:worker_threads';

/**
 * AlertSink is the webhook receiver both Alertmanager and hookrelay deliver to. It counts distinct alerts:
 * an Alertmanager notification carries `alerts[].labels.key`, a hookrelay alert its triggering item's
 * `item.id` (the request stream makes every one distinct).
 */
export interface AlertSink {
  /** http://127.0.0.1:PORT/alerts */
  url: string;
  /** Distinct alerts since the last reset, requests received, and when the newest new alert arrived (nowMs). */
  stats(): Promise<{ distinct: number; requests: number; bad: number; lastArrivalMs: number }>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** nowMs is the monotonic clock the sink's thread and this one share (uv_hrtime), in ms. */
export function nowMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}

/*
 * On a worker thread, so the bench's own generator cannot delay the stamps; keep-alive, 200 at once, as a
 * fast receiver would answer.
 */
const SINK_SOURCE = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const nowMs = () => { const [s, ns] = process.hrtime(); return s * 1e3 + ns / 1e6; };
let seen = new Set();
let requests = 0;
let bad = 0;
let lastArrivalMs = 0;
const add = (key) => {
  if (typeof key !== 'string') { bad += 1; return; }
  if (!seen.has(key)) { seen.add(key); lastArrivalMs = nowMs(); }
};
const server = http.createServer({ keepAlive: true }, (req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    requests += 1;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (Array.isArray(body.alerts)) for (const alert of body.alerts) add(alert?.labels?.key);
      else add(body?.item?.id);
    } catch { bad += 1; }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
parentPort.on('message', (message) => {
  if (message === 'stats') parentPort.postMessage({ stats: { distinct: seen.size, requests, bad, lastArrivalMs } });
  if (message === 'reset') { seen = new Set(); requests = 0; bad = 0; lastArrivalMs = 0; parentPort.postMessage({ reset: true }); }
  if (message === 'close') { server.closeAllConnections(); server.close(() => parentPort.postMessage({ closed: true })); }
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

export async function startAlertSink(): Promise<AlertSink> {
  const worker = new Worker(SINK_SOURCE, { eval: true });
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
    url: `http://127.0.0.1:${port}/alerts`,
    stats: () => ask('stats', 'stats'),
    reset: async () => {
      await ask<boolean>('reset', 'reset');
    },
    close: async () => {
      await ask<boolean>('closed', 'close');
      await worker.terminate();
    },
  };
}
