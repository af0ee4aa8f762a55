/*
 * The SQLite writer thread: the one connection that commits a database file's write batches (appends,
 * evaluator steps, outbox claims and transitions), off the event loop, so the fsync of
 * `synchronous = FULL` (milliseconds on a real disk) never blocks it. While one batch commits, what keeps
 * arriving queues up in the main thread and goes as the next batch the moment it is done: batches grow
 * with the fsync latency (true group commit). Started by writer.ts with
 * `new Worker(new URL('./writer-thread.js', import.meta.url))`; the steps it runs are those of
 * write-steps.js, which the `:memory:` path runs on the main thread.
 */

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { decodeAppends } from './batch-codec.js';
import { checkFile, configureConnection } from './connection.js';
import { createBatchCommitter, describeFailure, prepareWriteStatements } from './write-steps.js';

/** @import { WriterReply, WriterRequest, WriterThreadData } from './write-types.js' */

const port = parentPort;
if (!port) throw new Error('writer-thread.js runs only as a worker thread');
const data = /** @type {WriterThreadData} */ (workerData);

/** @param {WriterReply} reply */
const reply = (reply) => port.postMessage(reply);

/** @type {Database.Database | undefined} */
let db;
try {
  db = new Database(data.path, { fileMustExist: true });
  configureConnection(db, data);
  // This connection makes nearly every commit, so it runs SQLite's automatic checkpoints (every 1,000
  // WAL pages), here, off the event loop. Larger intervals and page caches were measured: no steady
  // gain, and longer stalls when a checkpoint runs.
  const connection = db;
  const commit = createBatchCommitter(connection, prepareWriteStatements(connection));
  port.on('message', (/** @type {WriterRequest} */ message) => {
    if (message.type === 'batch') {
      const appends = decodeAppends(message.fields, message.bytes);
      const result = commit({ appends, steps: message.steps, writes: message.writes });
      // Before the answer that acknowledges it: did this commit go to the file the store opened?
      const lost = checkFile(data.path, data.identity);
      if (lost) result.lost = lost;
      reply({ type: 'done', id: message.id, result });
    } else if (message.type === 'close') {
      connection.close();
      port.close();
    }
  });
  reply({
    type: 'ready',
    journalMode: String(connection.pragma('journal_mode', { simple: true })),
    synchronous: Number(connection.pragma('synchronous', { simple: true })),
  });
} catch (error) {
  const { message, code } = describeFailure(error);
  reply(code === undefined ? { type: 'fatal', message } : { type: 'fatal', message, code });
  if (db?.open) db.close();
  port.close();
}
