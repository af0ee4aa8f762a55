/**
 * End-to-end latency (issue 4 §4): signed activity events POSTed at a fixed rate into a real
 * `hookrelay serve` whose one rule sends each of them to a webhook sink in this process; latency is the
 * sink's arrival time minus the moment the generator dispatched the POST. The POST round-trip of the
 * same requests is reported beside it: the alert latency minus that is what evaluation and delivery add.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchRequest, createRequestStream, type RequestStream } from './bodies.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import { type LoadResult, type LoadSpec, runLoad, summarise } from './load.js';
import { withoutPassword } from './pg-database.js';
import { freePort, indent, type ProcessSample, type ServerHandle, serveEnv, startServer } from './servers.js';
import { nowMs, type Sink, startSink } from './sink.js';

/** EndToEndOptions say what to start and how hard to push it. */
export interface EndToEndOptions {
  /** dist/src/main.js */
  mainJs: string;
  /** Where the rules file and database go (the caller removes it). */
  workDir: string;
  secret: string;
  load: Extract<LoadSpec, { kind: 'rate' }>;
  warmupMs: number;
  readyTimeoutMs: number;
  /** HOOKRELAY_DB; a fresh SQLite file in workDir when absent. */
  database?: string;
  /** Names the server, the rules file and the SQLite file apart when one workDir holds several runs. */
  label?: string;
  log: (line: string) => void;
  /** Called with the server once it is up, so the caller can stop it on Ctrl-C. */
  onServer: (server: ServerHandle) => void;
}

/** EndToEndRecord is the end-to-end part of latest.json. */
export interface EndToEndRecord {
  load: Extract<LoadSpec, { kind: 'rate' }>;
  /** `node dist/src/main.js serve` and its rules, for the record. */
  command: string;
  rules: string;
  /** POSTs dispatched in the measured run. */
  sent: number;
  /** Distinct alerts of the measured run that reached the sink. */
  received: number;
  /** Dispatched POSTs whose alert never reached the sink (after waiting for the queue to drain). */
  missing: number;
  /** Alerts that reached the sink more than once (at-least-once delivery allows it; it should be rare). */
  duplicates: number;
  /** Requests at the sink that were not an alert of this run (unparseable, or a user never sent). */
  unexpected: number;
  /** POST dispatch → alert fully received at the sink. */
  alertLatency: LatencySummary;
  /** POST dispatch → response fully received, for the same requests (the ingest part alone). */
  post: LoadResult;
  /** How long after the last POST the last alert arrived. */
  drainMs: number;
  /** Alerts received ÷ (first POST dispatched → last alert at the sink), in the measured run. */
  alertsPerSecond: number;
  /** Server CPU during the measured run, percent of one core, and its memory at the end. */
  serverCpuPercent?: number;
  server?: ProcessSample;
  /** Alerts of the unmeasured warm-up that never arrived (should be 0). */
  warmupMissing: number;
}

/** How long to wait for the next alert before declaring the rest missing. */
const DRAIN_IDLE_TIMEOUT_MS = 10_000;
const POLL_MS = 50;
const TRACKPILOTS_SOURCE = 'trackpilots';
const RULE_NAME = 'activity-to-sink';

/** rulesFor is the server's rules file: one source, one rule, one webhook destination at the sink. */
function rulesFor(secret: string, sinkUrl: string): string {
  return `# Written by npm run bench (end-to-end latency): every activity event becomes one alert at the sink.
version: 1
sources:
  ${TRACKPILOTS_SOURCE}:
    type: trackpilots
    secrets: ["${secret}"]
destinations:
  sink:
    type: webhook
    url: "${sinkUrl}"
    allowPrivateNetworks: true
    # No rate: block: a webhook destination is unpaced by default, with the default concurrency.
rules:
  - name: ${RULE_NAME}
    on: desktop.activity_tracking.captured
    to: [sink]
`;
}

