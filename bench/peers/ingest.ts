import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SampleKind } from '../../src/cli/send-samples.js';
import { threadCpuSeconds } from '../proc.js';
import { assertAlive, type ServerHandle } from '../servers.js';
import {
  metricSum,
  type Started,
  saveProfileCounts,
  startBaseline,
  startHookrelay,
  startWebhook,
} from './processes.js';
import { addThreadDeltas, median, type Usage, usageBetween } from './usage.js';
import { runWrk, type WrkResult, writePool } from './wrk.js';

/**
 * Ingest beside adnanh/webhook (issue 14 §1): the same signed requests, wrk -c32, in interleaved rounds
 * (webhook, baseline, hookrelay, then hookrelay, baseline, webhook, …), so other work on a shared host
 * lands on all three. The third system is the bare node:http baseline of `npm run bench` (it verifies and
 * stores nothing): the most any Node HTTP server reaches here, the ceiling under the 1.5× target.
 */

export interface PeerIngestScenario {
  name: string;
  title: string;
  kind: SampleKind;
  items: number;
  eventType: string;
  /** Requests per second a pool is sized for before any round has been measured. */
  initialPoolRps: number;
}

export const PEER_INGEST_SCENARIOS: PeerIngestScenario[] = [
  {
    name: 'peer-ingest-activity',
    title: 'signed 1-item activity events',
    kind: 'activity',
    items: 1,
    eventType: 'desktop.activity_tracking.captured',
    initialPoolRps: 25_000,
  },
  {
    name: 'peer-ingest-batch',
    title: 'signed 12-item app batches',
    kind: 'app',
    items: 12,
    eventType: 'desktop.app_tracking.captured',
    initialPoolRps: 5_000,
  },
];

export interface IngestSide {
  command: string;
  /** Median over rounds of 2xx answers per second. */
  rps: number;
  itemsPerSecond: number;
  /** Median over rounds. */
  p99Ms: number;
  roundRps: number[];
  /** The server's CPU over all measured rounds, µs per answered request, and percent of one core. */
  cpuUsPerRequest: number;
  /** The same for the main thread alone (/proc/<pid>/task/<pid>/stat), where Linux reports it. */
  mainThreadUsPerRequest?: number;
  /**
   * The busiest thread other than the main one, µs per request: for hookrelay the SQLite writer thread
   * (the libuv pool and V8's helper threads each use a tenth of it).
   */
  busiestOtherThreadUsPerRequest?: number;
  cpuPercent: number;
  peakRssMb: number;
  non2xx: number;
  errors: number;
  /** Pool wrap-rounds (repeated bodies); should be 0, but for the baseline, which may wrap (it deduplicates nothing). */
  wraps: number;
}

export interface IngestComparison {
  name: string;
  title: string;
  items: number;
  connections: number;
  roundSeconds: number;
  rounds: number;
  webhook: IngestSide;
  /** The bare node:http server (bench/baseline-server.ts). */
  baseline: IngestSide;
  hookrelay: IngestSide;
  /** hookrelay's requests per durable group commit over the measured rounds (from its /metrics). */
  requestsPerCommit?: number;
  /** hookrelay ÷ webhook of the medians, and per round. */
  ratio: number;
  roundRatios: number[];
  /** baseline ÷ webhook and hookrelay ÷ baseline of the medians. */
  baselineOverWebhook: number;
  hookrelayOverBaseline: number;
}

export interface IngestOptions {
  wrk: string;
  webhook: string;
  workDir: string;
  secret: string;
  connections: number;
  roundSeconds: number;
  warmupSeconds: number;
  rounds: number;
  profileDir?: string;
  log: (line: string) => void;
  onServer: (server: ServerHandle) => void;
}

