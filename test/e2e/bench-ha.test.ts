import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runHa } from '../../bench/ha.js';
import { splitConnections } from '../../bench/ha-ingest.js';
import { type HaScenario, SCENARIOS } from '../../bench/scenarios.js';
import type { ServerHandle } from '../../bench/servers.js';
import { PG_ADMIN_URL } from '../helpers/pg-database.js';
import { MAIN } from '../helpers/server-process.js';

/*
 * The several-instance part of `npm run bench` (issue 11 §6) runs end to end: the real built
 * `hookrelay serve` on SQLite and 1, 2 and 3 of them on fresh PostgreSQL databases, the bench's own load
 * generator, sink and lease holders, at tiny sizes. It checks that the record is well formed (every
 * configuration answered, every instance got load, no error, every alert arrived, failovers measured),
 * never how fast anything was.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RULES = `version: 1
sources:
  bench:
    type: trackpilots
    secrets: ["bench-ha-secret"]
destinations: {}
rules: []
`;

let dir: string;
const servers: ServerHandle[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookrelay-bench-ha-'));
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await rm(dir, { recursive: true, force: true });
});

async function benchDatabases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    const result = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'hr_bench_%'",
    );
    return result.rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

describe('bench: several instances on PostgreSQL', () => {
  test('connections are shared out over the instances, all of them used', () => {
    expect(splitConnections(50, 1)).toEqual([50]);
    expect(splitConnections(50, 2)).toEqual([25, 25]);
    expect(splitConnections(50, 3)).toEqual([17, 17, 16]);
  });

  test('the ha-* scenarios in quick mode produce a well-formed record and leave no database behind', async () => {
    const before = new Set(await benchDatabases());
    const scenarios = SCENARIOS.filter((s): s is HaScenario => s.kind.startsWith('ha-'));
    expect(scenarios.map((s) => s.name)).toEqual(['ha-ingest', 'ha-e2e', 'ha-failover']);
    const record = await runHa(scenarios, {
      mainJs: MAIN,
      workDir: dir,
      secret: 'bench-ha-secret',
      rulesYaml: RULES,
      quick: true,
      // Far shorter than --quick: a 10 s run becomes 0.5 s over two rounds (the floor is 0.3 s a slice).
      quickScale: 0.05,
      warmupMs: 1_000,
      readyTimeoutMs: 30_000,
      rounds: 2,
      pgAdminUrl: PG_ADMIN_URL,
      holderJs: join(ROOT, 'dist/bench/lease-holder.js'),
      log: () => undefined,
      onServer: (server) => servers.push(server),
      phaseEnd: () => ({ loadAverage1m: 0 }),
    });
    expect(record.skipped).toBeUndefined();

    const rows = record.ingest?.rows ?? [];
    expect(rows.map((r) => [r.engine, r.instances])).toEqual([
      ['sqlite', 1],
      ['postgres', 1],
      ['postgres', 2],
      ['postgres', 3],
    ]);
    for (const row of rows) {
      expect(row.run.rps, row.label).toBeGreaterThan(0);
      expect(row.run.non2xx + row.run.errors + row.run.warmupFailures, row.label).toBe(0);
      expect(row.okPerInstance, row.label).toHaveLength(row.instances);
      for (const ok of row.okPerInstance) expect(ok, row.label).toBeGreaterThan(0);
      expect(row.connections.reduce((a, b) => a + b, 0)).toBe(record.ingest?.load.connections);
      expect(row.roundRps).toHaveLength(2);
      expect(row.ratioToSqlite, row.label).toBeGreaterThan(0);
    }
    expect(rows[0]?.ratioToSqlite).toBe(1);
    // The database's own CPU is read for the PostgreSQL rows (its backends run on this machine), not for SQLite.
    expect(rows[0]?.postgresCpuPercent).toBeUndefined();
    for (const row of rows.slice(1)) expect(row.postgresCpuUsPerRequest, row.label).toBeGreaterThanOrEqual(0);

    const e2e = record.endToEnd;
    expect(e2e).toBeDefined();
    for (const run of [e2e?.sqlite, e2e?.postgres]) {
      expect(run?.sent).toBeGreaterThan(0);
      expect(run?.missing).toBe(0);
      expect(run?.warmupMissing).toBe(0);
      expect(run?.post.non2xx).toBe(0);
      expect(run?.alertsPerSecond).toBeGreaterThan(0);
    }
    expect(e2e?.postgres.command).toContain('postgres://');
    expect(e2e?.sqlite.command).toContain('sqlite:');

    const failover = record.failover;
    expect(failover?.rows.map((r) => [r.label, r.timesMs.length])).toEqual([
      ['kill -9', 2],
      ['SIGTERM', 2],
    ]);
    for (const row of failover?.rows ?? []) {
      expect(row.medianMs).toBeGreaterThan(0);
      expect(row.minMs).toBeLessThanOrEqual(row.medianMs);
      expect(row.maxMs).toBeGreaterThanOrEqual(row.medianMs);
    }

    const after = await benchDatabases();
    expect(after.filter((name) => !before.has(name))).toEqual([]);
  }, 180_000);

  test('without PostgreSQL the ha-* scenarios are skipped with the reason, not failed', async () => {
    const scenarios = SCENARIOS.filter((s): s is HaScenario => s.kind.startsWith('ha-'));
    const record = await runHa(scenarios, {
      mainJs: MAIN,
      workDir: dir,
      secret: 'bench-ha-secret',
      rulesYaml: RULES,
      quick: true,
      quickScale: 0.05,
      warmupMs: 1_000,
      readyTimeoutMs: 30_000,
      rounds: 2,
      // Port 1 on 127.0.0.1: nothing listens there.
      pgAdminUrl: 'postgres://postgres@127.0.0.1:1/test',
      log: () => undefined,
      onServer: (server) => servers.push(server),
      phaseEnd: () => ({ loadAverage1m: 0 }),
    });
    expect(record.skipped).toContain('no PostgreSQL at postgres://postgres@127.0.0.1:1/test');
    expect(record.ingest).toBeUndefined();
  });
});
