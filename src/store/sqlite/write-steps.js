/*
 * Every statement-level step of the SQLite write path, written once: the append of a request and its
 * items, the evaluator step, the outbox claim and transition, and the batch that commits them together.
 * The writer thread (writer-thread.js) runs them on its own connection for a database file; the main
 * thread runs the very same functions on its connection for `:memory:` (writer.ts), and bench/sqlite-floor
 * times `appendTransaction`. Plain JavaScript, because a worker thread cannot start from a .ts file on
 * Node 20; tsc checks it through the JSDoc types (checkJs), and the shared types are in write-types.ts.
 */

import { planSlots } from '../pacing-slots.js';

/**
 * @import { Database, Statement, Transaction } from 'better-sqlite3'
 * @import { PreparedClaim, PreparedCommit } from '../validate.js'
 * @import {
 *   AppendRows,
 *   ClaimedRow,
 *   EvaluatorStepOutcome,
 *   NotificationRow,
 *   OutboxWrite,
 *   OutboxWriteOutcome,
 *   TransitionWrite,
 *   WriteBatch,
 *   WriteBatchResult,
 *   WriteFailure,
 * } from './write-types.js'
 */

const NOTIFICATION_COLUMNS =
  'seq, id, destination, alert, request_id, event_seq, created_at, due_at, lease_until, attempts, first_attempt_at';

/** WRITE_SQL holds every statement a write batch runs. The schema is in migrations.ts. */
export const WRITE_SQL = {
  insertEvent: `INSERT INTO events (source, type, dedupe_key, request_id, at, received_at, user_id, item, image)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (source, dedupe_key) DO NOTHING`,
  insertRequest: 'INSERT INTO requests (id, source, event, received_at, body) VALUES (?, ?, ?, ?, ?)',
  readCursor: 'SELECT seq FROM evaluator_cursor WHERE id = 1',
  writeCursor: 'UPDATE evaluator_cursor SET seq = ? WHERE id = 1',
  upsertState:
    'INSERT INTO rule_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  deleteState: 'DELETE FROM rule_state WHERE key = ?',
  insertNotification: `INSERT INTO notifications
       (id, destination, alert, alert_id, alert_rule, request_id, event_seq, created_at, order_key, due_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO NOTHING`,
  isPaused: 'SELECT 1 FROM paused_destinations WHERE destination = ?',
  // The head of one destination's queue, in delivery order (served by the notifications_pending index).
  headOf: `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
     WHERE destination = ? AND status = 'pending'
     ORDER BY created_at, order_key, seq
     LIMIT ?`,
  lease: `UPDATE notifications
     SET lease_until = ?, attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, ?),
       claim_token = ?
     WHERE seq = ?`,
  readPacing: 'SELECT tat FROM destination_pacing WHERE destination = ?',
  writePacing: `INSERT INTO destination_pacing (destination, tat) VALUES (?, ?)
     ON CONFLICT (destination) DO UPDATE SET tat = excluded.tat`,
  findById: 'SELECT seq, status, claim_token FROM notifications WHERE id = ?',
  insertAttempt: `INSERT INTO notification_attempts (notification_seq, at, duration_ms, outcome, reason, detail)
     VALUES (?, ?, ?, ?, ?, ?)`,
  markDelivered: `UPDATE notifications SET status = 'delivered', delivered_at = ?, lease_until = NULL
     WHERE seq = ? AND status = 'pending'`,
  markRetry: `UPDATE notifications SET due_at = ?, lease_until = NULL WHERE seq = ? AND status = 'pending'`,
  markDead: `UPDATE notifications SET status = 'dead', dead_reason = ?, dead_at = ?, lease_until = NULL
     WHERE seq = ? AND status = 'pending'`,
};

/** NOTIFICATION_COLUMNS is what claims and dead-letter reads select, in the order of NotificationRow. */
export { NOTIFICATION_COLUMNS };

/**
 * @typedef {object} WriteStatements The prepared statements of WRITE_SQL on one connection.
 * @property {Database} db
 * @property {Statement<[string, string, string, string, number, number, string | null, string, Uint8Array | null]>} insertEvent
 * @property {Statement<[string, string, string, number, Uint8Array]>} insertRequest
 * @property {Statement<[], number>} readCursor
 * @property {Statement<[number]>} writeCursor
 * @property {Statement<[string, string]>} upsertState
 * @property {Statement<[string]>} deleteState
 * @property {Statement<[string, string, string, string | null, string | null, string | null, number | null, number, number, number]>} insertNotification
 * @property {Statement<[string], number>} isPaused
 * @property {Statement<[string, number], NotificationRow>} headOf
 * @property {Statement<[number, number, string, number]>} lease
 * @property {Statement<[string], number>} readPacing
 * @property {Statement<[string, number]>} writePacing
 * @property {Statement<[string], { seq: number; status: string; claim_token: string | null }>} findById
 * @property {Statement<[number, number, number, string, string | null, string | null]>} insertAttempt
 * @property {Statement<[number, number]>} markDelivered
 * @property {Statement<[number, number]>} markRetry
 * @property {Statement<[string, number, number]>} markDead
 */

