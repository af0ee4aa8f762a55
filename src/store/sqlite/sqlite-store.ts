import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { ReceivedRequest, StoredEvent } from '../../domain/event.js';
import type { Item } from '../../domain/item.js';
import { HookrelayError } from '../../lib/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { StoreErrorCode, storeError } from '../errors.js';
import { type BatchLimits, Failed, GroupCommit } from '../group-commit.js';
import type { AppendInput, AppendResult, EventLog, ListQuery, Store } from '../ports.js';
import type { PreparedCommit } from '../validate.js';
import { createSqliteAdminReads } from './admin-queries.js';
import {
  type AppendWriter,
  type EvaluatorStepOutcome,
  startAppendWorker,
  type WriteBatchResult,
} from './append-worker.js';
import { Listeners, type SqliteContext } from './context.js';
import { createSqliteEvaluatorStore, EVALUATOR_SQL } from './evaluator-store.js';
import { createEventQueries } from './event-queries.js';
import { applyMigrations, assertNotAhead } from './migrations.js';
import {
  createSqliteOutbox,
  MAX_TRANSITION_GROUP,
  OUTBOX_SQL,
  type OutboxSubmission,
  type OutboxWrite,
  type OutboxWriteOutcome,
} from './outbox.js';
import { type PreparedAppend, prepareAppend } from './prepare-append.js';
import { createSqliteSilenceStore } from './silences.js';

/** How long a statement waits for another connection's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * A batch is capped so one transaction stays in the low tens of milliseconds and its message (or, for
 * `:memory:`, its synchronous run on the event loop) stays small; requests arriving meanwhile join the next.
 */
const BATCH_LIMITS: BatchLimits = { maxEntries: 1_000, maxRows: 10_000, maxBytes: 32 * 1024 * 1024 };

/**
 * How long an evaluator step waits for appends to share a transaction with (see GroupCommit.riderWaitMs).
 * The evaluator commits after every batch it reads: measured at 2,000 req/s, 40% of the worker's
 * transactions were such steps alone, each with an fsync of its own. A few ms of evaluator latency is
 * nothing to a rule (and, at low load, is all the wait an alert has before its claim).
 */
const STEP_RIDE_WAIT_MS = 5;

/**
 * How long an outbox transition waits for company. The deliverer does not wait for a transition before
 * its next send (only a claim, which is no rider, waits, and takes the transitions before it along), so
 * this is only how late the row is durably settled. Measured, deliveries/s to a local sink: committed at
 * once, ~2 transitions per transaction, 2,800–3,100/s; waiting 5 ms, ~25 per transaction, 3,800–4,200/s;
 * 15 ms, a further 5–10% (each commit wakes the worker, which costs the event loop its core for a while
 * on a busy 2-core machine).
 */
const TRANSITION_RIDE_WAIT_MS = 15;
/** Bytes one transition may carry (its detail is an excerpt of a few hundred characters at most). */
const TRANSITION_BYTES_ESTIMATE = 512;

/** Rows deleted per prune transaction: small enough that appends are never held up for long. */
const PRUNE_CHUNK_ROWS = 1_000;

