import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { HookrelayError } from '../../lib/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { StoreErrorCode, storeError } from '../errors.js';
import { createStoreLifecycle } from '../lifecycle.js';
import type { Store } from '../ports.js';
import { createSqliteAdminReads } from './admin-queries.js';
import { type BatchCounters, createWriteBatcher } from './batching.js';
import { createSqliteBlobs } from './blobs.js';
import { checkFile, configureConnection, fileIdentity } from './connection.js';
import type { SqliteContext } from './context.js';
import { createSqliteConversationStore } from './conversations.js';
import { createSqliteDeadLetters } from './dead-letters.js';
import { createSqliteEvaluatorStore } from './evaluator-store.js';
import { createSqliteEventLog } from './event-log.js';
import { applyMigrations, assertNotAhead } from './migrations.js';
import { createSqliteNonceStore } from './nonces.js';
import { createSqliteOutbox } from './outbox.js';
import { createSqliteSilenceStore } from './silences.js';
import type { ConnectionSettings, FileIdentity, FileLoss } from './write-types.js';
import { createInlineWriter, startWriterThread, type Writer } from './writer.js';

/** How long a statement waits for another connection's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;

/** Keeps the WAL file from staying huge after a burst (it is truncated to this at checkpoints). */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** SqliteStoreOptions configure `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** Where store warnings go (a failing onAppend listener, a file that refused WAL). Silent by default. */
  logger?: Logger;
  /** Called with each writer thread started (a file database only); for tests and diagnostics. */
  onWriterThread?: (worker: Worker) => void;
  /** How long a statement waits for another connection's write lock (default 5 s); tests shorten it. */
  busyTimeoutMs?: number;
  /**
   * Caps the file at this many pages on every connection (PRAGMA max_page_count): a write that needs
   * more fails with SQLITE_FULL, as on a full disk. For tests of a full disk; unset, no cap.
   */
  maxPageCount?: number;
}

/** SqliteStoreStats are counters since open, for metrics and for tests that check batching. */
export interface SqliteStoreStats extends BatchCounters {
  /** Writer threads restarted after a crash (a file database only). */
  writerRestarts: number;
}

/** SqliteSettings are the connection settings read back after open (not what was asked for). */
export interface SqliteSettings {
  /** `wal` for a file, `memory` for `:memory:`. */
  journalMode: string;
  /** 2 = FULL: the WAL is fsynced at every commit, so a commit survives power loss. */
  synchronous: number;
  busyTimeoutMs: number;
  foreignKeys: boolean;
  schemaVersion: number;
}

/**
 * SqliteStore is the embedded engine's Store, plus what only this engine can report.
 *
 * With a database file, appends, evaluator steps and outbox claims and transitions are committed in shared
 * transactions by the writer thread on a connection of its own (writer-thread.js), so their fsync never
 * blocks the event loop. Reads, the other outbox writes (pauses, replays, lease releases), prunes and
 * checkWritable run on the main connection (WAL lets reads run during a commit); those writes take their
 * turn between two batches (`WriteBatcher.exclusive`), so they never busy-wait for the writer's lock on
 * the event loop. Batches go one at a time, so the log's seq order is the commit order. `:memory:` cannot
 * be shared with a thread, so there the same batches (write-steps.js) commit on the main connection.
 */
export interface SqliteStore extends Store {
  readonly engine: 'sqlite';
  /** The database file (or `:memory:`). */
  readonly path: string;
  readonly settings: SqliteSettings;
  /** stats returns a snapshot of the counters; it never touches the database. */
  stats(): SqliteStoreStats;
}

/**
 * openSqliteStore opens (creating it and its parent directories when missing) and migrates the SQLite
 * database at `path`, which may be `:memory:`. Every connection runs in WAL mode with `synchronous = FULL`,
 * so an append resolves only once its commit would survive power loss. For a file it starts the writer
 * thread (its own connection) before it resolves. It never opens a database whose schema is newer than
 * this code (`HR_ERR_STORE_MIGRATION_AHEAD`) and never modifies such a file.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const logger = (options.logger ?? createLogger('silent')).child({ component: 'store', engine: 'sqlite' });
  // better-sqlite3 treats '' as an anonymous temporary file, which would silently lose every write.
  if (path.trim() === '') throw storeError(StoreErrorCode.inputInvalid, 'the SQLite database path is empty');
  const memory = path === ':memory:';
  let db: Database.Database;
  let identity: FileIdentity | undefined;
  try {
    if (!memory) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    // The file this store writes: every commit is checked against it before it is acknowledged.
    identity = memory ? undefined : fileIdentity(path);
  } catch (error) {
    throw storeError(
      StoreErrorCode.openFailed,
      `cannot open the SQLite database at ${path}: ${(error as Error).message}`,
      error,
    );
  }
  const connection: ConnectionSettings = {
    busyTimeoutMs: Math.max(0, Math.round(options.busyTimeoutMs ?? BUSY_TIMEOUT_MS)),
    journalSizeLimitBytes: JOURNAL_SIZE_LIMIT_BYTES,
    ...(options.maxPageCount === undefined ? {} : { maxPageCount: options.maxPageCount }),
  };
  try {
    db.pragma(`busy_timeout = ${connection.busyTimeoutMs}`);
    // Checked before any pragma that writes (journal_mode), so a refused file stays untouched.
    assertNotAhead(db);
    const journalMode = String(db.pragma('journal_mode = WAL', { simple: true }));
    if (!memory && journalMode !== 'wal') {
      logger.warn({ path, journalMode }, 'SQLite refused WAL mode; appends will be slower');
    }
    configureConnection(db, connection);
    const schemaVersion = applyMigrations(db);
    // SQLite opens a file it may not write read-only, without a word; the first write would fail
    // later, somewhere that cannot say why (it once surfaced as "cannot listen on …"). Write now.
    db.transaction(() => touchMeta(db, 'opened_at')).immediate();
    const settings: SqliteSettings = {
      journalMode,
      synchronous: Number(db.pragma('synchronous', { simple: true })),
      busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
      foreignKeys: Number(db.pragma('foreign_keys', { simple: true })) === 1,
      schemaVersion,
    };
    // The thread opens the file only once it is migrated; it needs WAL so that the main connection's
    // reads never wait for its commits.
    const file = identity && { path, identity };
    const writer =
      file && journalMode === 'wal'
        ? await startWriterThread({
            ...file,
            ...connection,
            logger,
            ...(options.onWriterThread ? { onSpawn: options.onWriterThread } : {}),
          })
        : createInlineWriter(db, logger, file);
    return createSqliteStore(db, path, settings, logger, writer, file);
  } catch (error) {
    db.close();
    const readOnly = readOnlyCause(error);
    if (readOnly) {
      throw storeError(
        StoreErrorCode.readOnly,
        `the SQLite database at ${path} is read-only (${readOnly.message}): hookrelay writes the file and, ` +
          'beside it, its -wal and -shm files; give the user it runs as write access to the file and its ' +
          'directory, and check that the filesystem is not mounted read-only',
        error,
      );
    }
    if (error instanceof HookrelayError) throw error;
    throw storeError(
      StoreErrorCode.openFailed,
      `cannot open the SQLite database at ${path}: ${(error as Error).message}`,
      error,
    );
  }
}

/** readOnlyCause returns the SQLITE_READONLY* error behind `error` (itself or its cause), if any. */
function readOnlyCause(error: unknown): Error | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 3; depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_READONLY')) return current;
    current = current.cause;
  }
  return undefined;
}

/** touchMeta upserts one small row: a write that proves the connection can commit. */
function touchMeta(db: Database.Database, key: string): void {
  db.prepare<[string, string]>(
    `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  ).run(key, String(Date.now()));
}