/**
 * prepareWriteStatements prepares WRITE_SQL on `db` (a migrated database).
 * @param {Database} db
 * @returns {WriteStatements}
 */
export function prepareWriteStatements(db) {
  return {
    db,
    insertEvent: db.prepare(WRITE_SQL.insertEvent),
    insertRequest: db.prepare(WRITE_SQL.insertRequest),
    readCursor: /** @type {Statement<[], number>} */ (db.prepare(WRITE_SQL.readCursor).pluck()),
    writeCursor: db.prepare(WRITE_SQL.writeCursor),
    upsertState: db.prepare(WRITE_SQL.upsertState),
    deleteState: db.prepare(WRITE_SQL.deleteState),
    insertNotification: db.prepare(WRITE_SQL.insertNotification),
    isPaused: /** @type {Statement<[string], number>} */ (db.prepare(WRITE_SQL.isPaused).pluck()),
    headOf: /** @type {Statement<[string, number], NotificationRow>} */ (db.prepare(WRITE_SQL.headOf)),
    lease: db.prepare(WRITE_SQL.lease),
    readPacing: /** @type {Statement<[string], number>} */ (db.prepare(WRITE_SQL.readPacing).pluck()),
    writePacing: db.prepare(WRITE_SQL.writePacing),
    findById:
      /** @type {Statement<[string], { seq: number; status: string; claim_token: string | null }>} */ (
        db.prepare(WRITE_SQL.findById)
      ),
    insertAttempt: db.prepare(WRITE_SQL.insertAttempt),
    markDelivered: db.prepare(WRITE_SQL.markDelivered),
    markRetry: db.prepare(WRITE_SQL.markRetry),
    markDead: db.prepare(WRITE_SQL.markDead),
  };
}

/**
 * appendRows inserts one request's items, then its request row when one of them was new, and returns how
 * many items it stored (the others are duplicates of a stored source and dedupe key).
 * @param {WriteStatements} s
 * @param {AppendRows} append
 * @returns {number}
 */
