import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { HookrelayError } from '../../lib/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { StoreErrorCode, storeError } from '../errors.js';
import { createStoreLifecycle } from '../lifecycle.js';
import type { Store } from '../ports.js';
import { createPgAdminReads } from './admin-reads.js';
import type { PgContext } from './context.js';
import { createPgConversationStore } from './conversations.js';
import { createPgBlobs, createPgDeadLetters } from './dead-letters.js';
import { createPgEvaluatorStore } from './evaluator-store.js';
import { createPgEventLog } from './event-log.js';
import { createHeartbeat, type Heartbeat } from './instance-heartbeat.js';
import { applyPgMigrations } from './migrations.js';
import { createPgNonceStore } from './nonces.js';
import { createPgOutbox } from './outbox.js';
import { type ConnectionOptions, createPool, DEFAULT_PG_SETTINGS, type PgSettings } from './pool.js';
import { createPgSilenceStore } from './silences.js';
import { startWakeups } from './wakeups.js';

/** PostgresStoreOptions configure `openPostgresStore`. */
export interface PostgresStoreOptions {
  logger?: Logger;
  /** Pool size, statement timeout, LISTEN; DEFAULT_PG_SETTINGS for what is not given. */
  settings?: Partial<PgSettings>;
  /** Use this schema (it must exist) instead of the connection's default search_path; for tests. */
  schema?: string;
  /** The wake-up backstop's poll interval (see wakeups.ts). */
  pollMs?: number;
  /** application_name of the store's connections, to tell instances apart in pg_stat_activity. */
  applicationName?: string;
  /**
   * false: no wake-ups from other instances at all (no LISTEN connection, no poll), and no instance
   * heartbeat (instance-heartbeat.ts), for a caller that never waits for another instance's commits and
   * never claims (the CLI's one-shot commands). Default true.
   */
  wakeups?: boolean;
}

/** PostgresStore is the PostgreSQL engine's Store, plus what only it reports. */
export interface PostgresStore extends Store {
  readonly engine: 'postgres';
  /** The schema the store works in (the connection's current_schema()). */
  readonly schema: string;
  readonly settings: PgSettings & { schemaVersion: number };
  /**
   * Resolves once wake-ups from other instances flow: the backstop took its first reading and, with
   * LISTEN on, the LISTEN connection is up (it never resolves while the database refuses it).
   */
  readonly wakeupsReady: Promise<void>;
}

/**
 * openPostgresStore connects to the database `url` names (`postgres://` or `postgresql://`, libpq
 * parameters such as `?sslmode=` honoured by node-postgres), migrates its schema (several instances
 * starting at once are serialised by an advisory lock, see migrations.ts) and resolves with the Store. It
 * refuses a schema newer than this build (`HR_ERR_STORE_MIGRATION_AHEAD`) and a database it cannot reach
 * (`HR_ERR_STORE_OPEN_FAILED`, without the URL: it may carry a password).
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  const logger = (options.logger ?? createLogger('silent')).child({ component: 'store', engine: 'postgres' });
  const settings: PgSettings = { ...DEFAULT_PG_SETTINGS, ...options.settings };
  const connection = {
    url,
    statementTimeoutMs: settings.statementTimeoutMs,
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.applicationName === undefined ? {} : { applicationName: options.applicationName }),
  };
  const pool = createPool({ ...connection, size: settings.poolSize });
  // An idle connection that breaks (the server restarted) must not crash the process: the pool drops it.
  pool.on('error', (error) => logger.warn({ err: error }, 'an idle database connection failed'));
  let schema: string;
  let schemaVersion: number;
  try {
    const client = await pool.connect();
    try {
      const current = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
      const found = current.rows[0]?.schema;
      if (!found)
        throw storeError(StoreErrorCode.openFailed, 'the connection has no schema to work in (search_path)');
      schema = found;
      schemaVersion = await applyPgMigrations(client);
      // Proves that this role can write (a read-only replica or role would fail later, somewhere worse).
      await client.query(
        `INSERT INTO meta (key, value) VALUES ('opened_at', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(Date.now())],
      );
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof HookrelayError) throw error;
    throw storeError(
      StoreErrorCode.openFailed,
      `cannot open the PostgreSQL database (HOOKRELAY_DB): ${(error as Error).message}`,
      error,
    );
  }
  const wakeups = {
    enabled: options.wakeups ?? true,
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
  };
  const instanceId = randomUUID();
  // Beaten once before the store is returned: a claim this store makes is never judged by a missing row.
  const heartbeat = wakeups.enabled ? createHeartbeat({ connection, instanceId, logger }) : undefined;
  try {
    await heartbeat?.beat();
  } catch (error) {
    await heartbeat?.close();
    await pool.end().catch(() => undefined);
    throw storeError(
      StoreErrorCode.openFailed,
      `cannot write this instance's heartbeat to the PostgreSQL database: ${(error as Error).message}`,
      error,
    );
  }
  heartbeat?.start();
  return createStore(pool, logger, { ...settings, schemaVersion }, schema, connection, wakeups, {
    instanceId,
    heartbeat,
  });
}

/**
 * channelOf names the schema's NOTIFY channel. A channel is an identifier (at most 63 bytes; a longer one
 * fails pg_notify and with it the commit), so a long schema name is replaced by a digest of it.
 */
