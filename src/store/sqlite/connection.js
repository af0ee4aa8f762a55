/*
 * What every connection of one SQLite store shares, whichever thread holds it: the pragmas it runs with
 * and the identity of the file it opened. Plain JavaScript, for the writer thread (see write-steps.js).
 */

import { statSync } from 'node:fs';

/**
 * @import { Database } from 'better-sqlite3'
 * @import { ConnectionSettings, FileIdentity, FileLoss } from './write-types.js'
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

/**
 * fileIdentity returns the device and inode of the file at `path`, or undefined when nothing is there.
 * @param {string} path
 * @returns {FileIdentity | undefined}
 */
export function fileIdentity(path) {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats ? { dev: stats.dev, ino: stats.ino } : undefined;
}

/**
 * checkFile says whether `path` still names the file whose identity is `opened`: undefined when it does,
 * else how it was lost. A database deleted (or replaced) under a running store keeps taking commits
 * through the open descriptors, into a file that is gone at the next start: they must not be
 * acknowledged. One stat: a few microseconds, next to the fsync of every commit.
 * @param {string} path
 * @param {FileIdentity} opened
 * @returns {FileLoss | undefined}
 */
export function checkFile(path, opened) {
  const now = fileIdentity(path);
  if (now === undefined) return { reason: 'deleted' };
  if (now.dev !== opened.dev || now.ino !== opened.ino) return { reason: 'replaced' };
  return undefined;
}
