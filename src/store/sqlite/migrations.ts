import type Database from 'better-sqlite3';
import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';

/** Migration is one forward-only schema step; its version is its position in the list, starting at 1. */
export interface Migration {
  name: string;
  sql: string;
  /** Runs after `sql`, in the same transaction: for data SQL alone cannot reach. */
  backfill?: (db: Database.Database) => void;
}

/**
 * MIGRATIONS is the SQLite schema history, oldest first. `PRAGMA user_version` holds how many have run.
 * Append new steps; never edit or reorder a released one (databases in the field have already run it).
 * The one exception, 0003, lost a step that could not run on every database; 0004 undoes that step where
 * it ran, so every database ends in the same schema.
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
  {
    name: '0002_evaluator_outbox',
    sql: `
      -- The evaluator's position in the event log: the seq of the last item it evaluated. One row, always.
      -- It moves only in the transaction that also writes that step's rule state and notifications.
      CREATE TABLE evaluator_cursor (
        id  INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL CHECK (seq >= 0)
      ) STRICT;
      INSERT INTO evaluator_cursor (id, seq) VALUES (1, 0);

      -- Rule state (windows, cooldowns, digests, absence timers), one JSON value per key.
      CREATE TABLE rule_state (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL                     -- JSON
      ) STRICT;

      -- The outbox: one alert for one destination. seq is the commit order (AUTOINCREMENT: never reused),
      -- the last tie-breaker of the delivery order (created_at, order_key, seq) per destination.
      -- event_seq and request_id carry no foreign key: retention keeps what a pending or dead row names.
      CREATE TABLE notifications (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE,  -- stable, deterministic; sent on every attempt
        destination      TEXT NOT NULL,
        alert            TEXT NOT NULL,         -- the Alert as JSON
        request_id       TEXT,                  -- body: event forwards
        event_seq        INTEGER,               -- attach: screenshot
        created_at       INTEGER NOT NULL,      -- epoch ms
        order_key        INTEGER NOT NULL DEFAULT 0,
        status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
        due_at           INTEGER NOT NULL,      -- not claimed before
        lease_until      INTEGER,               -- claimed until; NULL when not leased
        attempts         INTEGER NOT NULL DEFAULT 0,  -- claims since enqueued or replayed
        first_attempt_at INTEGER,
        delivered_at     INTEGER,
        dead_reason      TEXT,
        dead_at          INTEGER
      ) STRICT;
      -- claim (head of each destination's queue) and pendingCounts.
      CREATE INDEX notifications_pending ON notifications (destination, created_at, order_key, seq)
        WHERE status = 'pending';
      CREATE INDEX notifications_dead ON notifications (destination, dead_at) WHERE status = 'dead';
      CREATE INDEX notifications_delivered ON notifications (delivered_at) WHERE status = 'delivered';
      -- Retention checks whether a pending or dead row still names an item or a request.
      CREATE INDEX notifications_event_seq ON notifications (event_seq) WHERE event_seq IS NOT NULL;
      CREATE INDEX notifications_request_id ON notifications (request_id) WHERE request_id IS NOT NULL;

      -- Every delivery attempt of a notification, in order (id increases).
      CREATE TABLE notification_attempts (
        id               INTEGER PRIMARY KEY,
        notification_seq INTEGER NOT NULL REFERENCES notifications (seq) ON DELETE CASCADE,
        at               INTEGER NOT NULL,      -- epoch ms
        duration_ms      INTEGER NOT NULL,
        outcome          TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead', 'broken')),
        reason           TEXT,
        detail           TEXT
      ) STRICT;
      CREATE INDEX notification_attempts_notification ON notification_attempts (notification_seq, id);

      -- Destinations found broken (bad token, channel gone): their notifications wait, unclaimed.
      CREATE TABLE paused_destinations (
        destination TEXT PRIMARY KEY,
        reason      TEXT NOT NULL,
        paused_at   INTEGER NOT NULL            -- epoch ms
      ) STRICT;
    `,
  },
  {
    name: '0003_admin',
    sql: `
      -- Silences created at run time (dashboard, API, CLI). They mute like YAML silences; expired_at set
      -- by hand means they mute nothing any more. matchers is the condition as JSON.
      CREATE TABLE silences (
        id          TEXT PRIMARY KEY,           -- random UUID
        matchers    TEXT NOT NULL,              -- JSON object
        starts_at   INTEGER,                    -- epoch ms; NULL: alerts of any earlier time too
        ends_at     INTEGER NOT NULL CHECK (starts_at IS NULL OR ends_at > starts_at),
        comment     TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        expired_at  INTEGER
      ) STRICT;
      CREATE INDEX silences_created_at ON silences (created_at);
      -- Bumped in every silence write, so other processes can poll one row to know they must reload.
      INSERT INTO meta (key, value) VALUES ('silences_revision', '0');

      -- The dashboard's reads: alerts per minute. (As released, this step also built indexes on
      -- json_extract(alert, '$.id') and '$.rule'. SQLite's JSON refuses an alert nested deeper than 1,000
      -- levels, which an older relay could store, so a database holding one could not run this step, and
      -- such a row made every later insert fail. They were taken out here, and 0004 drops them where
      -- they exist: both paths end in the same schema.)
      CREATE INDEX notifications_created_at ON notifications (created_at);
    `,
  },
  {
    name: '0004_alert_columns',
    sql: `
      -- An alert's notifications (one per destination) and alerts per rule, for the dashboard: plain
      -- columns the writer fills from the alert it already holds, instead of indexes on the alert's JSON.
      DROP INDEX IF EXISTS notifications_alert_id;
      DROP INDEX IF EXISTS notifications_rule;
      ALTER TABLE notifications ADD COLUMN alert_id TEXT;
      ALTER TABLE notifications ADD COLUMN alert_rule TEXT;
      UPDATE notifications
        SET alert_id = json_extract(alert, '$.id'), alert_rule = json_extract(alert, '$.rule')
        WHERE json_valid(alert);
      CREATE INDEX notifications_alert_id ON notifications (alert_id);
      CREATE INDEX notifications_rule ON notifications (alert_rule, created_at);
    `,
    backfill: backfillAlertColumns,
  },
  {
    name: '0005_claim_token',
    sql: `
      -- Stamped by each claim: a transition made with an older token (its lease ran out and another claim
      -- took the row) is refused. NULL for rows never claimed since this column exists.
      ALTER TABLE notifications ADD COLUMN claim_token TEXT;
    `,
  },
  {
    name: '0006_conversations',
    sql: `
      -- One conversation per alert (rule + key) and destination: where its first message went (Slack
      -- channel + ts, Discord message id, email Message-ID), so follow-ups thread under it and it can be
      -- updated in place. Deleted when the alert resolves; the next firing starts a new one.
      CREATE TABLE conversations (
        destination TEXT NOT NULL,
        rule        TEXT NOT NULL,
        key         TEXT NOT NULL,
        ref         TEXT NOT NULL,              -- JSON object of short strings
        started_at  INTEGER NOT NULL,           -- epoch ms
        acked_by    TEXT,                       -- who acknowledged the alert (repeats stop until it resolves)
        acked_at    INTEGER,                    -- epoch ms
        PRIMARY KEY (destination, rule, key)
      ) STRICT;
      CREATE INDEX conversations_alert ON conversations (rule, key);
    `,
  },
  {
    name: '0007_nonces',
    sql: `
      -- Values usable once within a window (Slack interaction signatures), so a replay is refused by every
      -- process sharing the database. Pruned as claims come.
      CREATE TABLE nonces (
        nonce      TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL             -- epoch ms
      ) STRICT;
    `,
  },
  {
    name: '0008_destination_pacing',
    sql: `
      -- One send bucket per paced destination, shared by every process claiming from the database: GCRA's
      -- "theoretical arrival time" (pacing-slots.js), read and written in each claim of that destination.
      CREATE TABLE destination_pacing (
        destination TEXT PRIMARY KEY,
        tat         INTEGER NOT NULL            -- epoch ms
      ) STRICT;
    `,
  },
];

/**
 * backfillAlertColumns fills alert_id and alert_rule of the rows SQLite's JSON cannot read (nested deeper
 * than it parses), with JavaScript's parser. Such rows are rare; the rest were filled by the SQL above.
 */
function backfillAlertColumns(db: Database.Database): void {
  const rows = db
    .prepare('SELECT seq, alert FROM notifications WHERE alert_id IS NULL')
    .iterate() as IterableIterator<{ seq: number; alert: string }>;
  const update = db.prepare('UPDATE notifications SET alert_id = ?, alert_rule = ? WHERE seq = ?');
  const pending: Array<[string | null, string | null, number]> = [];
  for (const row of rows) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(row.alert);
    } catch {
      continue; // Not JSON at all: nothing to look it up by; the row is still listed and delivered.
    }
    const alert = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    pending.push([text(alert['id']), text(alert['rule']), row.seq]);
  }
  for (const values of pending) update.run(...values);
}

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
      next.backfill?.(db);
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
