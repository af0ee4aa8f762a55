import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Where hookrelay's time goes, per stage, in µs per event (issue 14 §2). Reads the V8 CPU profiles
 * `node --cpu-prof` wrote for one hookrelay process (one file per thread: the main thread and the SQLite
 * writer thread) and the counts the bench saved beside them (`hookrelay-<pid>.counts.json`).
 *
 * Each sample is charged to the innermost frame on its stack that a rule below recognises, so a native
 * function (JSON.parse, an HMAC, a SQLite step) is charged to the stage that called it. The writer
 * thread's samples are all "writer thread". Idle samples are left out.
 *
 *   node dist/bench/peers/profile.js bench/results/profiles
 */

const CallFrame = z.object({ functionName: z.string(), url: z.string() });
const ProfileNode = z.object({
  id: z.number(),
  callFrame: CallFrame,
  children: z.array(z.number()).optional(),
});
const CpuProfile = z.object({
  nodes: z.array(ProfileNode),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
const Counts = z.object({
  pid: z.number(),
  label: z.string(),
  events: z.number(),
  deliveries: z.number(),
  /** Whole-process and main-thread CPU-seconds from /proc (utime + stime), start-up included. */
  cpuSeconds: z.number(),
  mainThreadCpuSeconds: z.number(),
});
export type Counts = z.infer<typeof Counts>;

export const STAGES = [
  'HTTP and sockets (node:http, Fastify, net, streams)',
  'ingest parse (body, JSON)',
  'verify (HMAC)',
  'normalise',
  'group commit hand-off (main thread)',
  'other threads (SQLite writer, libuv pool, GC helpers, the profiler)',
  'evaluator read-back',
  'evaluate (rules)',
  'outbox (enqueue, outcome writes)',
  'claim',
  'send (render, HTTP client)',
  'metrics, logging',
  'garbage collector',
  'other',
  'start-up (loading modules)',
] as const;
export type Stage = (typeof STAGES)[number];

/** stageOfFrame says which stage a frame belongs to, or undefined to look at its caller. */
export function stageOfFrame(url: string, fn: string): Stage | undefined {
  if (fn === '(garbage collector)') return 'garbage collector';
  if (url.startsWith('node:internal/modules/') || fn === 'compileSourceTextModule') {
    return 'start-up (loading modules)';
  }
  const src = /\/dist\/src\/(.*)\.js$/.exec(url)?.[1];
  if (src !== undefined) {
    if (src.startsWith('ingest/verify/')) return 'verify (HMAC)';
    if (src.startsWith('ingest/normalize/')) return 'normalise';
    if (src.startsWith('ingest/')) return 'ingest parse (body, JSON)';
    if (src === 'store/sqlite/outbox')
      return /claim|toClaimed/i.test(fn) ? 'claim' : 'outbox (enqueue, outcome writes)';
    if (src === 'store/sqlite/event-log' || src === 'store/sqlite/event-queries') {
      return /append/i.test(fn) ? 'group commit hand-off (main thread)' : 'evaluator read-back';
    }
    if (src === 'store/sqlite/evaluator-store' || src === 'evaluate/notifications')
      return 'outbox (enqueue, outcome writes)';
    // On the main thread writer.ts is the sending side of the hand-off (postMessage, structured clone).
    if (src.startsWith('store/')) return 'group commit hand-off (main thread)';
    if (src.startsWith('evaluate/') || src.startsWith('rules/')) return 'evaluate (rules)';
    if (src === 'deliver/lease' || /claim/i.test(fn)) return 'claim';
    if (src.startsWith('deliver/') || src.startsWith('destinations/') || src.startsWith('render/')) {
      return 'send (render, HTTP client)';
    }
    if (src === 'lib/safe-fetch') return 'send (render, HTTP client)';
    if (src === 'lib/metrics' || src === 'lib/log') return 'metrics, logging';
    return undefined;
  }
  if (url.includes('/node_modules/undici/')) return 'send (render, HTTP client)';
  if (url.includes('/node_modules/prom-client/') || url.includes('/node_modules/pino'))
    return 'metrics, logging';
  if (
    url.includes('/node_modules/fastify/') ||
    url.includes('/node_modules/find-my-way/') ||
    url.includes('/node_modules/avvio/') ||
    /^node:_http_|^node:http$|^node:net$|^node:stream|^node:internal\/streams/.test(url)
  ) {
    return 'HTTP and sockets (node:http, Fastify, net, streams)';
  }
  return undefined;
}

export type StageTimes = Record<Stage, number>;

function emptyTimes(): StageTimes {
  return Object.fromEntries(STAGES.map((stage) => [stage, 0])) as StageTimes;
}

/** stageTimes sums a profile's sampled time per stage, µs. `thread` forces every busy sample into one stage. */
export function stageTimes(profileJson: unknown, thread?: Stage): StageTimes {
  const profile = CpuProfile.parse(profileJson);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stageOfNode = new Map<number, Stage | 'idle'>();
  const resolve = (id: number): Stage | 'idle' => {
    const cached = stageOfNode.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id);
    let stage: Stage | 'idle';
    if (node === undefined) stage = 'other';
    else if (node.callFrame.functionName === '(idle)') stage = 'idle';
    else if (thread !== undefined && node.callFrame.functionName !== '(garbage collector)') stage = thread;
    else {
      const own = stageOfFrame(node.callFrame.url, node.callFrame.functionName);
      const up = parent.get(id);
      stage = own ?? (up === undefined ? 'other' : resolve(up));
    }
    stageOfNode.set(id, stage);
    return stage;
  };
  const times = emptyTimes();
  for (let i = 0; i < profile.samples.length; i++) {
    const stage = resolve(profile.samples[i] as number);
    // A sample's time is the delta to the next sample.
    const delta = profile.timeDeltas[i + 1] ?? 0;
    if (stage !== 'idle') times[stage] += delta;
  }
  return times;
}

/**
 * ProcessBreakdown is one profiled hookrelay process: CPU µs per event per stage. A profile's sample
 * deltas are wall time while the thread was not idle, which on a busy host includes time the thread
 * waited for a CPU; so the main thread's stage shares are scaled to the CPU-seconds /proc says it used.
 * The other threads are one figure, from /proc: a blocked fsync looks busy in the writer's profile, and
 * V8's sampler thread (profiling's own cost) is among them, so the unprofiled runs' main-thread and
 * whole-process CPU per request (the ingest table) are the figures to compare. Start-up is left out of
 * the per-event total.
 */
export interface ProcessBreakdown {
  counts: Counts;
  files: string[];
  /** CPU µs per event, start-up excluded. */
  totalUs: number;
  perEventUs: Record<Stage, number>;
}

/** breakdowns reads every `hookrelay-<pid>.counts.json` in dir and the profiles of that pid. */
export function breakdowns(dir: string): ProcessBreakdown[] {
  const names = readdirSync(dir);
  const result: ProcessBreakdown[] = [];
  for (const name of names.filter((n) => n.endsWith('.counts.json'))) {
    const counts = Counts.parse(JSON.parse(readFileSync(join(dir, name), 'utf8')));
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
    const files = names.filter((n) =>
      new RegExp(`^CPU\\.\\d+\\.\\d+\\.${counts.pid}\\.\\d+\\.\\d+\\.cpuprofile$`).test(n),
    );
    const main = emptyTimes();
    const others = emptyTimes();
    for (const file of files) {
      const threadId = Number(file.split('.')[4]);
      const json: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const t = stageTimes(
        json,
        threadId === 0 ? undefined : 'other threads (SQLite writer, libuv pool, GC helpers, the profiler)',
      );
      const into = threadId === 0 ? main : others;
      for (const stage of STAGES) into[stage] += t[stage];
    }
    const sum = (times: StageTimes) => STAGES.reduce((total, stage) => total + times[stage], 0);
    const mainScale = (counts.mainThreadCpuSeconds * 1e6) / Math.max(1, sum(main));
    // Every busy sample of another thread is in the one "other threads" stage, so this is their CPU.
    const otherScale = ((counts.cpuSeconds - counts.mainThreadCpuSeconds) * 1e6) / Math.max(1, sum(others));
    const perEvent = Math.max(1, counts.events);
    const perEventUs = Object.fromEntries(
      STAGES.map((stage) => [
        stage,
        Math.round(((main[stage] * mainScale + others[stage] * otherScale) / perEvent) * 10) / 10,
      ]),
    ) as Record<Stage, number>;
    const totalUs =
      Math.round(
        STAGES.filter((stage) => stage !== 'start-up (loading modules)').reduce(
          (total, stage) => total + perEventUs[stage],
          0,
        ) * 10,
      ) / 10;
    result.push({ counts, files, totalUs, perEventUs });
  }
  return result;
}

/** formatBreakdowns: one Markdown table, a column per profiled process. */
export function formatBreakdowns(list: ProcessBreakdown[]): string {
  if (list.length === 0) {
    return 'No hookrelay-<pid>.counts.json found: run npm run bench -- --peers --profile first.\n';
  }
  const n = (value: number) => value.toLocaleString('en-US');
  const header = `| stage (CPU µs per event) | ${list.map((b) => `${b.counts.label}: ${n(b.counts.events)} events, ${n(b.counts.deliveries)} delivered`).join(' | ')} |`;
  const rows = STAGES.map((stage) => `| ${stage} | ${list.map((b) => b.perEventUs[stage]).join(' | ')} |`);
  const total = `| **total without start-up** | ${list.map((b) => `**${b.totalUs}**`).join(' | ')} |`;
  return `${[header, `|---|${list.map(() => '---|').join('')}`, ...rows, total].join('\n')}\n`;
}

if (process.argv[1]?.endsWith('/peers/profile.js')) {
  const dir = process.argv[2] ?? 'bench/results/profiles';
  process.stdout.write(formatBreakdowns(breakdowns(dir)));
}
