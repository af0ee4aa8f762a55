import type pg from 'pg';
import type { Logger } from '../../lib/log.js';
import { readFailure, writeFailure } from '../lifecycle.js';
import type { WriteHealth } from '../write-health.js';

/** PgContext is what the PostgreSQL port implementations share with the store that owns the pool. */
export interface PgContext {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly health: WriteHealth;
  /** The NOTIFY channel of this schema (see wakeups.ts). */
  readonly channel: string;
  /** notice is the NOTIFY payload for a wake-up of `kind`, naming this store so it ignores its own. */
  notice(kind: 'append' | 'enqueue'): string;
  /** assertOpen throws `HR_ERR_STORE_CLOSED` once the store is closing or closed. */
  assertOpen(): void;
}

/**
 * inTransaction runs `run` in one transaction on a pooled connection, commits, and releases the
 * connection. On a throw it rolls back and rethrows as is; a connection that failed mid-transaction is
 * destroyed rather than returned to the pool.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  run: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransactionAs(pool, 'BEGIN', run);
}

/**
 * inTransactionAs is inTransaction with its own BEGIN (an isolation level, READ ONLY). While the
 * connection is checked out, an error the server sends between two statements (the backend terminated,
 * the server restarting) is an 'error' event on the client that pg-pool no longer listens to; without a
 * listener it would crash the process. It is kept here, and the next statement fails with it instead.
 */
export async function inTransactionAs<T>(
  pool: pg.Pool,
  begin: string,
  run: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await client.query(begin);
    const result = await run(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/**
 * writeWith runs one write transaction: a HookrelayError thrown inside (a conflict, a fence) passes
 * through, anything else becomes `HR_ERR_STORE_WRITE_FAILED` and is told to the write health.
 */
export async function writeWith<T>(
  context: PgContext,
  what: string,
  run: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  context.assertOpen();
  try {
    return await inTransaction(context.pool, run);
  } catch (error) {
    throw writeFailure(what, error, context.health);
  }
}

/** readWith runs a read; what it throws becomes `HR_ERR_STORE_READ_FAILED`. */
export async function readWith<T>(
  context: PgContext,
  what: string,
  run: (db: pg.Pool) => Promise<T>,
): Promise<T> {
  context.assertOpen();
  try {
    return await run(context.pool);
  } catch (error) {
    throw readFailure(what, error);
  }
}
