import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from '../../lib/log.js';
import { encodeAppends } from './batch-codec.js';
import { checkFile } from './connection.js';
import { createBatchCommitter, prepareWriteStatements } from './write-steps.js';
import type {
  ConnectionSettings,
  FileIdentity,
  PreparedAppend,
  WriteBatch,
  WriteBatchResult,
  WriterReply,
  WriterRequest,
  WriterThreadData,
} from './write-types.js';

/**
 * Writer commits write batches, one at a time: the caller (the store's GroupCommit) never sends a batch
 * while another is in flight. Both writers run the steps of write-steps.js: on the writer thread for a
 * database file, on the main connection for `:memory:` (which a thread cannot share).
 */
export interface Writer {
  /** offLoop is true when commits run off the event loop (the writer thread). */
  readonly offLoop: boolean;
  /**
   * commit writes the batch in ONE IMMEDIATE transaction and resolves once it has committed durably, with
   * per part what happened (see createBatchCommitter: a part that fails alone never fails another). It
   * rejects when the writer thread died with the batch in flight (the batch may have committed just
   * before: a retry then counts its items as duplicates, never loses them; a claim's rows stay leased
   * until their lease runs out or `releaseLeases` at the next start), or is down for good.
   */
  commit(batch: WriteBatch<PreparedAppend>): Promise<WriteBatchResult>;
  /** healthy is false once the writer thread kept crashing and the writer gave up (every write then rejects). */
  readonly healthy: boolean;
  /** Writer threads restarted after a crash since start. */
  readonly restarts: number;
  /** close lets the writer finish and release its connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * createInlineWriter commits on `db`, the main connection, synchronously: for `:memory:`, and for a file
 * that refused WAL mode (then `file` is checked after every commit, as the writer thread does).
 */
export function createInlineWriter(
  db: Database.Database,
  logger: Logger,
  file?: { path: string; identity: FileIdentity },
): Writer {
  const commit = createBatchCommitter(db, prepareWriteStatements(db), (error) =>
    logger.error({ err: error }, 'rollback after a failed write batch failed'),
  );
  return {
    offLoop: false,
    healthy: true,
    restarts: 0,
    async commit(batch) {
      const result = commit(batch);
      const lost = file && checkFile(file.path, file.identity);
      if (lost) result.lost = lost;
      return result;
    },
    async close() {},
  };
}

/** WriterThreadOptions configure `startWriterThread`. */
export interface WriterThreadOptions extends ConnectionSettings {
  /** The database file; it must exist and be migrated (the thread never creates or migrates it). */
  path: string;
  /** The identity of the file the store opened (see WriterThreadData). */
  identity: FileIdentity;
  logger: Logger;
  /** Crashes tolerated within `restartWindowMs` before the writer gives up (default 3 in 60 s). */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** Called with each thread started (the first and every restart); for tests and diagnostics. */
  onSpawn?: (worker: Worker) => void;
}

interface InFlight {
  id: number;
  resolve(result: WriteBatchResult): void;
  reject(error: Error): void;
}

const CLOSE_TIMEOUT_MS = 5_000;
const THREAD_FILE = new URL('./writer-thread.js', import.meta.url);

/**
 * startWriterThread starts the writer thread on an existing, migrated database and resolves once its
 * connection is open (WAL, `synchronous = FULL`, foreign keys on). It rejects when the thread cannot open
 * the database. A thread that dies later rejects the batch in flight and is restarted; after `maxRestarts`
 * crashes within `restartWindowMs` (or a restart that cannot open the database) the writer gives up loudly:
 * it logs an error, `healthy` turns false and every write rejects, so no request ever hangs.
 */
export async function startWriterThread(options: WriterThreadOptions): Promise<Writer> {
  const logger = options.logger;
  const maxRestarts = options.maxRestarts ?? 3;
  const restartWindowMs = options.restartWindowMs ?? 60_000;
  const threadData: WriterThreadData = {
    path: options.path,
    identity: options.identity,
    busyTimeoutMs: options.busyTimeoutMs,
    journalSizeLimitBytes: options.journalSizeLimitBytes,
    ...(options.maxPageCount === undefined ? {} : { maxPageCount: options.maxPageCount }),
  };
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

  const settle = (message: Extract<WriterReply, { type: 'done' }>): void => {
    const current = inFlight;
    if (!current || current.id !== message.id) {
      logger.error({ id: message.id }, 'the writer thread answered a batch that is not in flight; ignored');
      return;
    }
    inFlight = undefined;
    worker?.unref();
    current.resolve(message.result);
  };

  const giveUp = (reason: string): void => {
    state = 'broken';
    brokenReason = reason;
    logger.error({ reason }, 'the writer thread is down for good: writes fail until hookrelay restarts');
  };

  const onExit = (code: number): void => {
    const current = inFlight;
    inFlight = undefined;
    if (state === 'closing' || state === 'closed') {
      current?.reject(new Error('the store closed with a write in flight'));
      return;
    }
    logger.error({ code, writeInFlight: current !== undefined }, 'the writer thread died');
    current?.reject(
      new Error(
        `the writer thread died (exit code ${code}) with this write in flight; it may have committed just before`,
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
        logger.warn({ restarts }, 'the writer thread was restarted');
      },
      (error: unknown) => giveUp(`a restart failed: ${(error as Error).message}`),
    );
  };

  function spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const next = new Worker(THREAD_FILE, { workerData: threadData, name: 'hookrelay-sqlite-writer' });
      worker = next;
      exited = new Promise<number>((done) => next.once('exit', done));
      let started = false;
      next.on('message', (message: WriterReply) => {
        if (message.type === 'ready') {
          started = true;
          if (message.synchronous !== 2 || message.journalMode !== 'wal') {
            logger.warn(
              { journalMode: message.journalMode, synchronous: message.synchronous },
              'the writer thread connection is not in WAL mode with synchronous FULL',
            );
          }
          // Idle between writes: a store nobody closed must not keep the process alive.
          next.unref();
          resolve();
        } else if (message.type === 'fatal') {
          reject(new Error(`the writer thread could not open ${options.path}: ${message.message}`));
        } else {
          settle(message);
        }
      });
      next.on('error', (error) => {
        if (!started) reject(error);
        else logger.error({ err: error }, 'the writer thread failed');
      });
      next.once('exit', (code) => {
        if (!started) {
          reject(new Error(`the writer thread exited with code ${code} before it was ready`));
          return;
        }
        if (worker === next) onExit(code);
      });
      options.onSpawn?.(next);
    });
  }

  await spawn();

  return {
    offLoop: true,
    get healthy() {
      return state === 'running' || state === 'restarting';
    },
    get restarts() {
      return restarts;
    },

    async commit(batch) {
      if (state === 'restarting') await restarting;
      if (state === 'broken') throw new Error(`the writer thread is down: ${brokenReason}`);
      const current = worker;
      if (state !== 'running' || !current) throw new Error('the writer thread is closed');
      if (inFlight) throw new Error('a batch is already in flight');
      const { fields, bytes } = encodeAppends(batch.appends);
      const id = nextId++;
      const request: WriterRequest = {
        type: 'batch',
        id,
        fields,
        bytes,
        steps: batch.steps,
        writes: batch.writes,
      };
      return new Promise<WriteBatchResult>((resolve, reject) => {
        inFlight = { id, resolve, reject };
        // Referenced while a batch is in flight, so the process waits for its commit.
        current.ref();
        current.postMessage(request, [bytes]);
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
          current.postMessage({ type: 'close' } satisfies WriterRequest);
          const timer = setTimeout(() => {
            logger.warn('the writer thread did not exit within 5 s of close; terminating it');
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
