import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../lib/log.js';
import type { PreparedCommit } from '../validate.js';
import type { NotificationRow, OutboxWrite, OutboxWriteOutcome } from './outbox.js';
import type { PreparedAppend } from './prepare-append.js';

/*
 * The append writer: a worker thread that owns its own better-sqlite3 connection and commits append
 * batches there, so the fsync of `synchronous = FULL` (milliseconds on a real disk) never blocks the event
 * loop. While one batch commits, the requests that keep arriving queue up in the main thread and go as the
 * next batch the moment it is done: batches grow with the fsync latency (true group commit). Evaluator
 * steps ride in the same transaction: the evaluator commits after every batch it reads, and on the main
 * connection each of those commits would block the loop for an fsync of its own (measured: a third of the
 * main thread's time under load), or cost the worker a second fsync per batch. Outbox claims and
 * transitions ride too: one fsync'd transaction each on the main connection (~0.4 ms of blocked loop per
 * delivery) held deliveries to ~1,400/s; here hundreds share a transaction, off the loop.
 *
 * Why the worker is JavaScript in a string (run with `eval: true`): the same code must start from compiled
 * `dist/` and from the TypeScript sources vitest runs, and Node 20 cannot load a `.ts` worker file, while
 * the build (tsc) copies no `.js`/`.mjs` file. The worker needs no TypeScript: it requires only
 * better-sqlite3 (by the absolute path resolved here, so the working directory never matters) and
 * receives its SQL and ready-made row values. The SQL and the schema stay in the TypeScript modules.
 */

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);

let db;
let batch;
let appendsTx;
let stepTx;
let outboxTx;
let transitionTx;

function describe(error) {
  return { message: String((error && error.message) || error), code: error && error.code };
}

// better-sqlite3 rolls back on a throw; this only guards the connection if COMMIT itself failed.
function rollback() {
  if (db.open && db.inTransaction) {
    try { db.exec('ROLLBACK'); } catch {}
  }
}

