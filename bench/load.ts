import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import type { RequestStream } from './bodies.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';

/**
 * LoadSpec says how hard to push. `max` is closed-loop: each connection sends its next request as soon
 * as the previous answer arrives, so req/s is the server's capacity. `rate` is open-loop: requests
 * leave on a fixed schedule whatever the server does, so latency is what a sender at that rate sees.
 */
export type LoadSpec =
  | { kind: 'max'; connections: number; durationMs: number }
  | { kind: 'rate'; rps: number; connections: number; durationMs: number };

/** LoadResult summarises one or more runs of the same load against one server. */
export interface LoadResult {
  /** Responses received, any status. */
  responses: number;
  ok2xx: number;
  non2xx: number;
  /** Socket errors and timeouts (no response at all). */
  errors: number;
  statusCounts: Record<string, number>;
  /** The first non-2xx answer or error, to say why a run failed. */
  firstFailure?: string;
  durationSec: number;
  /** 2xx responses per second. */
  rps: number;
  latency: LatencySummary;
  /** Rate runs: how late (ms, p99) the generator sent against its schedule; large means it fell behind. */
  sendLagP99Ms?: number;
  /** CPU the load generator (this process) used, percent of one core. */
  generatorCpuPercent: number;
}

/** LoadRun is the raw outcome of one run, kept whole so several runs can be pooled exactly. */
export interface LoadRun {
  ok2xx: number;
  errors: number;
  statusCounts: Record<string, number>;
  firstFailure?: string;
  durationSec: number;
  latencies: LatencyRecorder;
  lags?: LatencyRecorder;
  generatorCpuSeconds: number;
  wallSeconds: number;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** runLoad drives `url` (must be 127.0.0.1) with requests from `stream` as `spec` says, then stops. */
export async function runLoad(url: URL, spec: LoadSpec, stream: RequestStream): Promise<LoadRun> {
  if (url.hostname !== '127.0.0.1') throw new Error(`the bench only loads 127.0.0.1, not ${url.hostname}`);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const run = spec.kind === 'max' ? await runMax(url, spec, stream) : await runRate(url, spec, stream);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    ...run,
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds: (performance.now() - wallBefore) / 1000,
  };
}

/** summarise pools runs of the same load against the same server into one result. */
export function summarise(runs: LoadRun[]): LoadResult {
  const latencies = new LatencyRecorder();
  const lags = new LatencyRecorder();
  const statusCounts: Record<string, number> = {};
  let ok2xx = 0;
  let errors = 0;
  let durationSec = 0;
  let generatorCpuSeconds = 0;
  let wallSeconds = 0;
  let firstFailure: string | undefined;
  for (const run of runs) {
    latencies.addAll(run.latencies);
    if (run.lags) lags.addAll(run.lags);
    for (const [status, count] of Object.entries(run.statusCounts)) {
      statusCounts[status] = (statusCounts[status] ?? 0) + count;
    }
    ok2xx += run.ok2xx;
    errors += run.errors;
    durationSec += run.durationSec;
    generatorCpuSeconds += run.generatorCpuSeconds;
    wallSeconds += run.wallSeconds;
    firstFailure ??= run.firstFailure;
  }
  const responses = Object.values(statusCounts).reduce((a, b) => a + b, 0);
  const result: LoadResult = {
    responses,
    ok2xx,
    non2xx: responses - ok2xx,
    errors,
    statusCounts,
    durationSec: Math.round(durationSec * 1000) / 1000,
    rps: durationSec > 0 ? Math.round(ok2xx / durationSec) : 0,
    latency: latencies.summary(),
    generatorCpuPercent: wallSeconds > 0 ? Math.round((generatorCpuSeconds / wallSeconds) * 100) : 0,
  };
  if (firstFailure !== undefined) result.firstFailure = firstFailure;
  if (lags.count > 0) result.sendLagP99Ms = lags.summary().p99;
  return result;
}

type PartialRun = Omit<LoadRun, 'generatorCpuSeconds' | 'wallSeconds'>;

/*
 * Closed loop with autocannon: it writes pre-encoded requests on raw sockets, which drives a bare
 * node:http server harder than an undici client can from one core, so the baseline is less likely to
 * be limited by the generator. Its fixed-rate mode sends each second's quota in a burst, though, which
 * is why the rate runs use runRate below.
 */
