/*
 * What every connection of one SQLite store shares, whichever thread holds it: the pragmas it runs
 * with. Plain JavaScript, for the writer thread (see write-steps.js).
 */

/**
 * @import { Database } from 'better-sqlite3'
 * @import { ConnectionSettings } from './write-types.js'
 */

/**
 * configureConnection sets the pragmas of a connection to a migrated database: a busy timeout,
 * `synchronous = FULL` (the WAL is fsynced at every commit, so a commit survives power loss), foreign
 * keys, the WAL's size after a checkpoint, and the size cap when one is set. It never changes the
 * journal mode (the store's first connection sets WAL, which is a property of the file).
 * @param {Database} db
 * @param {ConnectionSettings} settings
 */
export function configureConnection(db, settings) {
  // PRAGMA takes no bound parameters; each value is a number checked here, never outside text.
  db.pragma(`busy_timeout = ${integer(settings.busyTimeoutMs)}`);
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`journal_size_limit = ${integer(settings.journalSizeLimitBytes)}`);
  if (settings.maxPageCount !== undefined) db.pragma(`max_page_count = ${integer(settings.maxPageCount)}`);
}

/**
 * @param {number} value
 * @returns {number}
 */
function integer(value) {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a non-negative integer: ${value}`);
  return value;
}