export function channelOf(schema: string): string {
  const plain = `hookrelay:${schema}`;
  if (Buffer.byteLength(plain) <= 63) return plain;
  return `hookrelay:${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

function createStore(
  pool: pg.Pool,
  logger: Logger,
  settings: PgSettings & { schemaVersion: number },
  schema: string,
  connection: ConnectionOptions,
  wakeupOptions: { enabled: boolean; pollMs?: number },
  instance: { instanceId: string; heartbeat: Heartbeat | undefined },
): PostgresStore {
  const lifecycle = createStoreLifecycle(logger);
  const { appended, enqueued, health } = lifecycle;
  const { instanceId, heartbeat } = instance;
  const channel = channelOf(schema);
  const context: PgContext = {
    pool,
    logger,
    health,
    channel,
    notice: (kind) => `${kind}:${instanceId}`,
    assertOpen: () => lifecycle.assertOpen(),
  };
  const events = createPgEventLog(context, appended);
  const wakeups = wakeupOptions.enabled
    ? startWakeups({
        ...connection,
        pool,
        channel,
        instanceId,
        listen: settings.listen,
        ...(wakeupOptions.pollMs === undefined ? {} : { pollMs: wakeupOptions.pollMs }),
        logger,
        onAppend: () => appended.notify(),
        onEnqueue: () => enqueued.notify(),
      })
    : { ready: Promise.resolve(), close: async () => undefined };

  return {
    engine: 'postgres',
    schema,
    settings,
    wakeupsReady: wakeups.ready,
    events,
    evaluator: createPgEvaluatorStore(context, () => enqueued.notify()),
    // Without a heartbeat (a one-shot store, which never claims) a claim is stamped by no one: its lease
    // holds until it runs out, as before claims had owners.
    outbox: createPgOutbox(
      context,
      enqueued,
      heartbeat === undefined
        ? { claimedBy: () => null }
        : {
            claimedBy: () => heartbeat.id(),
            claimsHeld: () => heartbeat.claimsHeld(),
            abandon: () => heartbeat.abandon(),
          },
    ),
    deadLetters: createPgDeadLetters(context, enqueued),
    blobs: createPgBlobs(context),
    silences: createPgSilenceStore(context),
    conversations: createPgConversationStore(context),
    nonces: createPgNonceStore(context),
    admin: createPgAdminReads(context),
    commitStats: () => ({
      appendCommits: events.counters.transactions,
      appendsCommitted: events.counters.appendsCommitted,
    }),

    async checkWritable(): Promise<boolean> {
      if (!lifecycle.isOpen()) return false;
      if (!health.ready) return false;
      try {
        await pool.query(
          `INSERT INTO meta (key, value) VALUES ('writable_checked_at', $1)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          [String(Date.now())],
        );
        return true;
      } catch (error) {
        health.probeFailed(error);
        return false;
      }
    },

    close(): Promise<void> {
      return lifecycle.close({
        drain: () => events.drain(),
        release: async () => {
          await wakeups.close();
          await heartbeat?.close();
          await pool.end().catch(() => undefined);
        },
      });
    },
  };
}
