import type pg from 'pg';
import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';

/** PgMigration is one forward-only schema step; its version is its position in the list, starting at 1. */
export interface PgMigration {
  name: string;
  sql: string;
}

/**
 * PG_MIGRATIONS is the PostgreSQL schema history, oldest first: the same tables and meanings as the SQLite
 * schema (sqlite/migrations.ts), with PostgreSQL types. Times are epoch ms in bigint columns (the pool reads
 * int8 back as a JS number; every value is a safe integer). Append new steps; never edit a released one.
 */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    name: '0001_schema',
    sql: `
      CREATE TABLE meta (
        key   text PRIMARY KEY,
        value text NOT NULL
      );
      INSERT INTO meta (key, value) VALUES ('silences_revision', '0');

      CREATE TABLE requests (
        id          text PRIMARY KEY,
        source      text NOT NULL,
        event       text NOT NULL,
        received_at bigint NOT NULL,
        body        bytea NOT NULL
      );
      CREATE INDEX requests_received_at ON requests (received_at);

      -- seq is handed out under the append lock (LOCK TABLE events in event-log.ts), so seq order is commit
      -- order across instances: the evaluator never passes a seq whose row commits later.
      CREATE TABLE events (
        seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source      text NOT NULL,
        type        text NOT NULL,
        dedupe_key  text NOT NULL,
        request_id  text NOT NULL REFERENCES requests (id) DEFERRABLE INITIALLY DEFERRED,
        at          bigint NOT NULL,
        received_at bigint NOT NULL,
        user_id     text,
        item        text NOT NULL,
        image       bytea,
        UNIQUE (source, dedupe_key)
      );
      CREATE INDEX events_source_seq ON events (source, seq DESC);
      CREATE INDEX events_type_seq ON events (type, seq DESC);
      CREATE INDEX events_received_at ON events (received_at);
      CREATE INDEX events_request_id ON events (request_id);

      CREATE TABLE evaluator_cursor (
        id  integer PRIMARY KEY CHECK (id = 1),
        seq bigint NOT NULL CHECK (seq >= 0)
      );
      INSERT INTO evaluator_cursor (id, seq) VALUES (1, 0);

      CREATE TABLE rule_state (
        key   text PRIMARY KEY,
        value text NOT NULL
      );

      CREATE TABLE notifications (
        seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id               text NOT NULL UNIQUE,
        destination      text NOT NULL,
        alert            text NOT NULL,
        request_id       text,
        event_seq        bigint,
        created_at       bigint NOT NULL,
        order_key        bigint NOT NULL DEFAULT 0,
        status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
        due_at           bigint NOT NULL,
        lease_until      bigint,
        -- Stamped by each claim: a transition made with an older token (its lease ran out and another
        -- claim took the row) is refused.
        claim_token      text,
        attempts         integer NOT NULL DEFAULT 0,
        first_attempt_at bigint,
        delivered_at     bigint,
        dead_reason      text,
        dead_at          bigint
      );
      CREATE INDEX notifications_pending ON notifications (destination, created_at, order_key, seq)
        WHERE status = 'pending';
      CREATE INDEX notifications_dead ON notifications (destination, dead_at) WHERE status = 'dead';
      CREATE INDEX notifications_delivered ON notifications (delivered_at) WHERE status = 'delivered';
      CREATE INDEX notifications_event_seq ON notifications (event_seq) WHERE event_seq IS NOT NULL;
      CREATE INDEX notifications_request_id ON notifications (request_id) WHERE request_id IS NOT NULL;
      CREATE INDEX notifications_created_at ON notifications (created_at);

      CREATE TABLE notification_attempts (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        notification_seq bigint NOT NULL REFERENCES notifications (seq) ON DELETE CASCADE,
        at               bigint NOT NULL,
        duration_ms      bigint NOT NULL,
        outcome          text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead', 'broken')),
        reason           text,
        detail           text
      );
      CREATE INDEX notification_attempts_notification ON notification_attempts (notification_seq, id);

      CREATE TABLE paused_destinations (
        destination text PRIMARY KEY,
        reason      text NOT NULL,
        paused_at   bigint NOT NULL
      );

      CREATE TABLE silences (
        id          text PRIMARY KEY,
        matchers    text NOT NULL,
        starts_at   bigint,
        ends_at     bigint NOT NULL CHECK (starts_at IS NULL OR ends_at > starts_at),
        comment     text NOT NULL,
        created_by  text NOT NULL,
        created_at  bigint NOT NULL,
        expired_at  bigint
      );
      CREATE INDEX silences_created_at ON silences (created_at);

      -- The evaluator's leadership (built by the leader election): one row per lease, with a term that
      -- grows at every election. Evaluator commits with a fence check it in their transaction.
      CREATE TABLE hookrelay_leases (name text PRIMARY KEY, holder text NOT NULL, term bigint NOT NULL, expires_at timestamptz NOT NULL);
    `,
  },
  {
    name: '0002_conversations',
    sql: `
      -- One conversation per alert (rule + key) and destination (as sqlite/migrations.ts 0006).
      CREATE TABLE conversations (
        destination text NOT NULL,
        rule        text NOT NULL,
        key         text NOT NULL,
        ref         text NOT NULL,
        started_at  bigint NOT NULL,
        acked_by    text,
        acked_at    bigint,
        PRIMARY KEY (destination, rule, key)
      );
      CREATE INDEX conversations_alert ON conversations (rule, key);
    `,
  },
  {
    name: '0003_nonces',
    sql: `
      -- Values usable once within a window (as sqlite/migrations.ts 0007).
      CREATE TABLE nonces (
        nonce      text PRIMARY KEY,
        expires_at bigint NOT NULL
      );
    `,
  },
  {
    name: '0004_destination_pacing',
    sql: `
      -- One send bucket per paced destination, shared by every instance (as sqlite/migrations.ts 0008):
      -- a claim locks its row, so concurrent claims of one destination take their slots one after another.
      CREATE TABLE destination_pacing (
        destination text PRIMARY KEY,
        tat         bigint NOT NULL
      );
    `,
  },
  {
    name: '0005_instance_liveness',
    sql: `
      -- Each open store beats its row every second (postgres-store.ts). A claim is only as good as its
      -- claimant: a row whose claimed_by has not beaten within INSTANCE_TTL_MS (outbox.ts) has a void lease,
      -- so a killed instance stalls its destinations for seconds, not for the whole claim lease.
      ALTER TABLE notifications ADD COLUMN claimed_by text;
      CREATE TABLE hookrelay_instances (
        id      text PRIMARY KEY,
        seen_at timestamptz NOT NULL
      );
    `,
  },
];