export async function compareIngest(
  scenario: PeerIngestScenario,
  options: IngestOptions,
): Promise<IngestComparison> {
  const peer = await startWebhook(options.webhook, options.workDir, options.secret, scenario.eventType);
  options.onServer(peer.server);
  const baseline = await startBaseline();
  options.onServer(baseline.server);
  const hookrelay = await startHookrelay({
    workDir: options.workDir,
    secret: options.secret,
    label: scenario.name,
    ...(options.profileDir === undefined ? {} : { profileDir: options.profileDir }),
  });
  options.onServer(hookrelay.server);
  options.log(
    `${scenario.name}: adnanh/webhook pid ${peer.server.pid}, node:http baseline pid ${baseline.server.pid}, hookrelay pid ${hookrelay.server.pid}`,
  );
  const poolFile = join(options.workDir, 'pool.txt');
  const lastRps = new Map<Started, number>();
  const load = async (side: Started, seconds: number): Promise<WrkResult> => {
    // The baseline neither verifies nor deduplicates, so a body it sees twice costs it nothing more; its
    // pool is sized like adnanh/webhook's (a 12-item pool at its tens of thousands of req/s would be
    // gigabytes), and it may wrap.
    const rps = lastRps.get(side === baseline ? peer : side) ?? scenario.initialPoolRps;
    // 3× the last rate (a warm server can be much faster than a cold one), so the pool outlasts the
    // round without repeating a body.
    await writePool(poolFile, Math.ceil(Math.max(rps * 3, scenario.initialPoolRps / 5) * seconds), {
      kind: scenario.kind,
      secret: options.secret,
      items: scenario.items,
    });
    const result = await runWrk({
      wrk: options.wrk,
      url: side.url,
      poolFile,
      workDir: options.workDir,
      connections: options.connections,
      durationSec: seconds,
    });
    lastRps.set(side, result.rps);
    assertAlive(side.server);
    return result;
  };
  try {
    const sides = [peer, baseline, hookrelay];
    for (const side of sides) await load(side, options.warmupSeconds);
    const results = new Map<Started, WrkResult[]>(sides.map((side) => [side, []]));
    const usage = new Map<Started, Usage[]>(sides.map((side) => [side, []]));
    const threads = new Map<Started, Map<number, number>>(sides.map((side) => [side, new Map()]));
    const commits = async () => ({
      commits: await metricSum(hookrelay.server.origin, 'hookrelay_store_append_commits_total'),
      appends: await metricSum(hookrelay.server.origin, 'hookrelay_store_appends_committed_total'),
    });
    const commitsBefore = await commits();
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const before = side.server.sample();
        const threadsBefore = threadCpuSeconds(side.server.pid);
        const started = performance.now();
        const result = await load(side, options.roundSeconds);
        const used = usageBetween(before, side.server.sample(), (performance.now() - started) / 1000);
        addThreadDeltas(threads.get(side) ?? new Map(), threadsBefore, threadCpuSeconds(side.server.pid));
        results.get(side)?.push(result);
        if (used) usage.get(side)?.push(used);
        options.log(
          `${scenario.name} round ${round + 1}: ${side.server.name} ${result.rps.toLocaleString('en-US')} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.non2xx} non-2xx, ${result.errors} errors`,
        );
        await sleep(300);
      }
    }
    const summarise = (side: Started): IngestSide => {
      const runs = results.get(side) ?? [];
      const used = usage.get(side) ?? [];
      const rps = Math.round(median(runs.map((r) => r.rps)));
      const cpuSeconds = used.reduce((sum, u) => sum + u.cpuSeconds, 0);
      const mainSeconds = used.reduce((sum, u) => sum + (u.mainThreadCpuSeconds ?? Number.NaN), 0);
      const wall = used.reduce((sum, u) => sum + u.wallSeconds, 0);
      const answered = runs.reduce((sum, r) => sum + r.requests - r.non2xx, 0);
      const others = [...(threads.get(side) ?? new Map<number, number>())]
        .filter(([tid]) => tid !== side.server.pid)
        .map(([, seconds]) => seconds);
      const busiest = others.length > 0 ? Math.max(...others) : Number.NaN;
      const sample = side.server.sample();
      return {
        command: side.command,
        rps,
        itemsPerSecond: rps * scenario.items,
        p99Ms: median(runs.map((r) => r.p99Ms)),
        roundRps: runs.map((r) => r.rps),
        cpuUsPerRequest: answered > 0 ? Math.round((cpuSeconds * 1e6) / answered) : 0,
        ...(Number.isFinite(mainSeconds) && answered > 0
          ? { mainThreadUsPerRequest: Math.round((mainSeconds * 1e6) / answered) }
          : {}),
        ...(Number.isFinite(busiest) && answered > 0
          ? { busiestOtherThreadUsPerRequest: Math.round((busiest * 1e6) / answered) }
          : {}),
        cpuPercent: wall > 0 ? Math.round((cpuSeconds / wall) * 100) : 0,
        peakRssMb: sample ? Math.round(sample.peakRssBytes / 1024 / 1024) : Number.NaN,
        non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
        wraps: runs.reduce((sum, r) => sum + r.wraps, 0),
      };
    };
    const commitsAfter = await commits();
    const commitCount = commitsAfter.commits - commitsBefore.commits;
    const webhookSide = summarise(peer);
    const baselineSide = summarise(baseline);
    const hookrelaySide = summarise(hookrelay);
    const peerRuns = results.get(peer) ?? [];
    const ourRuns = results.get(hookrelay) ?? [];
    return {
      name: scenario.name,
      title: scenario.title,
      items: scenario.items,
      connections: options.connections,
      roundSeconds: options.roundSeconds,
      rounds: options.rounds,
      webhook: webhookSide,
      baseline: baselineSide,
      hookrelay: hookrelaySide,
      ...(commitCount > 0
        ? {
            requestsPerCommit:
              Math.round(((commitsAfter.appends - commitsBefore.appends) / commitCount) * 10) / 10,
          }
        : {}),
      ratio: round2(webhookSide.rps > 0 ? hookrelaySide.rps / webhookSide.rps : 0),
      roundRatios: ourRuns.map((r, i) => round2(r.rps / Math.max(1, peerRuns[i]?.rps ?? 0))),
      baselineOverWebhook: round2(webhookSide.rps > 0 ? baselineSide.rps / webhookSide.rps : 0),
      hookrelayOverBaseline: round2(baselineSide.rps > 0 ? hookrelaySide.rps / baselineSide.rps : 0),
    };
  } finally {
    if (options.profileDir !== undefined && hookrelay.server.exitStatus() === undefined) {
      await saveProfileCounts(hookrelay, options.profileDir, `ingest, ${scenario.title}`);
    }
    await Promise.all([peer.server.stop(), baseline.server.stop(), hookrelay.server.stop()]);
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
