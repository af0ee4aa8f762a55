import type Database from 'better-sqlite3';
import type { Logger } from '../../lib/log.js';
import { readFailure, writeFailure } from '../lifecycle.js';
import type { WriteHealth } from '../write-health.js';
import type { WriteBatcher } from './batching.js';
import { rollbackIfOpen } from './write-steps.js';

/**
 * SqliteContext is what the SQLite port implementations share with the store that owns the connection.
 * better-sqlite3 is synchronous: a port method that runs its whole transaction in one call never
 * interleaves with another on the same connection. Write batches may commit on the writer thread's own
 * connection, so every write on this one takes its turn through `batcher.exclusive`.
 */
export interface SqliteContext {
  /** The store's main connection: reads, and the writes that are not batched (pauses, replays, prunes). */
  readonly db: Database.Database;
  readonly logger: Logger;
  /** assertOpen throws `HR_ERR_STORE_CLOSED` once the store is closing or closed. */
  assertOpen(): void;
  /**
   * batcher commits appends, evaluator steps and outbox claims and transitions in shared transactions (on
   * the writer thread for a file, on this connection for `:memory:`), and gives the other writes their turn
   * between two batches (`exclusive`).
   */
  readonly batcher: WriteBatcher;
  /** Told the failures of the writes made here (see WriteHealth). */
  readonly health: WriteHealth;
}

/**
 * readWith runs a read on an open store. What it throws becomes `HR_ERR_STORE_READ_FAILED` (with the driver
 * error as `cause`); a HookrelayError passes through unchanged.
 */
export function readWith<T>(context: SqliteContext, what: string, run: () => T): T {
  context.assertOpen();
  try {
    return run();
  } catch (error) {
    throw readFailure(what, error);
  }
}

/**
 * writeWith runs `transaction` as an IMMEDIATE transaction (the write lock is taken at BEGIN, so another
 * process cannot make it fail halfway) on an open store, in its turn between append batches (see
 * `WriteBatcher.exclusive`). better-sqlite3 rolls it back whole when it throws: a HookrelayError (a cursor
 * conflict) passes through, anything else becomes `HR_ERR_STORE_WRITE_FAILED`. It never leaves a
 * transaction open on the connection.
 */
export async function writeWith<A extends unknown[], T>(
  context: SqliteContext,
  what: string,
  transaction: Database.Transaction<(...args: A) => T>,
  ...args: A
): Promise<T> {
  context.assertOpen();
  try {
    return await context.batcher.exclusive(() => transaction.immediate(...args));
  } catch (error) {
    const { db, logger } = context;
    rollbackIfOpen(db, (rollbackError) =>
      logger.error({ err: rollbackError }, `rollback after a failed ${what} failed`),
    );
    throw writeFailure(what, error, context.health);
  }
}

/** yieldToLoop lets other callbacks (group commits, requests) run between two chunks of a long job. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