/** The table that records the schema version (PostgreSQL has no user_version). */
const VERSION_TABLE = 'hookrelay_schema_version';

/**
 * applyPgMigrations brings the schema on `client`'s search_path up to date and returns its version. Each
 * step is one transaction that first takes `pg_advisory_xact_lock` (a key per schema) and re-reads the
 * version under it, so instances starting at the same moment run every step exactly once and the others
 * wait for it. A schema newer than this build is refused (`HR_ERR_STORE_MIGRATION_AHEAD`) before anything
 * is written; a failed step is rolled back whole (`HR_ERR_STORE_MIGRATION_FAILED`).
 */
export async function applyPgMigrations(
  client: pg.ClientBase,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<number> {
  for (;;) {
    let applied = false;
    let version = 0;
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('hookrelay:migrate:' || current_schema()))`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (
          id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)`);
      const row = await client.query<{ version: number }>(
        `SELECT version FROM ${VERSION_TABLE} WHERE id = 1`,
      );
      version = row.rows[0]?.version ?? 0;
      if (version > migrations.length) {
        throw storeError(
          StoreErrorCode.migrationAhead,
          `the database schema is at version ${version} but this hookrelay knows only up to ${migrations.length}; ` +
            'run the newer hookrelay that wrote it, or restore a backup made by this version',
        );
      }
      const next = migrations[version];
      if (next) {
        try {
          await client.query(next.sql);
        } catch (error) {
          throw storeError(
            StoreErrorCode.migrationFailed,
            `schema migration ${version + 1} (${next.name}) failed and was rolled back: ${(error as Error).message}`,
            error,
          );
        }
        await client.query(
          `INSERT INTO ${VERSION_TABLE} (id, version) VALUES (1, $1)
           ON CONFLICT (id) DO UPDATE SET version = excluded.version`,
          [version + 1],
        );
        applied = true;
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (error instanceof HookrelayError) throw error;
      throw storeError(
        StoreErrorCode.migrationFailed,
        `schema migration failed: ${(error as Error).message}`,
        error,
      );
    }
    if (!applied) return version;
  }
}
