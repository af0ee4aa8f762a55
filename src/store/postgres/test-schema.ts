import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteIdent } from './pool.js';

/** The PostgreSQL the engine's tests run against (trust auth in CI). */
export const TEST_PG_URL = process.env['HOOKRELAY_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * TestSchemas hands out fresh, empty schemas (`hr_test_<random>`) on the test database, one per store a
 * test opens, and drops every one of them at `dropAll`. Tests of one file never see each other's rows.
 */
export class TestSchemas {
  private readonly created: string[] = [];

  /** create makes a new schema; `padTo` lengthens its name to that many characters (names up to 63). */
  async create(padTo = 0): Promise<string> {
    const name = `hr_test_${randomBytes(6).toString('hex')}`.padEnd(padTo, 'x');
    await this.admin(`CREATE SCHEMA ${quoteIdent(name)}`);
    this.created.push(name);
    return name;
  }

  async dropAll(): Promise<void> {
    const names = this.created.splice(0);
    for (const name of names) await this.admin(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
  }

  /** admin runs one statement on a connection of its own (outside any store's pool). */
  async admin(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  }
}