export function appendRows(s, append) {
  let stored = 0;
  for (const event of append.events) {
    stored += s.insertEvent.run(
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
    s.insertRequest.run(append.requestId, append.source, append.event, append.receivedAt, append.body);
  }
  return stored;
}

/**
 * evaluatorStep writes one evaluation step: state deletes and upserts, notifications (an id already stored
 * is skipped) and the new cursor. The cursor is read under the write lock; when it is not the step's
 * `fromCursor` the step writes nothing and reports the cursor it found (not an error: the caller decides).
 * @param {WriteStatements} s
 * @param {PreparedCommit} step
 * @returns {EvaluatorStepOutcome}
 */
export function evaluatorStep(s, step) {
  const stored = s.readCursor.get() ?? 0;
  if (stored !== step.fromCursor) return { conflict: stored };
  for (const key of step.deletes) s.deleteState.run(key);
  for (const entry of step.upserts) s.upsertState.run(entry.key, entry.json);
  let inserted = 0;
  for (const n of step.notifications) {
    inserted += s.insertNotification.run(
      n.id,
      n.destination,
      n.alertJson,
      n.alertId,
      n.alertRule,
      n.requestId,
      n.eventSeq,
      n.createdAt,
      n.orderKey,
      n.dueAt,
    ).changes;
  }
  s.writeCursor.run(step.cursor);
  return { inserted };
}

/**
 * claimRows leases, per destination that is not paused, the head of its pending queue: rows in delivery
 * order up to the limit, stopping at the first that is not due or is leased by a claim still running
 * (head-of-line: order per destination is kept). A paced destination's rows also get their send slots
 * from its bucket row (pacing-slots.js), read and written here, under the write lock every process on the
 * file shares, so their claims draw from one bucket; the claim stops at the first row past the horizon.
 * Returns the rows as they were before the lease, each with its slot.
 * @param {WriteStatements} s
 * @param {PreparedClaim} query
 * @returns {ClaimedRow[]}
 */
export function claimRows(s, query) {
  /** @type {ClaimedRow[]} */
  const claimed = [];
  if (query.limit === 0) return claimed;
  for (const destination of query.destinations) {
    if (s.isPaused.get(destination) !== undefined) continue;
    /** @type {NotificationRow[]} */
    const free = [];
    for (const row of s.headOf.all(destination, query.limit)) {
      if (row.due_at > query.now) break;
      if (row.lease_until !== null && row.lease_until > query.now) break;
      free.push(row);
    }
    if (free.length === 0) continue;
    const pacing = query.pacing.get(destination);
    /** @type {number[] | undefined} */
    let slots;
    if (pacing !== undefined) {
      const plan = planSlots({
        tat: s.readPacing.get(destination),
        now: query.now,
        rows: free.length,
        pacing,
        horizonMs: query.horizonMs,
      });
      slots = plan.slots;
      if (slots.length > 0) s.writePacing.run(destination, plan.tat);
    }
    for (const [index, row] of free.entries()) {
      const sendAt = slots === undefined ? query.now : slots[index];
      if (sendAt === undefined) break;
      s.lease.run(query.leaseUntil, query.now, query.token, row.seq);
      claimed.push({ ...row, send_at: sendAt });
    }
  }
  return claimed;
}

/**
 * applyTransition settles one pending notification (delivered, due again, or dead) and appends the attempt
 * to its history. Returns whether it changed the row: false for an unknown id or a row no longer pending,
 * whose history still gets the attempt (it says what happened); false, writing nothing, when the write
 * carries a claim token and the row was claimed again since (the caller's lease is stale).
 * @param {WriteStatements} s
 * @param {TransitionWrite} write
 * @returns {boolean}
 */
export function applyTransition(s, write) {
  const { attempt } = write;
  const row = s.findById.get(write.id);
  if (!row) return false;
  if (write.token !== null && row.claim_token !== write.token) return false;
  s.insertAttempt.run(
    row.seq,
    attempt.at,
    attempt.durationMs,
    attempt.outcome,
    attempt.reason,
    attempt.detail,
  );
  if (write.to === 'delivered') return s.markDelivered.run(attempt.at, row.seq).changes > 0;
  if (write.to === 'retry') return s.markRetry.run(write.dueAt ?? attempt.at, row.seq).changes > 0;
  return s.markDead.run(write.reason ?? '', attempt.at, row.seq).changes > 0;
}

/**
 * applyOutboxWrite runs a claim, or each transition of a group in order.
 * @param {WriteStatements} s
 * @param {OutboxWrite} write
 * @returns {OutboxWriteOutcome}
 */
export function applyOutboxWrite(s, write) {
  if (write.kind === 'claim') return { claimed: claimRows(s, write.claim) };
  return { changed: write.transitions.map((transition) => applyTransition(s, transition)) };
}

/**
 * describeFailure turns what a statement threw into a WriteFailure, keeping SQLite's code.
 * @param {unknown} error
 * @returns {WriteFailure}
 */
export function describeFailure(error) {
  const { message, code } = /** @type {{ message?: unknown; code?: unknown }} */ (
    typeof error === 'object' && error !== null ? error : { message: error }
  );
  /** @type {WriteFailure} */
  const failure = { failed: true, message: String(message ?? error) };
  if (typeof code === 'string') failure.code = code;
  return failure;
}

/**
 * rollbackIfOpen ends a transaction a failed COMMIT left open. better-sqlite3 rolls a transaction back when
 * its function throws, but not when COMMIT itself fails; the connection must never stay inside one.
 * @param {Database} db
 * @param {(error: unknown) => void} [onError] told when even the ROLLBACK fails
 */
export function rollbackIfOpen(db, onError) {
  if (!db.open || !db.inTransaction) return;
  try {
    db.exec('ROLLBACK');
  } catch (error) {
    onError?.(error);
  }
}

/**
 * appendTransaction is the append transaction alone, for bench/sqlite-floor.ts: the same statements a
 * batch runs for its appends, with nothing else in the transaction.
 * @param {Database} db
 * @returns {Transaction<(appends: readonly AppendRows[]) => number[]>}
 */
export function appendTransaction(db) {
  const s = prepareWriteStatements(db);
  return db.transaction((/** @type {readonly AppendRows[]} */ appends) =>
    appends.map((append) => appendRows(s, append)),
  );
}

/**
 * @param {WriteBatch} batch
 * @returns {number} how many parts a batch has: each append, step, claim and transition
 */
function partsOf(batch) {
  let parts = batch.appends.length + batch.steps.length;
  for (const write of batch.writes) parts += write.kind === 'claim' ? 1 : write.transitions.length;
  return parts;
}

/**
 * @param {WriteBatch} batch
 * @param {WriteFailure} failure
 * @returns {WriteBatchResult} the result of a batch that failed as a whole: every part failed with `failure`
 */
function failedWhole(batch, failure) {
  return {
    stored: batch.appends.map(() => failure),
    steps: batch.steps.map(() => failure),
    outbox: batch.writes.map(() => failure),
  };
}

/**
 * @param {unknown} error
 * @returns {boolean} whether SQLite gave up waiting for another connection's write lock
 */
function isBusy(error) {
  const code = /** @type {{ code?: unknown } | null} */ (error)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * createBatchCommitter returns the function that commits a WriteBatch on `db`, where `s` is prepared. It
 * commits the appends, then the evaluator steps, then the outbox writes in their order, in ONE
 * IMMEDIATE transaction (one fsync; the write lock is taken at BEGIN, so another process cannot make it
 * fail halfway). When that fails, it commits the batch once more, in one transaction with a savepoint
 * per part (each append, each step, each claim, each transition): a part that fails there (a row the
 * database refuses) is rolled back alone and reported, and the others commit, so one bad member never
 * fails its group. That costs one more transaction, and only when a batch failed. It fails every part at
 * once when the batch has a single part, when the database was busy (each part would wait out the busy
 * timeout again), or when the retry fails as a whole (disk full, I/O error at COMMIT). It never throws
 * and never leaves a transaction open.
 * @param {Database} db
 * @param {WriteStatements} s
 * @param {(error: unknown) => void} [onRollbackError]
 * @returns {(batch: WriteBatch) => WriteBatchResult}
 */
export function createBatchCommitter(db, s, onRollbackError) {
  const together = db.transaction(
    (/** @type {WriteBatch} */ batch) =>
      /** @type {WriteBatchResult} */ ({
        stored: batch.appends.map((append) => appendRows(s, append)),
        steps: batch.steps.map((step) => evaluatorStep(s, step)),
        outbox: batch.writes.map((write) => applyOutboxWrite(s, write)),
      }),
  );

  // Called inside `isolated`, each of these runs as a savepoint: a throw rolls back that part alone.
  const appendPart = db.transaction((/** @type {AppendRows} */ append) => appendRows(s, append));
  const stepPart = db.transaction((/** @type {PreparedCommit} */ step) => evaluatorStep(s, step));
  const claimPart = db.transaction((/** @type {PreparedClaim} */ claim) => claimRows(s, claim));
  const transitionPart = db.transaction((/** @type {TransitionWrite} */ write) => applyTransition(s, write));

  /**
   * part runs one part in its savepoint and returns its result or its failure. When the failure took the
   * whole transaction with it (SQLite may roll back by itself on SQLITE_FULL, IOERR, NOMEM or BUSY),
   * nothing of the batch stands any more: it throws, and the batch fails whole.
   * @template A, T
   * @param {Transaction<(arg: A) => T>} savepoint
   * @param {A} arg
   * @returns {T | WriteFailure}
   */
  const part = (savepoint, arg) => {
    try {
      return savepoint(arg);
    } catch (error) {
      if (!db.inTransaction) throw error;
      return describeFailure(error);
    }
  };

  const isolated = db.transaction((/** @type {WriteBatch} */ batch) => {
    /** @type {WriteBatchResult} */
    const result = { stored: [], steps: [], outbox: [] };
    for (const append of batch.appends) result.stored.push(part(appendPart, append));
    for (const step of batch.steps) result.steps.push(part(stepPart, step));
    for (const write of batch.writes) {
      if (write.kind === 'claim') {
        const claimed = part(claimPart, write.claim);
        result.outbox.push(Array.isArray(claimed) ? { claimed } : claimed);
      } else {
        result.outbox.push({ changed: write.transitions.map((one) => part(transitionPart, one)) });
      }
    }
    return result;
  });

  return (batch) => {
    try {
      return together.immediate(batch);
    } catch (error) {
      rollbackIfOpen(db, onRollbackError);
      if (partsOf(batch) <= 1 || isBusy(error)) return failedWhole(batch, describeFailure(error));
    }
    try {
      return isolated.immediate(batch);
    } catch (error) {
      rollbackIfOpen(db, onRollbackError);
      return failedWhole(batch, describeFailure(error));
    }
  };
}
