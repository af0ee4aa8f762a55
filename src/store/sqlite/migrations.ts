import type Database from 'better-sqlite3';
import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';

/** Migration is one forward-only schema step; its version is its position in the list, starting at 1. */
export interface Migration {
  name: string;
  sql: string;
}

/**
 * MIGRATIONS is the SQLite schema history, oldest first. `PRAGMA user_version` holds how many have run.
 * Append new steps; never edit or reorder a released one (databases in the field have already run it).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    name: '0001_event_log',
    sql: `
      -- Small key/value facts about the database; checkWritable upserts a row here.
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      -- One received webhook request, kept for forwards that send the payload as it came. Only kept when
      -- at least one of its items was stored (a retry of an already stored request adds nothing).
      CREATE TABLE requests (
        id          TEXT PRIMARY KEY,           -- random UUID
        source      TEXT NOT NULL,
        event       TEXT NOT NULL,
        received_at INTEGER NOT NULL,           -- epoch ms
        body        BLOB NOT NULL
      ) STRICT;
      CREATE INDEX requests_received_at ON requests (received_at);

      -- The event log: one row per normalised item. seq orders the log (the evaluator's cursor);
      -- AUTOINCREMENT so a seq is never handed out twice, even after the newest rows are pruned.
      CREATE TABLE events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        source      TEXT NOT NULL,
        type        TEXT NOT NULL,              -- item.event
        dedupe_key  TEXT NOT NULL,
        -- Deferred so an append can insert its items first and its request row only if one was stored.
        request_id  TEXT NOT NULL REFERENCES requests (id) DEFERRABLE INITIALLY DEFERRED,
        at          INTEGER NOT NULL,           -- item.at rounded to ms (the exact value stays in item)
        received_at INTEGER NOT NULL,           -- the request's receivedAt, so an item ages out with it
        user_id     TEXT,
        item        TEXT NOT NULL,              -- the Item as JSON, without image bytes or person
        image       BLOB,
        UNIQUE (source, dedupe_key)
      ) STRICT;
      CREATE INDEX events_source_seq ON events (source, seq DESC);
      CREATE INDEX events_type_seq ON events (type, seq DESC);
      CREATE INDEX events_received_at ON events (received_at);
      -- Deleting a request checks the foreign key; without this index that check scans the log.
      CREATE INDEX events_request_id ON events (request_id);
    `,
  },
];

/** readUserVersion returns the schema version recorded in the database file (0 for a new file). */
export function readUserVersion(db: Database.Database): number {
  return Number(db.pragma('user_version', { simple: true }));
}

/**
 * assertNotAhead throws `HR_ERR_STORE_MIGRATION_AHEAD` when the database was migrated by a newer build.
 * It never writes, so a refused database is left exactly as it was.
 */
export function assertNotAhead(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): void {
  const version = readUserVersion(db);
  if (version > migrations.length) {
    throw storeError(
      StoreErrorCode.migrationAhead,
      `the database schema is at version ${version} but this hookrelay knows only up to ${migrations.length}; ` +
        'run the newer hookrelay that wrote it, or restore a backup made by this version',
    );
  }
}

/**
 * applyMigrations runs the migrations the database has not run yet, each in its own IMMEDIATE transaction
 * that also sets `user_version`, and returns the resulting version. It never runs a migration twice, even
 * when two processes open the same new file at once (the version is re-read under the write lock), and a
 * failed migration is rolled back whole (`HR_ERR_STORE_MIGRATION_FAILED`).
 */
export function applyMigrations(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): number {
  assertNotAhead(db, migrations);
  const step = db.transaction((): boolean => {
    assertNotAhead(db, migrations);
    const version = readUserVersion(db);
    const next = migrations[version];
    if (!next) return false;
    try {
      db.exec(next.sql);
    } catch (error) {
      throw storeError(
        StoreErrorCode.migrationFailed,
        `schema migration ${version + 1} (${next.name}) failed and was rolled back: ${(error as Error).message}`,
        error,
      );
    }
    // PRAGMA takes no bound parameters; version + 1 is an integer computed here, never outside input.
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  try {
    while (step.immediate()) {
      // one migration per transaction, until none is left
    }
  } catch (error) {
    if (error instanceof HookrelayError) throw error;
    throw storeError(
      StoreErrorCode.migrationFailed,
      `schema migration failed: ${(error as Error).message}`,
      error,
    );
  }
  return readUserVersion(db);
}
