import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/*
 * Evaluator failover on PostgreSQL: two lease holders (bench/lease-holder.ts, the loop `hookrelay serve`
 * runs, with its default timing) on one lease row; the leader is killed (`kill -9`, or SIGTERM) and the
 * time until the standby leads is measured from this process. Repeated; the median is printed.
 *   npm run build && node dist/bench/failover.js [rounds] [--url postgres://…]
 * and, the same measurement, in `npm run bench -- --only ha-failover` (runFailover).
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const HOLDER_JS = join(HERE, 'lease-holder.js');

export interface Holder {
  child: ChildProcess;
  name: string;
  /** Resolves when the process prints an event line matching `event` (and, when given, that term). */
  next(event: string): Promise<{ term: number; at: number }>;
  exited: Promise<void>;
}

/** spawnHolder starts one lease holder against `url` (the built dist/bench/lease-holder.js by default). */
export function spawnHolder(url: string, name: string, holderJs: string = HOLDER_JS): Holder {
  const child = spawn(process.execPath, [holderJs], {
    env: { PATH: process.env.PATH ?? '', HOOKRELAY_DB: url, HOLDER: name },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen: Array<{ event: string; term: number; at: number }> = [];
  const waiters: Array<{ event: string; resolve: (line: { term: number; at: number }) => void }> = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = JSON.parse(buffered.slice(0, nl)) as { event: string; term: number; at: number };
      buffered = buffered.slice(nl + 1);
      const waiter = waiters.findIndex((w) => w.event === line.event);
      if (waiter >= 0) waiters.splice(waiter, 1)[0]?.resolve(line);
      else seen.push(line);
    }
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    name,
    exited,
    next(event) {
      const index = seen.findIndex((line) => line.event === event);
      if (index >= 0) return Promise.resolve(seen.splice(index, 1)[0] as { term: number; at: number });
      return new Promise((resolve) => waiters.push({ event, resolve }));
    },
  };
}

/** measureFailover kills the leader of a fresh pair with `signal` and returns ms until the standby leads. */
export async function measureFailover(
  url: string,
  signal: NodeJS.Signals,
  round: number,
  holderJs: string = HOLDER_JS,
): Promise<number> {
  const a = spawnHolder(url, `a${round}`, holderJs);
  await a.next('leader');
  const b = spawnHolder(url, `b${round}`, holderJs);
  await b.next('started');
  // At a random point of the renew and poll cycles, as a real crash would be.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 1_000));
  const killedAt = performance.now();
  a.child.kill(signal);
  await b.next('leader');
  const elapsed = performance.now() - killedAt;
  await a.exited;
  b.child.kill('SIGTERM');
  await b.exited;
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** FailoverRow is the failovers measured for one way of stopping the leader. */
export interface FailoverRow {
  signal: 'SIGKILL' | 'SIGTERM';
  /** How the leader was stopped, as the README says it. */
  label: 'kill -9' | 'SIGTERM';
  /** ms from the signal until the standby led, per round, in the order measured. */
  timesMs: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
}

export interface FailoverOptions {
  /** A PostgreSQL database; the lease table goes into a schema of its own, dropped afterwards. */
  url: string;
  rounds: number;
  /** The built lease holder; dist/bench/lease-holder.js beside this file by default. */
  holderJs?: string;
  log?: (line: string) => void;
}

/**
 * runFailover measures `rounds` failovers after `kill -9` of the leader, then `rounds` handovers after
 * SIGTERM, each with a fresh pair of lease holders on an empty lease table.
 */
export async function runFailover(options: FailoverOptions): Promise<FailoverRow[]> {
  const schema = `hr_failover_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: options.url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(
    `CREATE TABLE ${schema}.hookrelay_leases (name text PRIMARY KEY, holder text NOT NULL, term bigint NOT NULL, expires_at timestamptz NOT NULL)`,
  );
  // The holders see only this schema's table.
  const scoped = new URL(options.url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  const rows: FailoverRow[] = [];
  try {
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const times: number[] = [];
      for (let round = 0; round < options.rounds; round += 1) {
        await admin.query(`DELETE FROM ${schema}.hookrelay_leases`);
        times.push(Math.round(await measureFailover(scoped.toString(), signal, round, options.holderJs)));
        options.log?.(`failover ${signal} round ${round + 1}: ${times[times.length - 1]} ms`);
      }
      rows.push({
        signal,
        label: signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM',
        timesMs: times,
        medianMs: Math.round(median(times)),
        minMs: Math.min(...times),
        maxMs: Math.max(...times),
      });
    }
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
  return rows;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const urlAt = args.indexOf('--url');
  const url = urlAt >= 0 ? (args[urlAt + 1] ?? '') : 'postgres://postgres@127.0.0.1:5432/test';
  const rounds = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 5);
  for (const row of await runFailover({ url, rounds })) {
    console.log(`${row.label}: median ${row.medianMs} ms over ${rounds} (${row.timesMs.join(', ')})`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
