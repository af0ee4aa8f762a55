import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { applyPgMigrations } from '../../src/store/postgres/migrations.js';

/** The PostgreSQL the tests use (CI and this machine: trust auth on 127.0.0.1:5432). */
export const PG_ADMIN_URL = process.env.HOOKRELAY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  /** A URL for this database alone (what `HOOKRELAY_DB` gets). */
  url: string;
  name: string;
  /** pool opens a pool on it; every pool opened is closed by drop(). */
  pool(options?: pg.PoolConfig): pg.Pool;
  /** migrate applies the PostgreSQL engine's migrations (hookrelay_leases among them), as a start would. */
  migrate(): Promise<void>;
  /** drop closes the pools and drops the database (terminating sessions still connected, e.g. a killed serve's). */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** createTestDatabase makes a fresh database `hr_<random>` for one test file, dropped after. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `hr_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(PG_ADMIN_URL, name);
  const pools: pg.Pool[] = [];
  return {
    url,
    name,
    pool(options = {}) {
      const pool = new pg.Pool({ connectionString: url, max: 4, ...options });
      // An idle connection the server ends (drop() forces the database away while a pool is still
      // closing) is reported on the pool; unheard, it would be an unhandled error failing the run.
      pool.on('error', () => undefined);
      pools.push(pool);
      return pool;
    },
    async migrate() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await applyPgMigrations(client);
      } finally {
        await client.end();
      }
    },
    async drop() {
      await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
