import { HookrelayError } from '../lib/errors.js';

/**
 * StoreErrorCode lists every error code the store raises. Codes are stable and never reused; each one is
 * meant to have a row in docs/errors.md (meaning, how to fix).
 */
export const StoreErrorCode = {
  /** The store was closed; the call was not run. */
  closed: 'HR_ERR_STORE_CLOSED',
  /**
   * A write transaction failed and was rolled back: for appends, nothing from that batch was stored; for an
   * evaluator commit or an outbox call, nothing of that call was written.
   */
  writeFailed: 'HR_ERR_STORE_WRITE_FAILED',
  /** A read query failed (I/O error, corrupt file). */
  readFailed: 'HR_ERR_STORE_READ_FAILED',
  /** A prune chunk failed; chunks committed before it stay deleted. */
  pruneFailed: 'HR_ERR_STORE_PRUNE_FAILED',
  /**
   * An argument the store cannot keep (a time out of range, an item that is not JSON, a bad limit), or an
   * append whose rows the database refused; only that call failed, the writes batched with it committed.
   */
  inputInvalid: 'HR_ERR_STORE_INPUT_INVALID',
  /** The database cannot be opened (missing permission, not a database file). */
  openFailed: 'HR_ERR_STORE_OPEN_FAILED',
  /** A command that only reads (or changes existing rows) found no database file; none was created. */
  notFound: 'HR_ERR_STORE_NOT_FOUND',
  /**
   * The database (or its directory, where SQLite keeps the -wal and -shm files) cannot be written: file
   * permissions, the owner, or a read-only mount. Found at open, before anything starts.
   */
  readOnly: 'HR_ERR_STORE_READ_ONLY',
  /** The database was migrated by a newer hookrelay than this one. */
  migrationAhead: 'HR_ERR_STORE_MIGRATION_AHEAD',
  /** A schema migration failed and was rolled back. */
  migrationFailed: 'HR_ERR_STORE_MIGRATION_FAILED',
  /**
   * The database file was deleted or replaced while the store had it open: what was committed since went
   * to a file that is gone at the next start. Every write is refused until the process restarts.
   */
  fileLost: 'HR_ERR_STORE_FILE_LOST',
  /** The database URL is not one of the accepted forms. */
  urlInvalid: 'HR_ERR_STORE_URL_INVALID',
  /**
   * An evaluator commit started from a cursor that is no longer the stored one (a second evaluator, or a
   * step committed twice); nothing was written. The evaluator should reload its state and cursor.
   */
  cursorConflict: 'HR_ERR_STORE_CURSOR_CONFLICT',
  /**
   * An evaluator commit carried a fence (lease, holder, term) that no longer holds: another instance was
   * elected, or the lease expired. Nothing was written; this instance is not the evaluator any more.
   */
  fenced: 'HR_ERR_STORE_FENCED',
} as const;

export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** storeError builds a HookrelayError with a store code. It never drops `cause`, which carries the driver error. */
export function storeError(code: StoreErrorCode, message: string, cause?: unknown): HookrelayError {
  return new HookrelayError(code, message, cause === undefined ? {} : { cause });
}
