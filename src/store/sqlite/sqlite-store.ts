import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ReceivedRequest, StoredEvent } from '../../domain/event.js';
import type { Item } from '../../domain/item.js';
import { HookrelayError } from '../../lib/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { StoreErrorCode, storeError } from '../errors.js';
import { type BatchLimits, GroupCommit } from '../group-commit.js';
import type { AppendInput, AppendResult, EventLog, ListQuery, Store } from '../ports.js';
import { Listeners, type SqliteContext } from './context.js';
import { createSqliteEvaluatorStore } from './evaluator-store.js';
import { applyMigrations, assertNotAhead } from './migrations.js';
import { createSqliteOutbox } from './outbox.js';

/** How long a statement waits for another connection's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * A batch is capped so one synchronous transaction stays in the low tens of milliseconds: better-sqlite3
 * blocks the event loop while it writes, and requests arriving meanwhile wait for the next batch.
 */
const BATCH_LIMITS: BatchLimits = { maxEntries: 1_000, maxRows: 10_000, maxBytes: 32 * 1024 * 1024 };

/** Rows deleted per prune transaction: small enough that appends are never held up for long. */
const PRUNE_CHUNK_ROWS = 1_000;

/** Keeps the WAL file from staying huge after a burst (it is truncated to this at checkpoints). */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** SqliteStoreOptions configure `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** Where store warnings go (a failing onAppend listener, a file that refused WAL). Silent by default. */
  logger?: Logger;
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

/** SqliteStore is the embedded engine's Store, plus what only this engine can report. */
export interface SqliteStore extends Store {
  readonly engine: 'sqlite';
  /** The database file (or `:memory:`). */
  readonly path: string;
  readonly settings: SqliteSettings;
  /** stats returns a snapshot of the counters; it never touches the database. */
  stats(): SqliteStoreStats;
}

interface PreparedEvent {
  source: string;
  type: string;
  dedupeKey: string;
  at: number;
  userId: string | null;
  itemJson: string;
  image: Buffer | null;
}

/** An append validated and serialised before it joins a batch, so one bad input cannot fail its batch. */
interface PreparedAppend {
  requestId: string;
  source: string;
  event: string;
  receivedAt: number;
  body: Buffer;
  events: PreparedEvent[];
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
 * openSqliteStore opens (creating it and its parent directories when missing) and migrates the SQLite
 * database at `path`, which may be `:memory:`. The connection runs in WAL mode with `synchronous = FULL`,
 * so an append resolves only once its commit would survive power loss. It never opens a database whose
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
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
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
    return createSqliteStore(db, path, settings, logger);
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
  };

  const insertEvent = db.prepare<InsertEventParams>(
    `INSERT INTO events (source, type, dedupe_key, request_id, at, received_at, user_id, item, image)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (source, dedupe_key) DO NOTHING`,
  );
  const insertRequest = db.prepare<[string, string, string, number, Buffer]>(
    'INSERT INTO requests (id, source, event, received_at, body) VALUES (?, ?, ?, ?, ?)',
  );
  const listColumns = 'SELECT seq, request_id, dedupe_key, item FROM events';
  // One statement per filter combination, so each can use its own index (an `? IS NULL OR …` can't).
  const listAll = db.prepare<[number], EventRow>(`${listColumns} ORDER BY seq DESC LIMIT ?`);
  const listBySource = db.prepare<[string, number], EventRow>(
    `${listColumns} WHERE source = ? ORDER BY seq DESC LIMIT ?`,
  );
  const listByType = db.prepare<[string, number], EventRow>(
    `${listColumns} WHERE type = ? ORDER BY seq DESC LIMIT ?`,
  );
  const listBoth = db.prepare<[string, string, number], EventRow>(
    `${listColumns} WHERE source = ? AND type = ? ORDER BY seq DESC LIMIT ?`,
  );
  const readAfterStmt = db.prepare<[number, number], EventRow>(
    'SELECT seq, request_id, dedupe_key, item, image FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
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
  const touchMeta = db.prepare<[string]>(
    `INSERT INTO meta (key, value) VALUES ('writable_checked_at', ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  );

  const writeBatch = db.transaction((batch: readonly PreparedAppend[]): AppendResult[] =>
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

  const batcher = new GroupCommit<PreparedAppend, AppendResult>({
    limits: BATCH_LIMITS,
    commit: (batch) => {
      // IMMEDIATE takes the write lock at BEGIN: another process can't make us fail halfway through.
      const results = writeBatch.immediate(batch);
      counters.transactions += 1;
      counters.appendsCommitted += results.length;
      for (const result of results) counters.itemsStored += result.stored;
      return results;
    },
    wrapError: (error, batchSize) => {
      counters.failedTransactions += 1;
      // better-sqlite3 rolls back on a throw; this only guards the connection if a COMMIT itself failed.
      if (db.open && db.inTransaction) {
        try {
          db.exec('ROLLBACK');
        } catch (rollbackError) {
          logger.error({ err: rollbackError }, 'rollback after a failed append batch failed');
        }
      }
      logger.error({ err: error, batchSize }, 'append batch failed; every append in it was rejected');
      return storeError(
        StoreErrorCode.writeFailed,
        `storing ${batchSize} request(s) failed and nothing of them was stored: ${(error as Error).message}`,
        error,
      );
    },
    afterCommit: (results) => {
      if (results.some((result) => result.stored > 0)) appended.notify();
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
      throw storeError(StoreErrorCode.readFailed, `${what} failed: ${(error as Error).message}`, error);
    }
  }

  const events: EventLog = {
    async append(input: AppendInput): Promise<AppendResult> {
      assertOpen();
      const prepared = prepareAppend(input);
      const bytes =
        prepared.body.length +
        prepared.events.reduce((sum, e) => sum + e.itemJson.length + (e.image?.length ?? 0), 0);
      return batcher.submit(prepared, { rows: prepared.events.length + 1, bytes });
    },

    async list(query: ListQuery): Promise<StoredEvent[]> {
      assertCount('list limit', query.limit);
      const rows = read('list', () => {
        const { source, type, limit } = query;
        if (source !== undefined && type !== undefined) return listBoth.all(source, type, limit);
        if (source !== undefined) return listBySource.all(source, limit);
        if (type !== undefined) return listByType.all(type, limit);
        return listAll.all(limit);
      });
      return rows.map(toStoredEvent);
    },

    async readAfter(afterSeq: number, limit: number): Promise<StoredEvent[]> {
      if (!Number.isSafeInteger(afterSeq)) {
        throw storeError(
          StoreErrorCode.inputInvalid,
          `readAfter afterSeq must be an integer, got ${afterSeq}`,
        );
      }
      assertCount('readAfter limit', limit);
      return read('readAfter', () => readAfterStmt.all(afterSeq, limit)).map(toStoredEvent);
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
      const chunk = (statement: Database.Statement<[number, number]>): number => {
        assertOpen();
        try {
          return db.transaction(() => statement.run(cutoffMs, PRUNE_CHUNK_ROWS).changes).immediate();
        } catch (error) {
          throw storeError(
            StoreErrorCode.pruneFailed,
            `pruning the event log failed after ${deleted} item(s): ${(error as Error).message}`,
            error,
          );
        }
      };
      for (;;) {
        const changes = chunk(pruneEvents);
        deleted += changes;
        if (changes < PRUNE_CHUNK_ROWS) break;
        // Let pending appends commit between chunks instead of queueing behind the whole prune.
        await new Promise((resolve) => setImmediate(resolve));
      }
      while (chunk(pruneRequests) === PRUNE_CHUNK_ROWS) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      return deleted;
    },

    onAppend(listener: () => void): () => void {
      return appended.add(listener);
    },
  };

  const context: SqliteContext = { db, logger, assertOpen };
  const evaluator = createSqliteEvaluatorStore(context, () => enqueued.notify());
  const outbox = createSqliteOutbox(context, enqueued);

  return {
    engine: 'sqlite',
    path,
    settings,
    events,
    evaluator,
    outbox,
    stats: () => ({ ...counters }),

    async checkWritable(): Promise<boolean> {
      if (state !== 'open') return false;
      try {
        db.transaction(() => touchMeta.run(String(Date.now()))).immediate();
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
          db.close();
          state = 'closed';
        }
      })();
      return closing;
    },
  };
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