/** Keeps the WAL file from staying huge after a burst (it is truncated to this at checkpoints). */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** SqliteStoreOptions configure `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** Where store warnings go (a failing onAppend listener, a file that refused WAL). Silent by default. */
  logger?: Logger;
  /** Called with each append worker started (a file database only); for tests and diagnostics. */
  onAppendWorker?: (worker: Worker) => void;
  /** How long a statement waits for another connection's write lock (default 5 s); tests shorten it. */
  busyTimeoutMs?: number;
}

/** SqliteStoreStats are counters since open, for metrics and for tests that check batching. */
export interface SqliteStoreStats {
  /** Append transactions committed. */
  transactions: number;
  /** Append transactions rolled back (their appends were rejected). */
  failedTransactions: number;
  /** Appends resolved by a committed transaction. */
  appendsCommitted: number;
  /** Items newly stored. */
  itemsStored: number;
  /** Append workers restarted after a crash (a file database only). */
  appendWorkerRestarts: number;
  /** Claims and transitions committed by the append worker (a file database only). */
  outboxWrites: number;
  /** Worker transactions that committed at least one claim or transition (a file database only). */
  outboxTransactions: number;
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
 * With a database file, appends are committed by a worker thread on a connection of its own (see
 * append-worker.ts), so their fsync never blocks the event loop; evaluator commits and outbox claims and
 * transitions ride in the same transactions. Reads, the other outbox writes (pauses, replays, lease
 * releases), prunes and checkWritable run on the main connection (WAL lets reads run during an append
 * commit); those writes take their turn between two batches (`GroupCommit.exclusive`), so they never
 * busy-wait for the worker's lock on the event loop. Batches go one at a time, so the log's seq order is
 * the commit order. `:memory:` cannot be shared with a thread, so there everything commits on the main
 * connection.
 */
export interface SqliteStore extends Store {
  readonly engine: 'sqlite';
  /** The database file (or `:memory:`). */
  readonly path: string;
  readonly settings: SqliteSettings;
  /** stats returns a snapshot of the counters; it never touches the database. */
  stats(): SqliteStoreStats;
}

interface EventRow {
  seq: number;
  request_id: string;
  dedupe_key: string;
  item: string;
  image?: Buffer | null;
}

interface RequestRow {
  id: string;
  source: string;
  event: string;
  received_at: number;
  body: Buffer;
}

const INSERT_EVENT_SQL = `INSERT INTO events (source, type, dedupe_key, request_id, at, received_at, user_id, item, image)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (source, dedupe_key) DO NOTHING`;
const INSERT_REQUEST_SQL =
  'INSERT INTO requests (id, source, event, received_at, body) VALUES (?, ?, ?, ?, ?)';

type InsertEventParams = [
  string,
  string,
  string,
  string,
  number,
  number,
  string | null,
  string,
  Buffer | null,
];

/**
 * appendBatchTransaction is the append transaction on a connection of this thread: what `:memory:`
 * commits with, and what bench/sqlite-floor.ts times (the worker runs the same statements in its own
 * copy). Items go first; the request row follows only when one of them was new.
 */
export function appendBatchTransaction(
  db: Database.Database,
): Database.Transaction<(batch: readonly PreparedAppend[]) => AppendResult[]> {
  const insertEvent = db.prepare<InsertEventParams>(INSERT_EVENT_SQL);
  const insertRequest = db.prepare<[string, string, string, number, Buffer]>(INSERT_REQUEST_SQL);
  return db.transaction((batch: readonly PreparedAppend[]): AppendResult[] =>
    batch.map((append) => {
      let stored = 0;
      for (const event of append.events) {
        stored += insertEvent.run(
          event.source,
          event.type,
          event.dedupeKey,
          append.requestId,
          event.at,
          append.receivedAt,
          event.userId,
          event.itemJson,
          event.image,
        ).changes;
      }
      // The deferred foreign key lets the request row follow its items, and be skipped when none was new.
      if (stored > 0) {
        insertRequest.run(append.requestId, append.source, append.event, append.receivedAt, append.body);
      }
      return { requestId: append.requestId, stored, duplicates: append.events.length - stored };
    }),
  );
}

/**
 * openSqliteStore opens (creating it and its parent directories when missing) and migrates the SQLite
 * database at `path`, which may be `:memory:`. Every connection runs in WAL mode with `synchronous = FULL`,
 * so an append resolves only once its commit would survive power loss. For a file it starts the append
 * worker thread (its own connection) before it resolves. It never opens a database whose
 * schema is newer than this code (`HR_ERR_STORE_MIGRATION_AHEAD`) and never modifies such a file.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const logger = (options.logger ?? createLogger('silent')).child({ component: 'store', engine: 'sqlite' });
  // better-sqlite3 treats '' as an anonymous temporary file, which would silently lose every write.
  if (path.trim() === '') throw storeError(StoreErrorCode.inputInvalid, 'the SQLite database path is empty');
  const memory = path === ':memory:';
  let db: Database.Database;
  try {
    if (!memory) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
  } catch (error) {
    throw storeError(
      StoreErrorCode.openFailed,
      `cannot open the SQLite database at ${path}: ${(error as Error).message}`,
      error,
    );
  }
  const busyTimeoutMs = Math.max(0, Math.round(options.busyTimeoutMs ?? BUSY_TIMEOUT_MS));
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Checked before any pragma that writes (journal_mode), so a refused file stays untouched.
    assertNotAhead(db);
    const journalMode = String(db.pragma('journal_mode = WAL', { simple: true }));
    if (!memory && journalMode !== 'wal') {
      logger.warn({ path, journalMode }, 'SQLite refused WAL mode; appends will be slower');
    }
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
    const schemaVersion = applyMigrations(db);
    const settings: SqliteSettings = {
      journalMode,
      synchronous: Number(db.pragma('synchronous', { simple: true })),
      busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
      foreignKeys: Number(db.pragma('foreign_keys', { simple: true })) === 1,
      schemaVersion,
    };
    // The worker opens the file only once it is migrated; it needs WAL so that the main connection's
    // reads never wait for its commits.
    const writer =
      !memory && journalMode === 'wal'
        ? await startAppendWorker({
            path,
            busyTimeoutMs,
            journalSizeLimitBytes: JOURNAL_SIZE_LIMIT_BYTES,
            sql: {
              insertEvent: INSERT_EVENT_SQL,
              insertRequest: INSERT_REQUEST_SQL,
              ...EVALUATOR_SQL,
              ...OUTBOX_SQL,
            },
            logger,
            ...(options.onAppendWorker ? { onSpawn: options.onAppendWorker } : {}),
          })
        : undefined;
    return createSqliteStore(db, path, settings, logger, writer);
  } catch (error) {
    db.close();
    if (error instanceof HookrelayError) throw error;
    throw storeError(
      StoreErrorCode.openFailed,
      `cannot open the SQLite database at ${path}: ${(error as Error).message}`,
      error,
    );
  }
}

function createSqliteStore(
  db: Database.Database,
  path: string,
  settings: SqliteSettings,
  logger: Logger,
  writer: AppendWriter | undefined,
): SqliteStore {
  let state: 'open' | 'closing' | 'closed' = 'open';
  let closing: Promise<void> | undefined;
  const appended = new Listeners(logger, 'onAppend');
  const enqueued = new Listeners(logger, 'onEnqueue');
  const counters: SqliteStoreStats = {
    transactions: 0,
    failedTransactions: 0,
    appendsCommitted: 0,
    itemsStored: 0,
    appendWorkerRestarts: 0,
    outboxWrites: 0,
    outboxTransactions: 0,
  };

  const queries = createEventQueries(db);
  const readAfterStmt = db.prepare<[number, number], EventRow>(
    'SELECT seq, request_id, dedupe_key, item, image FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const readAfterWithoutImagesStmt = db.prepare<[number, number], EventRow>(
    'SELECT seq, request_id, dedupe_key, item, NULL AS image FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const getRequestStmt = db.prepare<[string], RequestRow>(
    'SELECT id, source, event, received_at, body FROM requests WHERE id = ?',
  );
  // Kept: items the evaluator has not passed (seq > cursor), and items whose screenshot a pending or dead
  // notification may still send. They go at a later prune, once nothing needs them.
  const pruneEvents = db.prepare<[number, number]>(
    `DELETE FROM events WHERE seq IN (
       SELECT e.seq FROM events e
       WHERE e.received_at < ?
         AND e.seq <= (SELECT seq FROM evaluator_cursor WHERE id = 1)
         AND NOT EXISTS (
           SELECT 1 FROM notifications n WHERE n.event_seq = e.seq AND n.status IN ('pending', 'dead'))
       LIMIT ?)`,
  );
  // Kept: requests a stored item refers to (a failed foreign key check would fail the whole chunk), and
  // requests a pending or dead notification forwards as they came (`body: event`).
  const pruneRequests = db.prepare<[number, number]>(
    `DELETE FROM requests WHERE id IN (
       SELECT r.id FROM requests r
       WHERE r.received_at < ?
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.request_id = r.id)
         AND NOT EXISTS (
           SELECT 1 FROM notifications n WHERE n.request_id = r.id AND n.status IN ('pending', 'dead'))
       LIMIT ?)`,
  );
  const pruneEventsTx = db.transaction(
    (cutoffMs: number) => pruneEvents.run(cutoffMs, PRUNE_CHUNK_ROWS).changes,
  );
  const pruneRequestsTx = db.transaction(
    (cutoffMs: number) => pruneRequests.run(cutoffMs, PRUNE_CHUNK_ROWS).changes,
  );
  const touchMeta = db.prepare<[string]>(
    `INSERT INTO meta (key, value) VALUES ('writable_checked_at', ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  );

  const writeBatch = appendBatchTransaction(db);

  const committed = (results: AppendResult[]): AppendResult[] => {
    counters.transactions += 1;
    counters.appendsCommitted += results.length;
    for (const result of results) counters.itemsStored += result.stored;
    return results;
  };

  /**
   * Commits a batch on the worker: the appends, the evaluator steps and the outbox writes, in one
   * transaction.
   */
  const commitOnWorker = async (
    worker: AppendWriter,
    batch: readonly WriteEntry[],
  ): Promise<Array<WriteResult | Failed>> => {
    const appends: PreparedAppend[] = [];
    const steps: PreparedCommit[] = [];
    const writes: OutboxWrite[] = [];
    for (const entry of batch) {
      if (entry.kind === 'append') appends.push(entry.append);
      else if (entry.kind === 'step') steps.push(entry.step);
      // A group of transitions is closed here: later ones ride in the next batch.
      else if (entry.write.kind === 'transitions') {
        writes.push({ kind: 'transitions', transitions: entry.write.take() });
      } else writes.push(entry.write);
    }
    let result: WriteBatchResult;
    try {
      result = await worker.commit(appends, steps, writes);
    } catch (error) {
      if (appends.length > 0) counters.failedTransactions += 1;
      throw error;
    }
    const { stored } = result;
    let appendResults: Array<AppendResult | Failed>;
    if (stored instanceof Error) {
      counters.failedTransactions += 1;
      appendResults = appends.map(() => new Failed(stored));
    } else {
      appendResults =
        appends.length === 0
          ? []
          : committed(appends.map((append, index) => appendResult(append, stored[index] ?? 0)));
    }
    let outboxCommitted = 0;
    for (const outcome of result.outbox) {
      if (outcome instanceof Error) continue;
      outboxCommitted += 'changed' in outcome ? outcome.changed.length : 1;
    }
    if (outboxCommitted > 0) {
      counters.outboxWrites += outboxCommitted;
      counters.outboxTransactions += 1;
    }
    let nextAppend = 0;
    let nextStep = 0;
    let nextWrite = 0;
    const missing = (what: string) =>
      new Failed(new Error(`the append worker reported no outcome for this ${what}`));
    return batch.map((entry) => {
      if (entry.kind === 'append') return appendResults[nextAppend++] as AppendResult | Failed;
      const outcome = entry.kind === 'step' ? result.steps[nextStep++] : result.outbox[nextWrite++];
      if (outcome === undefined) return missing(entry.kind === 'step' ? 'step' : 'outbox write');
      return outcome instanceof Error ? new Failed(outcome) : outcome;
    });
  };

  const batcher = new GroupCommit<WriteEntry, WriteResult>({
    limits: BATCH_LIMITS,
    offLoop: writer !== undefined,
    riderWaitMs: STEP_RIDE_WAIT_MS,
    commit: writer
      ? (batch) => commitOnWorker(writer, batch)
      : (batch) => {
          // Only appends come here (:memory: runs evaluator steps and outbox writes as exclusive turns). IMMEDIATE takes the
          // write lock at BEGIN: another process can't make us fail halfway through.
          const appends = batch.map((entry) => (entry.kind === 'append' ? entry.append : unexpectedEntry()));
          try {
            return committed(writeBatch.immediate(appends));
          } catch (error) {
            counters.failedTransactions += 1;
            // better-sqlite3 rolls back on a throw; this only guards the connection if COMMIT itself failed.
            if (db.open && db.inTransaction) {
              try {
                db.exec('ROLLBACK');
              } catch (rollbackError) {
                logger.error({ err: rollbackError }, 'rollback after a failed append batch failed');
              }
            }
            throw error;
          }
        },
    wrapError: (error, count) => {
      logger.error({ err: error, count }, 'a write batch failed; the writes it concerns were rejected');
      return storeError(
        StoreErrorCode.writeFailed,
        `${count} write(s) failed and were rolled back: ${(error as Error | undefined)?.message}`,
        error,
      );
    },
    afterCommit: (results) => {
      if (results.some((result) => 'stored' in result && result.stored > 0)) appended.notify();
    },
    onHookError: (error) => logger.error({ err: error }, 'after-commit hook failed'),
  });

  function assertOpen(): void {
    if (state !== 'open') throw storeError(StoreErrorCode.closed, 'the store is closed');
  }

  function read<T>(what: string, run: () => T): T {
    assertOpen();
    try {
      return run();
    } catch (error) {
      if (error instanceof HookrelayError) throw error;
      throw storeError(StoreErrorCode.readFailed, `${what} failed: ${(error as Error).message}`, error);
    }
  }

  const events: EventLog = {
    async append(input: AppendInput): Promise<AppendResult> {
      assertOpen();
      const prepared = prepareAppend(input);
      const result = await batcher.submit(
        { kind: 'append', append: prepared },
        { rows: prepared.events.length + 1, bytes: prepared.bytes },
      );
      return result as AppendResult;
    },

    async list(query: ListQuery): Promise<StoredEvent[]> {
      assertCount('list limit', query.limit);
      return read('list', () => queries.list(query)).map(toStoredEvent);
    },

    async get(seq: number): Promise<StoredEvent | undefined> {
      const row = read('get', () => queries.get(seq));
      return row === undefined ? undefined : toStoredEvent(row);
    },

    async readAfter(
      afterSeq: number,
      limit: number,
      options: { images?: boolean } = {},
    ): Promise<StoredEvent[]> {
      if (!Number.isSafeInteger(afterSeq)) {
        throw storeError(
          StoreErrorCode.inputInvalid,
          `readAfter afterSeq must be an integer, got ${afterSeq}`,
        );
      }
      assertCount('readAfter limit', limit);
      const statement = options.images === false ? readAfterWithoutImagesStmt : readAfterStmt;
      return read('readAfter', () => statement.all(afterSeq, limit)).map(toStoredEvent);
    },

    async getRequest(id: string): Promise<ReceivedRequest | undefined> {
      const row = read('getRequest', () => getRequestStmt.get(id));
      if (!row) return undefined;
      return {
        id: row.id,
        source: row.source,
        event: row.event,
        receivedAt: row.received_at,
        body: row.body,
      };
    },

    async pruneOlderThan(cutoffMs: number): Promise<number> {
      if (!Number.isFinite(cutoffMs)) {
        throw storeError(
          StoreErrorCode.inputInvalid,
          `pruneOlderThan cutoffMs must be a finite number, got ${cutoffMs}`,
        );
      }
      let deleted = 0;
      // Each chunk is one short transaction taken between two append batches.
      const chunk = async (
        transaction: Database.Transaction<(cutoffMs: number) => number>,
      ): Promise<number> => {
        assertOpen();
        try {
          return await batcher.exclusive(() => transaction.immediate(cutoffMs));
        } catch (error) {
          throw storeError(
            StoreErrorCode.pruneFailed,
            `pruning the event log failed after ${deleted} item(s): ${(error as Error).message}`,
            error,
          );
        }
      };
      for (;;) {
        const changes = await chunk(pruneEventsTx);
        deleted += changes;
        if (changes < PRUNE_CHUNK_ROWS) break;
        // Let pending appends commit between chunks instead of queueing behind the whole prune.
        await new Promise((resolve) => setImmediate(resolve));
      }
      while ((await chunk(pruneRequestsTx)) === PRUNE_CHUNK_ROWS) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      return deleted;
    },

    onAppend(listener: () => void): () => void {
      return appended.add(listener);
    },
  };

  const context: SqliteContext = {
    db,
    logger,
    assertOpen,
    exclusive: (run) => batcher.exclusive(run),
    ...(writer
      ? {
          commitStep: async (step: PreparedCommit) =>
            (await batcher.submit(
              { kind: 'step', step },
              { ...stepCost(step), rider: true },
            )) as EvaluatorStepOutcome,
          commitOutbox: async (write: OutboxSubmission) =>
            (await batcher.submit(
              { kind: 'outbox', write },
              write.kind === 'transitions'
                ? { ...outboxCost(write), rider: true, waitMs: TRANSITION_RIDE_WAIT_MS }
                : outboxCost(write),
            )) as OutboxWriteOutcome,
        }
      : {}),
  };
  const evaluator = createSqliteEvaluatorStore(context, () => enqueued.notify());
  const outbox = createSqliteOutbox(context, enqueued);

  return {
    engine: 'sqlite',
    path,
    settings,
    events,
    evaluator,
    outbox,
    silences: createSqliteSilenceStore(context),
    admin: createSqliteAdminReads(context),
    stats: () => ({ ...counters, appendWorkerRestarts: writer?.restarts ?? 0 }),
    commitStats: () => ({
      appendCommits: counters.transactions,
      appendsCommitted: counters.appendsCommitted,
    }),

    async checkWritable(): Promise<boolean> {
      if (state !== 'open') return false;
      if (writer && !writer.healthy) return false;
      try {
        await batcher.exclusive(() => db.transaction(() => touchMeta.run(String(Date.now()))).immediate());
        return true;
      } catch (error) {
        logger.warn({ err: error }, 'the database is not writable');
        return false;
      }
    },

    close(): Promise<void> {
      if (closing) return closing;
      state = 'closing';
      closing = (async () => {
        try {
          await batcher.drain();
        } finally {
          appended.clear();
          enqueued.clear();
          try {
            await writer?.close();
          } finally {
            db.close();
            state = 'closed';
          }
        }
      })();
      return closing;
    },
  };
}