try {
  db = new Database(workerData.path, { fileMustExist: true });
  db.pragma('busy_timeout = ' + Number(workerData.busyTimeoutMs));
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('journal_size_limit = ' + Number(workerData.journalSizeLimitBytes));
  // This connection makes nearly every commit, so it runs SQLite's automatic checkpoints (every 1,000 WAL
  // pages), here, off the event loop. Larger intervals and page caches were measured: no steady gain, and
  // longer stalls when a checkpoint runs.
  const sql = workerData.sql;
  const insertEvent = db.prepare(sql.insertEvent);
  const insertRequest = db.prepare(sql.insertRequest);
  const readCursor = db.prepare(sql.readCursor).pluck();
  const writeCursor = db.prepare(sql.writeCursor);
  const upsertState = db.prepare(sql.upsertState);
  const deleteState = db.prepare(sql.deleteState);
  const insertNotification = db.prepare(sql.insertNotification);
  const isPaused = db.prepare(sql.isPaused).pluck();
  const headOf = db.prepare(sql.headOf);
  const lease = db.prepare(sql.lease);
  const findById = db.prepare(sql.findById);
  const insertAttempt = db.prepare(sql.insertAttempt);
  const markDelivered = db.prepare(sql.markDelivered);
  const markRetry = db.prepare(sql.markRetry);
  const markDead = db.prepare(sql.markDead);

  // fields: per append [requestId, source, event, receivedAt, bodyOffset, bodyLength, eventCount], then per
  // event [source, type, dedupeKey, at, userId, itemJson, imageOffset (-1: none), imageLength].
  appendsTx = db.transaction((fields, bytes) => {
    const stored = [];
    let i = 0;
    while (i < fields.length) {
      const requestId = fields[i];
      const receivedAt = fields[i + 3];
      const eventCount = fields[i + 6];
      const head = i;
      i += 7;
      let count = 0;
      for (let k = 0; k < eventCount; k++, i += 8) {
        const imageOffset = fields[i + 6];
        const image = imageOffset < 0 ? null : bytes.subarray(imageOffset, imageOffset + fields[i + 7]);
        count += insertEvent.run(
          fields[i], fields[i + 1], fields[i + 2], requestId, fields[i + 3], receivedAt, fields[i + 4],
          fields[i + 5], image,
        ).changes;
      }
      // The deferred foreign key lets the request row follow its items, and be skipped when none was new.
      if (count > 0) {
        const bodyOffset = fields[head + 4];
        insertRequest.run(
          requestId, fields[head + 1], fields[head + 2], receivedAt,
          bytes.subarray(bodyOffset, bodyOffset + fields[head + 5]),
        );
      }
      stored.push(count);
    }
    return stored;
  });

  // One evaluation step (evaluator-store.ts runs the same for :memory:). The cursor is read under the write
  // lock; a conflict writes nothing and is reported as a result, not thrown.
  stepTx = db.transaction((step) => {
    const stored = readCursor.get() ?? 0;
    if (stored !== step.fromCursor) return { conflict: stored };
    for (const key of step.deletes) deleteState.run(key);
    for (const entry of step.upserts) upsertState.run(entry.key, entry.json);
    let inserted = 0;
    for (const n of step.notifications) {
      inserted += insertNotification.run(
        n.id, n.destination, n.alertJson, n.requestId, n.eventSeq, n.createdAt, n.orderKey, n.dueAt,
      ).changes;
    }
    writeCursor.run(step.cursor);
    return { inserted };
  });

  // One transition (outbox.ts runs the same for :memory:): whether it changed the row.
  const transition = (write) => {
    const a = write.attempt;
    const row = findById.get(write.id);
    if (!row) return false;
    insertAttempt.run(row.seq, a.at, a.durationMs, a.outcome, a.reason, a.detail);
    let changes;
    if (write.to === 'delivered') changes = markDelivered.run(a.at, row.seq).changes;
    else if (write.to === 'retry') changes = markRetry.run(write.dueAt ?? a.at, row.seq).changes;
    else changes = markDead.run(write.reason ?? '', a.at, row.seq).changes;
    return changes > 0;
  };

  // One outbox write: a claim or a group of transitions (outbox.ts runs the same for :memory:). A claim
  // returns the rows it leased as they were read; a group, per transition, whether it changed its row.
  const outboxWrite = (write) => {
    if (write.kind === 'claim') {
      const query = write.claim;
      const claimed = [];
      if (query.limit === 0) return { claimed };
      for (const destination of query.destinations) {
        if (isPaused.get(destination) !== undefined) continue;
        for (const row of headOf.all(destination, query.limit)) {
          // Head-of-line: a row not due yet, or leased by a claim still running, holds back the rest.
          if (row.due_at > query.now) break;
          if (row.lease_until !== null && row.lease_until > query.now) break;
          lease.run(query.leaseUntil, query.now, row.seq);
          claimed.push(row);
        }
      }
      return { claimed };
    }
    return { changed: write.transitions.map(transition) };
  };
  outboxTx = db.transaction(outboxWrite);
  transitionTx = db.transaction(transition);

  // The appends, the evaluator steps and the outbox writes of a batch share ONE transaction (one fsync).
  // Called inside it, appendsTx and stepTx run as savepoints; the outbox writes, many small ones, run in
  // it directly (a savepoint each would cost more than the write), in the order they were made. Any
  // failure rolls the whole batch back and run() retries the parts alone.
  batch = db.transaction((fields, bytes, steps, writes) => ({
    stored: fields.length > 0 ? appendsTx(fields, bytes) : [],
    steps: steps.map((step) => stepTx(step)),
    outbox: writes.map(outboxWrite),
  }));
} catch (error) {
  parentPort.postMessage({ type: 'fatal', message: describe(error).message });
  if (db && db.open) db.close();
  parentPort.close();
  batch = undefined;
}

/**
 * run commits a batch in one IMMEDIATE transaction (the write lock is taken at BEGIN, so another process
 * can't make it fail halfway). When that fails, each part (all the appends, each step, each outbox write)
 * is committed again on its own, so one part's failure never fails another: the reply says per part what
 * happened. A busy database is the exception: it fails every part at once, since each retry would wait
 * out the busy timeout again.
 */