function invalid(message: string, cause?: unknown): HookrelayError {
  return storeError(StoreErrorCode.inputInvalid, `cannot append: ${message}`, cause);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function asBuffer(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/**
 * prepareAppend checks and serialises an append before it joins a batch. Everything that would make the
 * INSERTs throw is caught here, so the batch's other appends never fail because of this one.
 */
function prepareAppend(input: AppendInput): PreparedAppend {
  const { request } = input;
  if (!nonEmptyString(request?.source)) throw invalid('request.source must be a non-empty string');
  if (typeof request.event !== 'string') throw invalid('request.event must be a string');
  if (!Number.isFinite(request.receivedAt)) throw invalid('request.receivedAt must be a finite epoch ms');
  const body = asBuffer(request.body);
  if (!body) throw invalid('request.body must be a Buffer');
  if (!Array.isArray(input.events)) throw invalid('events must be an array');
  const events = input.events.map((event, index): PreparedEvent => {
    const where = `events[${index}]`;
    if (!nonEmptyString(event?.dedupeKey)) throw invalid(`${where}.dedupeKey must be a non-empty string`);
    const item = event.item;
    if (typeof item !== 'object' || item === null) throw invalid(`${where}.item must be an object`);
    if (!nonEmptyString(item.source)) throw invalid(`${where}.item.source must be a non-empty string`);
    if (typeof item.event !== 'string') throw invalid(`${where}.item.event must be a string`);
    if (!Number.isFinite(item.at)) throw invalid(`${where}.item.at must be a finite epoch ms`);
    let image: Buffer | null = null;
    if (event.image !== undefined) {
      image = asBuffer(event.image) ?? null;
      if (!image) throw invalid(`${where}.image must be a Buffer`);
    }
    // person comes from the directory at evaluation time; storing it would freeze a stale copy.
    const { person: _person, ...kept } = item;
    let itemJson: string;
    try {
      itemJson = JSON.stringify(kept);
    } catch (error) {
      throw invalid(`${where}.item is not serialisable as JSON: ${(error as Error).message}`, error);
    }
    return {
      source: item.source,
      type: item.event,
      dedupeKey: event.dedupeKey,
      at: Math.round(item.at),
      userId: typeof item.user === 'string' ? item.user : null,
      itemJson,
      image,
    };
  });
  return {
    requestId: randomUUID(),
    source: request.source,
    event: request.event,
    // Integer ms: the column is a STRICT INTEGER, and events.received_at must match it exactly.
    receivedAt: Math.round(request.receivedAt),
    body,
    events,
  };
}