async function runMax(
  url: URL,
  spec: Extract<LoadSpec, { kind: 'max' }>,
  stream: RequestStream,
): Promise<PartialRun> {
  const latencies = new LatencyRecorder();
  let ok2xx = 0;
  let firstFailure: string | undefined;
  const instance = autocannon({
    url: url.origin,
    connections: spec.connections,
    duration: spec.durationMs / 1000,
    timeout: REQUEST_TIMEOUT_MS / 1000,
    requests: [
      {
        method: 'POST',
        path: url.pathname,
        setupRequest: (request) => {
          const next = stream.next();
          return { ...request, body: next.body, headers: next.headers };
        },
        onResponse: (status, body) => {
          if ((status < 200 || status >= 300) && firstFailure === undefined) {
            firstFailure = `${status} ${body.slice(0, 300)}`;
          }
        },
      },
    ],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    latencies.add(responseTimeMs);
    if (statusCode >= 200 && statusCode < 300) ok2xx++;
  });
  instance.on('reqError', (error) => {
    firstFailure ??= `request error: ${error.message}`;
  });
  const result = await instance;
  const statusCounts: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats))
    statusCounts[status] = Number(count);
  return {
    ok2xx,
    errors: result.errors,
    statusCounts,
    ...(firstFailure === undefined ? {} : { firstFailure }),
    durationSec: result.duration,
    latencies,
  };
}

/*
 * Open loop with undici: a 1 ms timer works out how many requests are due by now and dispatches them.
 * Latency is timed from dispatch, and a request waiting for a free connection is timed from then too,
 * so a server stall shows up in the figures instead of silently slowing the sender (coordinated
 * omission). The timer's own lateness is reported as sendLagP99Ms.
 */
async function runRate(
  url: URL,
  spec: Extract<LoadSpec, { kind: 'rate' }>,
  stream: RequestStream,
): Promise<PartialRun> {
  const pool = new Pool(url.origin, {
    connections: spec.connections,
    pipelining: 1,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const latencies = new LatencyRecorder();
  const lags = new LatencyRecorder();
  const statusCounts: Record<string, number> = {};
  let ok2xx = 0;
  let errors = 0;
  let firstFailure: string | undefined;
  let lastDone = 0;
  const inFlight = new Set<Promise<void>>();
  const total = Math.round((spec.rps * spec.durationMs) / 1000);
  const intervalMs = 1000 / spec.rps;

  const fire = (): void => {
    const { body, headers } = stream.next();
    const started = performance.now();
    const done = pool
      .request({ method: 'POST', path: url.pathname, headers, body })
      .then(async (response) => {
        const status = response.statusCode;
        const ok = status >= 200 && status < 300;
        // Read the body either way: the timing covers the whole response, as autocannon's does.
        let text = '';
        if (ok) await response.body.dump();
        else text = await response.body.text();
        lastDone = performance.now();
        latencies.add(lastDone - started);
        statusCounts[status] = (statusCounts[status] ?? 0) + 1;
        if (ok) ok2xx++;
        else firstFailure ??= `${status} ${text.slice(0, 300)}`;
      })
      .catch((error: unknown) => {
        errors++;
        firstFailure ??= `request error: ${error instanceof Error ? error.message : String(error)}`;
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  // Open every connection before the clock starts. A sender at a steady rate keeps its connections alive;
  // without this each measured slice would start with 50 TCP handshakes in its first milliseconds, and that
  // burst alone is about 1% of a 2.5 s slice (the baseline shows it too), enough to set the p99.
  await Promise.all(
    Array.from({ length: spec.connections }, () =>
      pool.request({ method: 'GET', path: '/healthz' }).then((response) => response.body.dump()),
    ),
  );
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
      while (sent < due) {
        lags.add(now - (start + sent * intervalMs));
        fire();
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  await pool.close();

  return {
    ok2xx,
    errors,
    statusCounts,
    ...(firstFailure === undefined ? {} : { firstFailure }),
    durationSec: Math.max(lastDone - start, 1) / 1000,
    latencies,
    lags,
  };
}