function createSqliteStore(
  db: Database.Database,
  path: string,
  settings: SqliteSettings,
  logger: Logger,
  writer: Writer,
  file: { path: string; identity: FileIdentity } | undefined,
): SqliteStore {
  const lifecycle = createStoreLifecycle(logger);
  const { appended, enqueued, health } = lifecycle;
  const batcher = createWriteBatcher({
    writer,
    logger,
    health,
    onAppended: () => appended.notify(),
    ...(file ? { checkFile: () => checkFile(file.path, file.identity) } : {}),
    fileLostError: (loss) => fileLostError(path, loss),
  });
  const probe = db.transaction(() => touchMeta(db, 'writable_checked_at'));

  const context: SqliteContext = {
    db,
    logger,
    batcher,
    health,
    assertOpen: () => lifecycle.assertOpen(),
  };

  return {
    engine: 'sqlite',
    path,
    settings,
    events: createSqliteEventLog(context, appended),
    evaluator: createSqliteEvaluatorStore(context, () => enqueued.notify()),
    outbox: createSqliteOutbox(context, enqueued),
    deadLetters: createSqliteDeadLetters(context, enqueued),
    blobs: createSqliteBlobs(context),
    silences: createSqliteSilenceStore(context),
    conversations: createSqliteConversationStore(context),
    nonces: createSqliteNonceStore(context),
    admin: createSqliteAdminReads(context),
    stats: () => ({ ...batcher.counters, writerRestarts: writer.restarts }),
    commitStats: () => ({
      appendCommits: batcher.counters.transactions,
      appendsCommitted: batcher.counters.appendsCommitted,
    }),

    async checkWritable(): Promise<boolean> {
      if (!lifecycle.isOpen()) return false;
      if (!writer.healthy) return false;
      // Recent appends failed: the probe below may still fit (a full disk takes one small row), they did not.
      if (!health.ready) return false;
      try {
        await batcher.exclusive(() => probe.immediate());
        return true;
      } catch (error) {
        // A lost file is logged once, where it was found.
        if (error !== health.lostError) health.probeFailed(error);
        return false;
      }
    },

    close(): Promise<void> {
      return lifecycle.close({
        drain: () => batcher.drain(),
        release: async () => {
          try {
            await writer.close();
          } finally {
            db.close();
          }
        },
      });
    },
  };
}

function fileLostError(path: string, loss: FileLoss) {
  const what = loss.reason === 'deleted' ? 'was deleted' : 'was replaced by another file';
  return storeError(
    StoreErrorCode.fileLost,
    `the database file ${path} ${what} while hookrelay was running; writes made since went to the old ` +
      'file and are not kept. Every write is refused from now on (503, not ready): restore the file and ' +
      'restart hookrelay (a restart without it starts an empty database)',
  );
}