/**
 * WriteEntry is one write the batcher commits: an append, an evaluator step riding with the appends, or an
 * outbox claim or transition.
 */
type WriteEntry =
  | { kind: 'append'; append: PreparedAppend }
  | { kind: 'step'; step: PreparedCommit }
  | { kind: 'outbox'; write: OutboxSubmission };
type WriteResult = AppendResult | EvaluatorStepOutcome | OutboxWriteOutcome;

function appendResult(append: PreparedAppend, stored: number): AppendResult {
  return { requestId: append.requestId, stored, duplicates: append.events.length - stored };
}

function stepCost(step: PreparedCommit): { rows: number; bytes: number } {
  let bytes = 0;
  for (const entry of step.upserts) bytes += entry.json.length;
  for (const notification of step.notifications) bytes += notification.alertJson.length;
  return { rows: 1 + step.upserts.length + step.deletes.length + step.notifications.length, bytes };
}

function outboxCost(write: OutboxSubmission): { rows: number; bytes: number } {
  if (write.kind === 'claim') {
    return { rows: Math.max(1, write.claim.limit * write.claim.destinations.length), bytes: 0 };
  }
  // A group grows until its batch is sent: count it at its largest (an attempt row and an update each).
  return { rows: 2 * MAX_TRANSITION_GROUP, bytes: MAX_TRANSITION_GROUP * TRANSITION_BYTES_ESTIMATE };
}

function unexpectedEntry(): never {
  throw new Error('an evaluator step or outbox write reached the in-process append batch');
}

function assertCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw storeError(StoreErrorCode.inputInvalid, `${what} must be a non-negative integer, got ${value}`);
  }
}

function toStoredEvent(row: EventRow): StoredEvent {
  const event: StoredEvent = {
    seq: row.seq,
    requestId: row.request_id,
    dedupeKey: row.dedupe_key,
    item: JSON.parse(row.item) as Item,
  };
  if (row.image !== undefined && row.image !== null) event.image = row.image;
  return event;
}