function run(fields, bytes, steps, writes) {
  try {
    return batch.immediate(fields, bytes, steps, writes);
  } catch (error) {
    rollback();
    const parts = (fields.length > 0 ? 1 : 0) + steps.length + writes.length;
    const busy = typeof error?.code === 'string' && error.code.startsWith('SQLITE_BUSY');
    if (parts <= 1 || busy) {
      const failed = describe(error);
      return {
        stored: fields.length > 0 ? failed : [],
        steps: steps.map(() => failed),
        outbox: writes.map(() => failed),
      };
    }
  }
  const result = { stored: [], steps: [], outbox: [] };
  if (fields.length > 0) {
    try {
      result.stored = appendsTx.immediate(fields, bytes);
    } catch (error) {
      rollback();
      result.stored = describe(error);
    }
  }
  for (const step of steps) {
    try {
      result.steps.push(stepTx.immediate(step));
    } catch (error) {
      rollback();
      result.steps.push(describe(error));
    }
  }
  for (const write of writes) {
    if (write.kind === 'transitions') {
      // Alone, each transition of a group: one that fails fails no other.
      const changed = write.transitions.map((one) => {
        try {
          return transitionTx.immediate(one);
        } catch (error) {
          rollback();
          return describe(error);
        }
      });
      result.outbox.push({ changed });
      continue;
    }
    try {
      result.outbox.push(outboxTx.immediate(write));
    } catch (error) {
      rollback();
      result.outbox.push(describe(error));
    }
  }
  return result;
}

