import { randomBytes } from 'node:crypto';
import pg from 'pg';

/*
 * A fresh PostgreSQL database per bench run (as test/helpers/pg-database.ts does for tests): the HA
 * figures start from empty tables each time, and nothing of a run is left behind.
 */

/** withoutPassword keeps a database URL's password out of what the bench prints and records. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** PG_ADMIN_URL is where bench databases are created: HOOKRELAY_BENCH_PG, or the local test server. */
export const PG_ADMIN_URL = process.env.HOOKRELAY_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchDatabase {
  /** A URL for this database alone (what HOOKRELAY_DB gets). */
  url: string;
  name: string;
  /** drop drops the database, ending sessions still connected to it (a killed serve's). */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** pgUnavailable says why PostgreSQL at `adminUrl` cannot be used, or undefined when it answers. */
export async function pgUnavailable(adminUrl: string = PG_ADMIN_URL): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** createBenchDatabase makes `hr_bench_<random>`; the caller drops it. */
export async function createBenchDatabase(adminUrl: string = PG_ADMIN_URL): Promise<BenchDatabase> {
  const name = `hr_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, name),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