/** runEndToEnd starts the sink and the server, measures, and stops both; it throws if the harness fails. */
export async function runEndToEnd(options: EndToEndOptions): Promise<EndToEndRecord> {
  const sink = await startSink({ path: '/hook', key: 'user', status: 204 });
  const label = options.label ?? 'e2e';
  const database = options.database ?? `sqlite:${join(options.workDir, `${label}.db`)}`;
  let server: ServerHandle | undefined;
  try {
    const rules = rulesFor(options.secret, sink.url);
    const rulesFile = join(options.workDir, `${label}-rules.yaml`);
    await writeFile(rulesFile, rules);
    const port = await freePort();
    const args = [options.mainJs, 'serve'];
    server = await startServer({
      name: `hookrelay serve (${label})`,
      args,
      port,
      env: serveEnv(port, rulesFile, database),
      readyPath: '/readyz',
      readyTimeoutMs: options.readyTimeoutMs,
    });
    options.onServer(server);
    options.log(`e2e: ${server.name} pid ${server.pid}, sink ${sink.url}`);
    const url = new URL(`/webhooks/${TRACKPILOTS_SOURCE}`, server.origin);

    // Warm-up at the same rate (JIT, SQLite pages, the sink connection), drained before the measured run
    // so its backlog, if any, cannot land in the measured figures.
    const warmSent = new Map<string, number>();
    const warmLoad = { ...options.load, durationMs: options.warmupMs };
    await runLoad(
      url,
      warmLoad,
      tracked(createRequestStream({ kind: 'activity', secret: options.secret }), warmSent),
    );
    const warm = await drain(sink, warmSent, server);
    await sink.reset();
    await sleep(300);

    const sent = new Map<string, number>();
    const before = server.sample();
    const wallBefore = performance.now();
    const run = await runLoad(
      url,
      options.load,
      tracked(createRequestStream({ kind: 'activity', secret: options.secret }), sent),
    );
    const after = server.sample();
    const wallSeconds = (performance.now() - wallBefore) / 1000;
    const lastSent = Math.max(...sent.values());
    const firstSent = Math.min(...sent.values());
    const arrivals = await drain(sink, sent, server);

    const latencies = new LatencyRecorder();
    let lastArrival = lastSent;
    for (const [user, sentAt] of sent) {
      const arrivedAt = arrivals.firstArrival.get(user);
      if (arrivedAt === undefined) continue;
      latencies.add(arrivedAt - sentAt);
      lastArrival = Math.max(lastArrival, arrivedAt);
    }
    const record: EndToEndRecord = {
      load: options.load,
      command: `node dist/src/main.js serve (LOG_LEVEL=warn, HOOKRELAY_DB=${options.database === undefined ? `sqlite:<tmp>/${label}.db` : withoutPassword(options.database)})`,
      rules,
      sent: sent.size,
      received: latencies.count,
      missing: sent.size - latencies.count,
      duplicates: arrivals.duplicates,
      unexpected: arrivals.unexpected,
      alertLatency: latencies.summary(),
      post: summarise([run]),
      drainMs: Math.round(lastArrival - lastSent),
      alertsPerSecond:
        lastArrival > firstSent ? Math.round(latencies.count / ((lastArrival - firstSent) / 1000)) : 0,
      warmupMissing: warm.missing,
    };
    if (before && after && wallSeconds > 0) {
      record.serverCpuPercent = Math.round(((after.cpuSeconds - before.cpuSeconds) / wallSeconds) * 100);
    }
    const sample = server.sample();
    if (sample) record.server = sample;
    return record;
  } finally {
    await server?.stop();
    await sink.close();
  }
}

/**
 * tracked records when each request leaves: load.ts takes a request from the stream immediately before
 * it dispatches it and starts its own round-trip timer, so both latencies start at the same moment.
 * Every body has its own user id (bodies.ts makes it a slot), which the alert carries as `user`.
 */
function tracked(stream: RequestStream, sent: Map<string, number>): RequestStream {
  return {
    next(): BenchRequest {
      const request = stream.next();
      const user = userOf(request.body);
      if (user === undefined) throw new Error('bench: an activity body without data.user.userId');
      sent.set(user, nowMs());
      return request;
    },
    get made() {
      return stream.made;
    },
  };
}

function userOf(body: Buffer): string | undefined {
  const payload: unknown = JSON.parse(body.toString('utf8'));
  const data = field(payload, 'data');
  const userId = field(field(data, 'user'), 'userId');
  return typeof userId === 'string' ? userId : undefined;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

interface Arrivals {
  firstArrival: Map<string, number>;
  duplicates: number;
  unexpected: number;
  missing: number;
}

/**
 * drain waits until every user in `sent` has an alert at the sink, or no new alert came for
 * DRAIN_IDLE_TIMEOUT_MS (the rest are then missing), and returns what arrived.
 */
async function drain(sink: Sink, sent: Map<string, number>, server: ServerHandle): Promise<Arrivals> {
  let lastCount = -1;
  let lastProgress = performance.now();
  for (;;) {
    const count = await sink.count();
    if (count >= sent.size) break;
    if (count !== lastCount) {
      lastCount = count;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > DRAIN_IDLE_TIMEOUT_MS) {
      break;
    }
    const status = server.exitStatus();
    if (status !== undefined) {
      throw new Error(
        `${server.name} died during the run (${status}). Its last output:\n${indent(server.outputTail())}`,
      );
    }
    await sleep(POLL_MS);
  }
  const snapshot = await sink.snapshot();
  const firstArrival = new Map<string, number>();
  let unexpected = snapshot.bad;
  for (const [user, at] of snapshot.arrivals) {
    if (sent.has(user)) firstArrival.set(user, at);
    else unexpected++;
  }
  return {
    firstArrival,
    duplicates: snapshot.duplicates,
    unexpected,
    missing: sent.size - firstArrival.size,
  };
}