if (batch) {
  parentPort.on('message', (message) => {
    if (message.type === 'batch') {
      const result = run(message.fields, new Uint8Array(message.bytes), message.steps, message.outbox);
      parentPort.postMessage({ type: 'done', id: message.id, result });
    } else if (message.type === 'close') {
      db.close();
      parentPort.close();
    }
  });
  parentPort.postMessage({
    type: 'ready',
    journalMode: String(db.pragma('journal_mode', { simple: true })),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
  });
}
`;

/** WriterSql is the SQL the worker prepares; the statements and the schema stay in the TypeScript modules. */
export interface WriterSql {
  /** (source, type, dedupe_key, request_id, at, received_at, user_id, item, image), skipping duplicates. */
  insertEvent: string;
  /** (id, source, event, received_at, body). */
  insertRequest: string;
  /** The evaluator cursor (one value). */
  readCursor: string;
  /** (seq). */
  writeCursor: string;
  /** (key, json). */
  upsertState: string;
  /** (key). */
  deleteState: string;
  /** (id, destination, alert, request_id, event_seq, created_at, order_key, due_at), skipping known ids. */
  insertNotification: string;
  /** The statements of claims and transitions: OUTBOX_SQL (outbox.ts). */
  isPaused: string;
  headOf: string;
  lease: string;
  findById: string;
  insertAttempt: string;
  markDelivered: string;
  markRetry: string;
  markDead: string;
}

/** AppendWorkerOptions configure `startAppendWorker`. */
export interface AppendWorkerOptions {
  /** The database file; it must exist and be migrated (the worker never creates or migrates it). */
  path: string;
  busyTimeoutMs: number;
  journalSizeLimitBytes: number;
  sql: WriterSql;
  logger: Logger;
  /** Crashes tolerated within `restartWindowMs` before the writer gives up (default 3 in 60 s). */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** Called with each worker started (the first and every restart); for tests and diagnostics. */
  onSpawn?: (worker: Worker) => void;
}

/** EvaluatorStepOutcome is what an evaluator step did: notifications inserted, or the cursor it found instead. */
export type EvaluatorStepOutcome = { inserted: number } | { conflict: number };

/**
 * WriteBatchResult says what a batch did, per part: the items newly stored per append (in order), or the
 * error that rolled all the appends back; per evaluator step its outcome or its error; and per outbox
 * write its outcome or its error.
 */
export interface WriteBatchResult {
  stored: number[] | Error;
  steps: Array<EvaluatorStepOutcome | Error>;
  outbox: Array<OutboxWriteOutcome | Error>;
}

/**
 * AppendWriter commits writes on the worker's connection, off the event loop, one batch at a time: the
 * caller (the store's GroupCommit) never sends a batch while another is in flight.
 */
export interface AppendWriter {
  /**
   * commit writes the appends, the evaluator steps and the outbox writes (in that order; the outbox writes
   * in the order given) in ONE IMMEDIATE transaction (one fsync) and resolves once it has committed
   * durably. When that transaction fails, the worker commits the appends, each step and each outbox write
   * again on their own, so one part's failure never fails another (unless the database was busy: then
   * every part fails at once); the result says per part. A step whose cursor is not its `fromCursor`
   * writes nothing and reports `{ conflict }`. It rejects when the worker died with the batch in flight
   * (the batch may have committed just before: a retry then counts its items as duplicates, never loses
   * them; a claim's rows stay leased until their lease runs out or `releaseLeases` at the next start).
   */
  commit(
    appends: readonly PreparedAppend[],
    steps: readonly PreparedCommit[],
    outbox: readonly OutboxWrite[],
  ): Promise<WriteBatchResult>;
  /** healthy is false once the worker kept crashing and the writer gave up (every write then rejects). */
  readonly healthy: boolean;
  /** Workers restarted after a crash since start. */
  readonly restarts: number;
  /** close lets the worker close its connection and exit (terminating it after 5 s). Idempotent. */
  close(): Promise<void>;
}

/** How the worker reports an error (an Error does not survive the trip with its `code`). */
interface WorkerError {
  message: string;
  code?: string;
}

type WorkerMessage =
  | { type: 'ready'; journalMode: string; synchronous: number }
  | { type: 'fatal'; message: string }
  | {
      type: 'done';
      id: number;
      result: {
        stored: number[] | WorkerError;
        steps: Array<EvaluatorStepOutcome | WorkerError>;
        outbox: Array<WorkerOutboxOutcome | WorkerError>;
      };
    };

/** What the worker reports for an outbox write: as OutboxWriteOutcome, with errors as WorkerErrors. */
type WorkerOutboxOutcome = { claimed: NotificationRow[] } | { changed: Array<boolean | WorkerError> };

function toOutboxOutcome(reported: WorkerOutboxOutcome | WorkerError): OutboxWriteOutcome | Error {
  if (isWorkerError(reported)) return toError(reported);
  if ('claimed' in reported) return reported;
  return { changed: reported.changed.map((one) => (typeof one === 'boolean' ? one : toError(one))) };
}

function toError(reported: WorkerError): Error {
  const error = new Error(reported.message) as Error & { code?: string };
  if (reported.code !== undefined) error.code = reported.code;
  return error;
}

function isWorkerError(value: object): value is WorkerError {
  return 'message' in value;
}

interface InFlight {
  id: number;
  resolve(result: WriteBatchResult): void;
  reject(error: Error): void;
}

const CLOSE_TIMEOUT_MS = 5_000;

let driverPath: string | undefined;

/** The absolute path of better-sqlite3's entry, as this module resolves it (never the working directory). */
function resolveDriver(): string {
  driverPath ??= createRequire(import.meta.url).resolve('better-sqlite3');
  return driverPath;
}

/**
 * encodeBatch flattens a batch into one array of primitives plus one byte buffer holding every body and
 * image, so posting it costs one structured clone of short values and a transfer (no copy) of the bytes.
 * The bytes are copied into a fresh buffer first: a request body may be a view into a shared pool, which
 * must be neither transferred nor cloned whole.
 */
function encodeBatch(batch: readonly PreparedAppend[]): {
  fields: (string | number | null)[];
  bytes: ArrayBuffer;
} {
  let total = 0;
  for (const append of batch) {
    total += append.body.length;
    for (const event of append.events) if (event.image) total += event.image.length;
  }
  const bytes = new Uint8Array(total);
  const fields: (string | number | null)[] = [];
  let offset = 0;
  for (const append of batch) {
    bytes.set(append.body, offset);
    fields.push(
      append.requestId,
      append.source,
      append.event,
      append.receivedAt,
      offset,
      append.body.length,
      append.events.length,
    );
    offset += append.body.length;
    for (const event of append.events) {
      let imageOffset = -1;
      let imageLength = 0;
      if (event.image) {
        bytes.set(event.image, offset);
        imageOffset = offset;
        imageLength = event.image.length;
        offset += imageLength;
      }
      fields.push(
        event.source,
        event.type,
        event.dedupeKey,
        event.at,
        event.userId,
        event.itemJson,
        imageOffset,
        imageLength,
      );
    }
  }
  return { fields, bytes: bytes.buffer };
}

/**
 * startAppendWorker starts the writer thread on an existing, migrated database and resolves once its
 * connection is open (WAL, `synchronous = FULL`, foreign keys on). It rejects when the worker cannot open
 * the database. A worker that dies later rejects the write in flight and is restarted; after `maxRestarts`
 * crashes within `restartWindowMs` (or a restart that cannot open the database) the writer gives up loudly:
 * it logs an error, `healthy` turns false and every write rejects, so no request ever hangs.
 */
export async function startAppendWorker(options: AppendWorkerOptions): Promise<AppendWriter> {
  const logger = options.logger;
  const maxRestarts = options.maxRestarts ?? 3;
  const restartWindowMs = options.restartWindowMs ?? 60_000;
  let worker: Worker | undefined;
  let inFlight: InFlight | undefined;
  let nextId = 1;
  let state: 'running' | 'restarting' | 'broken' | 'closing' | 'closed' = 'running';
  let brokenReason = '';
  let restarts = 0;
  const crashes: number[] = [];
  let restarting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let exited: Promise<number> = Promise.resolve(0);

  const settle = (message: Extract<WorkerMessage, { id: number }>): void => {
    const current = inFlight;
    if (!current || current.id !== message.id) {
      logger.error({ id: message.id }, 'the append worker answered a write that is not in flight; ignored');
      return;
    }
    inFlight = undefined;
    worker?.unref();
    const { stored, steps, outbox } = message.result;
    current.resolve({
      stored: Array.isArray(stored) ? stored : toError(stored),
      steps: steps.map((step) => (isWorkerError(step) ? toError(step) : step)),
      outbox: outbox.map(toOutboxOutcome),
    });
  };

  const giveUp = (reason: string): void => {
    state = 'broken';
    brokenReason = reason;
    logger.error({ reason }, 'the append worker is down for good: writes fail until hookrelay restarts');
  };

  const onExit = (code: number): void => {
    const current = inFlight;
    inFlight = undefined;
    if (state === 'closing' || state === 'closed') {
      current?.reject(new Error('the store closed with a write in flight'));
      return;
    }
    logger.error({ code, writeInFlight: current !== undefined }, 'the append worker died');
    current?.reject(
      new Error(
        `the append worker died (exit code ${code}) with this write in flight; it may have committed just before`,
      ),
    );
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && (crashes[0] ?? now) < now - restartWindowMs) crashes.shift();
    if (crashes.length > maxRestarts) {
      giveUp(`it died ${crashes.length} times within ${restartWindowMs} ms`);
      return;
    }
    state = 'restarting';
    restarts += 1;
    restarting = spawn().then(
      () => {
        if (state === 'restarting') state = 'running';
        logger.warn({ restarts }, 'the append worker was restarted');
      },
      (error: unknown) => giveUp(`a restart failed: ${(error as Error).message}`),
    );
  };

  function spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const next = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          driverPath: resolveDriver(),
          path: options.path,
          busyTimeoutMs: options.busyTimeoutMs,
          journalSizeLimitBytes: options.journalSizeLimitBytes,
          sql: options.sql,
        },
      });
      worker = next;
      exited = new Promise<number>((done) => next.once('exit', done));
      let started = false;
      next.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          started = true;
          if (message.synchronous !== 2 || message.journalMode !== 'wal') {
            logger.warn(
              { journalMode: message.journalMode, synchronous: message.synchronous },
              'the append worker connection is not in WAL mode with synchronous FULL',
            );
          }
          // Idle between writes: a store nobody closed must not keep the process alive.
          next.unref();
          resolve();
        } else if (message.type === 'fatal') {
          reject(new Error(`the append worker could not open ${options.path}: ${message.message}`));
        } else {
          settle(message);
        }
      });
      next.on('error', (error) => {
        if (!started) reject(error);
        else logger.error({ err: error }, 'the append worker failed');
      });
      next.once('exit', (code) => {
        if (!started) {
          reject(new Error(`the append worker exited with code ${code} before it was ready`));
          return;
        }
        if (worker === next) onExit(code);
      });
      options.onSpawn?.(next);
    });
  }

  await spawn();

  return {
    get healthy() {
      return state === 'running' || state === 'restarting';
    },
    get restarts() {
      return restarts;
    },

    async commit(appends, steps, outbox) {
      if (state === 'restarting') await restarting;
      if (state === 'broken') throw new Error(`the append worker is down: ${brokenReason}`);
      const current = worker;
      if (state !== 'running' || !current) throw new Error('the append worker is closed');
      if (inFlight) throw new Error('a batch is already in flight');
      const { fields, bytes } = encodeBatch(appends);
      const id = nextId++;
      return new Promise<WriteBatchResult>((resolve, reject) => {
        inFlight = { id, resolve, reject };
        // Referenced while a batch is in flight, so the process waits for its commit.
        current.ref();
        current.postMessage({ type: 'batch', id, fields, bytes, steps, outbox }, [bytes]);
      });
    },

    close(): Promise<void> {
      closing ??= (async () => {
        if (state === 'restarting') await restarting;
        const current = worker;
        const wasRunning = state === 'running';
        state = 'closing';
        if (wasRunning && current) {
          current.ref();
          current.postMessage({ type: 'close' });
          const timer = setTimeout(() => {
            logger.warn('the append worker did not exit within 5 s of close; terminating it');
            void current.terminate();
          }, CLOSE_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
        state = 'closed';
      })();
      return closing;
    },
  };
}
