import type { Alert, Notification } from '../../domain/alert.js';
import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';
import type {
  AttemptOutcome,
  AttemptRecord,
  ClaimedNotification,
  ClaimQuery,
  DeadLetter,
  DeadQuery,
  Outbox,
  PausedDestination,
  ReplayQuery,
  StoredImage,
} from '../ports.js';
import {
  epochMs,
  invalidInput,
  nonEmptyString,
  type PreparedAttempt,
  type PreparedClaim,
  type PreparedReplay,
  prepareAttempt,
  prepareClaim,
  prepareReplay,
  safeInteger,
} from '../validate.js';
import { type Listeners, readWith, type SqliteContext, writeWith, yieldToLoop } from './context.js';

/** Rows deleted per pruneDelivered transaction (with their attempts), as for the event log. */
const PRUNE_CHUNK_ROWS = 1_000;

/** A notification's outcome ends in one of these states; `pending` is the only one a transition leaves. */
type Transition = 'delivered' | 'retry' | 'dead';

/** TransitionWrite is one checked transition of one notification (recordDelivered, scheduleRetry, deadLetter). */
export interface TransitionWrite {
  id: string;
  to: Transition;
  attempt: PreparedAttempt;
  /** For `retry`: when the row is due again. */
  dueAt: number | null;
  /** For `dead`: the dead letter's reason. */
  reason: string | null;
}

/**
 * OutboxWrite is a claim or a group of transitions, checked, as the append worker commits them in the
 * transaction of its next batch (append-worker.ts runs the same steps as `claimTx` and `transitionTx`
 * below, with the statements of OUTBOX_SQL).
 */
export type OutboxWrite =
  | { kind: 'claim'; claim: PreparedClaim }
  | { kind: 'transitions'; transitions: TransitionWrite[] };

/**
 * OutboxSubmission is what the outbox submits for the worker: a claim, or a group of transitions that
 * stays open to more until the batch that carries it is sent, when `take()` closes it and returns them.
 */
export type OutboxSubmission =
  | { kind: 'claim'; claim: PreparedClaim }
  | { kind: 'transitions'; take(): TransitionWrite[] };

/**
 * OutboxWriteOutcome is what an OutboxWrite did: the rows a claim leased (as read before), or per
 * transition of a group whether it changed its row, or the error that one transition alone failed with.
 */
export type OutboxWriteOutcome = { claimed: NotificationRow[] } | { changed: Array<boolean | Error> };

/**
 * Most transitions in one group. A group costs the store one submission, one message entry and one result
 * however many it holds (measured: per delivery, about 20 µs of main-thread time as one submission each).
 */
export const MAX_TRANSITION_GROUP = 1_024;

/** NotificationRow is a notifications row as claims and dead letters read it. */
export interface NotificationRow {
  seq: number;
  id: string;
  destination: string;
  alert: string;
  request_id: string | null;
  event_seq: number | null;
  created_at: number;
  due_at: number;
  lease_until: number | null;
  attempts: number;
  first_attempt_at: number | null;
}

interface DeadRow extends NotificationRow {
  dead_reason: string;
  dead_at: number;
}

interface AttemptRow {
  at: number;
  duration_ms: number;
  outcome: AttemptOutcome;
  reason: string | null;
  detail: string | null;
}

interface PausedRow {
  destination: string;
  reason: string;
  paused_at: number;
}

const NOTIFICATION_COLUMNS =
  'seq, id, destination, alert, request_id, event_seq, created_at, due_at, lease_until, attempts, first_attempt_at';

/** The statements of claims and transitions, shared with the append worker (append-worker.ts), which runs them too. */
export const OUTBOX_SQL = {
  isPaused: 'SELECT 1 FROM paused_destinations WHERE destination = ?',
  // The head of one destination's queue, in delivery order (served by the notifications_pending index).
  headOf: `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
     WHERE destination = ? AND status = 'pending'
     ORDER BY created_at, order_key, seq
     LIMIT ?`,
  lease: `UPDATE notifications
     SET lease_until = ?, attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, ?)
     WHERE seq = ?`,
  findById: 'SELECT seq, status FROM notifications WHERE id = ?',
  insertAttempt: `INSERT INTO notification_attempts (notification_seq, at, duration_ms, outcome, reason, detail)
     VALUES (?, ?, ?, ?, ?, ?)`,
  markDelivered: `UPDATE notifications SET status = 'delivered', delivered_at = ?, lease_until = NULL
     WHERE seq = ? AND status = 'pending'`,
  markRetry: `UPDATE notifications SET due_at = ?, lease_until = NULL WHERE seq = ? AND status = 'pending'`,
  markDead: `UPDATE notifications SET status = 'dead', dead_reason = ?, dead_at = ?, lease_until = NULL
     WHERE seq = ? AND status = 'pending'`,
} as const;

/**
 * createSqliteOutbox implements Outbox. Every write is durable (`synchronous = FULL`) when it resolves.
 * With a database file, claims and transitions (recordDelivered, scheduleRetry, deadLetter) ride in the
 * append worker's next batch transaction (`context.commitOutbox`): those made while a batch commits share
 * the next one, and its single fsync, off the event loop; they are applied in the order they were called.
 * Consecutive transitions travel as one group (one submission and one result for the lot); a claim closes
 * the open group, so a transition made after a claim is applied after it.
 * Every other write, and every write on `:memory:`, is one IMMEDIATE transaction on the store's
 * connection, taken between two append batches (`context.exclusive`). Reads run on the store's connection.
 * `enqueued` are the onEnqueue listeners, shared with the evaluator store.
 */
export function createSqliteOutbox(context: SqliteContext, enqueued: Listeners): Outbox {
  const { db } = context;

  const isPaused = db.prepare<[string], number>(OUTBOX_SQL.isPaused).pluck();
  const headOf = db.prepare<[string, number], NotificationRow>(OUTBOX_SQL.headOf);
  const lease = db.prepare<[number, number, number]>(OUTBOX_SQL.lease);
  const findById = db.prepare<[string], { seq: number; status: string }>(OUTBOX_SQL.findById);
  const insertAttempt = db.prepare<[number, number, number, string, string | null, string | null]>(
    OUTBOX_SQL.insertAttempt,
  );
  const markDelivered = db.prepare<[number, number]>(OUTBOX_SQL.markDelivered);
  const markRetry = db.prepare<[number, number]>(OUTBOX_SQL.markRetry);
  const markDead = db.prepare<[string, number, number]>(OUTBOX_SQL.markDead);
  const pause = db.prepare<[string, string, number]>(
    `INSERT INTO paused_destinations (destination, reason, paused_at) VALUES (?, ?, ?)
     ON CONFLICT (destination) DO UPDATE SET reason = excluded.reason, paused_at = excluded.paused_at`,
  );
  // Scans the pending rows (measured: ~40 ms for 100,000). No index on lease_until: every claim and
  // transition would pay to maintain it, for a statement that runs once per start, before the relay listens.
  const releaseAll = db.prepare(
    `UPDATE notifications SET lease_until = NULL WHERE status = 'pending' AND lease_until IS NOT NULL`,
  );
  const resume = db.prepare<[string]>('DELETE FROM paused_destinations WHERE destination = ?');
  const resumeAll = db.prepare('DELETE FROM paused_destinations');
  const listPaused = db.prepare<[], PausedRow>(
    'SELECT destination, reason, paused_at FROM paused_destinations ORDER BY destination',
  );
  const deadColumns = `${NOTIFICATION_COLUMNS}, dead_reason, dead_at`;
  const listDeadAll = db.prepare<[number], DeadRow>(
    `SELECT ${deadColumns} FROM notifications WHERE status = 'dead' ORDER BY dead_at DESC, seq DESC LIMIT ?`,
  );
  const listDeadOf = db.prepare<[string, number], DeadRow>(
    `SELECT ${deadColumns} FROM notifications WHERE status = 'dead' AND destination = ?
     ORDER BY dead_at DESC, seq DESC LIMIT ?`,
  );
  const attemptsOf = db.prepare<[number], AttemptRow>(
    `SELECT at, duration_ms, outcome, reason, detail FROM notification_attempts
     WHERE notification_seq = ? ORDER BY id`,
  );
  // Back to pending in its original place (created_at, order_key and seq are kept), due now, count reset.
  const replaySet = `status = 'pending', due_at = ?, attempts = 0, first_attempt_at = NULL, lease_until = NULL,
    dead_reason = NULL, dead_at = NULL`;
  const replayId = db.prepare<[number, string], { destination: string }>(
    `UPDATE notifications SET ${replaySet} WHERE id = ? AND status = 'dead' RETURNING destination`,
  );
  const replayDestination = db.prepare<[number, string]>(
    `UPDATE notifications SET ${replaySet} WHERE destination = ? AND status = 'dead'`,
  );
  const replayAll = db.prepare<[number]>(`UPDATE notifications SET ${replaySet} WHERE status = 'dead'`);
  const countPending = db.prepare<[], { destination: string; n: number }>(
    `SELECT destination, count(*) AS n FROM notifications WHERE status = 'pending' GROUP BY destination`,
  );
  const imageOf = db.prepare<[number], { image: Buffer | null; mime: unknown }>(
    `SELECT image, json_extract(item, '$.screenshot.image.mime') AS mime FROM events WHERE seq = ?`,
  );
  const pruneDelivered = db.prepare<[number, number]>(
    `DELETE FROM notifications WHERE seq IN (
       SELECT seq FROM notifications WHERE status = 'delivered' AND delivered_at < ? LIMIT ?)`,
  );

  const pauseTx = db.transaction((destination: string, reason: string, at: number) => {
    pause.run(destination, reason, at);
  });
  const resumeTx = db.transaction((destination: string) => resume.run(destination).changes > 0);
  const releaseTx = db.transaction(() => releaseAll.run().changes);
  // Attempts go with their notification (ON DELETE CASCADE).
  const pruneTx = db.transaction((cutoff: number) => pruneDelivered.run(cutoff, PRUNE_CHUNK_ROWS).changes);

  // The steps of a claim and of a transition; append-worker.ts runs the same on its connection.
  const claimTx = db.transaction((query: PreparedClaim): NotificationRow[] => {
    const claimed: NotificationRow[] = [];
    if (query.limit === 0) return claimed;
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
    return claimed;
  });

  const transitionTx = db.transaction((write: TransitionWrite): boolean => {
    const { attempt } = write;
    const row = findById.get(write.id);
    if (!row) return false;
    // The attempt is kept even when the row was settled meanwhile: the history says what happened.
    insertAttempt.run(
      row.seq,
      attempt.at,
      attempt.durationMs,
      attempt.outcome,
      attempt.reason,
      attempt.detail,
    );
    if (write.to === 'delivered') return markDelivered.run(attempt.at, row.seq).changes > 0;
    if (write.to === 'retry') return markRetry.run(write.dueAt ?? attempt.at, row.seq).changes > 0;
    return markDead.run(write.reason ?? '', attempt.at, row.seq).changes > 0;
  });

  const replayTx = db.transaction((query: PreparedReplay): { replayed: number; resumed: number } => {
    if (query.by === 'all') {
      return { replayed: replayAll.run(query.now).changes, resumed: resumeAll.run().changes };
    }
    if (query.by === 'destination') {
      return {
        replayed: replayDestination.run(query.now, query.destination).changes,
        resumed: resume.run(query.destination).changes,
      };
    }
    const destinations = new Set<string>();
    let replayed = 0;
    for (const id of query.ids) {
      for (const row of replayId.all(query.now, id)) {
        destinations.add(row.destination);
        replayed += 1;
      }
    }
    let resumed = 0;
    for (const destination of destinations) resumed += resume.run(destination).changes;
    return { replayed, resumed };
  });

  const deadTx = db.transaction((query: DeadQuery): DeadLetter[] => {
    const rows =
      query.destination === undefined
        ? listDeadAll.all(query.limit)
        : listDeadOf.all(query.destination, query.limit);
    return rows.map((row) => {
      const letter: DeadLetter = {
        notification: toNotification(row),
        reason: row.dead_reason,
        deadAt: row.dead_at,
        attempts: attemptsOf.all(row.seq).map(toAttempt),
      };
      if (row.event_seq !== null) letter.eventSeq = row.event_seq;
      return letter;
    });
  });

  /** writeFailure is what a write on the worker rejects with: the errors writeWith gives. */
  const writeFailure = (what: string, error: unknown): Error =>
    error instanceof HookrelayError
      ? error
      : storeError(
          StoreErrorCode.writeFailed,
          `${what} failed and wrote nothing: ${(error as Error).message}`,
          error,
        );

  /**
   * The open group of transitions: those made until the worker's next batch is sent ride in it, so they
   * share that batch's transaction and fsync, off the event loop, in the order they were made.
   */
  let group: TransitionGroup | undefined;

  /** transitionOnWorker adds a transition to the open group (opening one if needed) and returns its result. */
  async function transitionOnWorker(
    commit: (submission: OutboxSubmission) => Promise<OutboxWriteOutcome>,
    what: string,
    write: TransitionWrite,
  ): Promise<boolean> {
    let index = 0;
    if (group !== undefined && !group.taken() && group.transitions.length < MAX_TRANSITION_GROUP) {
      index = group.transitions.push(write) - 1;
    } else {
      group = openTransitionGroup(commit, write);
    }
    const { outcome: pending } = group;
    let outcome: OutboxWriteOutcome;
    try {
      outcome = await pending;
    } catch (error) {
      throw writeFailure(what, error);
    }
    const changed = 'changed' in outcome ? outcome.changed[index] : undefined;
    if (changed instanceof Error) throw writeFailure(what, changed);
    if (changed === undefined) throw unexpectedOutcome(what);
    return changed;
  }

  async function transition(
    what: string,
    id: string,
    attempt: AttemptRecord,
    allowed: readonly AttemptOutcome[],
    to: Transition,
    value: { dueAt?: number; reason?: string } = {},
  ): Promise<boolean> {
    context.assertOpen();
    if (!nonEmptyString(id)) throw invalidInput(what, 'id must be a non-empty string');
    const write: TransitionWrite = {
      id,
      to,
      attempt: prepareAttempt(what, attempt, allowed),
      dueAt: value.dueAt ?? null,
      reason: value.reason ?? null,
    };
    if (!context.commitOutbox) return writeWith(context, what, transitionTx, write);
    return transitionOnWorker(context.commitOutbox, what, write);
  }

  return {
    async claim(query: ClaimQuery): Promise<ClaimedNotification[]> {
      context.assertOpen();
      const prepared = prepareClaim(query);
      let rows: NotificationRow[];
      if (context.commitOutbox) {
        // Transitions made after this claim must not ride in a group submitted before it: they are
        // applied in call order, and the claim must not see them.
        group = undefined;
        let outcome: OutboxWriteOutcome;
        try {
          outcome = await context.commitOutbox({ kind: 'claim', claim: prepared });
        } catch (error) {
          throw writeFailure('claim', error);
        }
        if (!('claimed' in outcome)) throw unexpectedOutcome('claim');
        rows = outcome.claimed;
      } else {
        rows = await writeWith(context, 'claim', claimTx, prepared);
      }
      return rows.map((row) => toClaimed(row, prepared.now));
    },

    async recordDelivered(id: string, attempt: AttemptRecord): Promise<boolean> {
      return transition('recordDelivered', id, attempt, ['delivered'], 'delivered');
    },

    async scheduleRetry(id: string, retry: { dueAt: number; attempt: AttemptRecord }): Promise<boolean> {
      const what = 'scheduleRetry';
      context.assertOpen();
      const dueAt = epochMs(what, 'dueAt', retry?.dueAt);
      return transition(what, id, retry.attempt, ['retry', 'broken'], 'retry', { dueAt });
    },

    async deadLetter(id: string, dead: { reason: string; attempt: AttemptRecord }): Promise<boolean> {
      const what = 'deadLetter';
      context.assertOpen();
      if (!nonEmptyString(dead?.reason)) throw invalidInput(what, 'reason must be a non-empty string');
      return transition(what, id, dead.attempt, ['dead', 'broken'], 'dead', { reason: dead.reason });
    },

    async releaseLeases(): Promise<number> {
      const released = await writeWith(context, 'releaseLeases', releaseTx);
      if (released > 0) enqueued.notify();
      return released;
    },

    async pauseDestination(destination: string, paused: { reason: string; at: number }): Promise<void> {
      const what = 'pauseDestination';
      context.assertOpen();
      if (!nonEmptyString(destination)) throw invalidInput(what, 'destination must be a non-empty string');
      if (!nonEmptyString(paused?.reason)) throw invalidInput(what, 'reason must be a non-empty string');
      const at = epochMs(what, 'at', paused.at);
      await writeWith(context, what, pauseTx, destination, paused.reason, at);
    },

    async resumeDestination(destination: string): Promise<boolean> {
      const what = 'resumeDestination';
      context.assertOpen();
      if (!nonEmptyString(destination)) throw invalidInput(what, 'destination must be a non-empty string');
      const resumed = await writeWith(context, what, resumeTx, destination);
      if (resumed) enqueued.notify();
      return resumed;
    },

    async listPausedDestinations(): Promise<PausedDestination[]> {
      return readWith(context, 'listPausedDestinations', () => listPaused.all()).map((row) => ({
        destination: row.destination,
        reason: row.reason,
        pausedAt: row.paused_at,
      }));
    },

    async listDead(query: DeadQuery): Promise<DeadLetter[]> {
      const what = 'listDead';
      context.assertOpen();
      safeInteger(what, 'limit', query?.limit, 0);
      if (query.destination !== undefined && !nonEmptyString(query.destination)) {
        throw invalidInput(what, 'destination must be a non-empty string when set');
      }
      // A read transaction, so every dead letter comes with the attempts of the same snapshot.
      return readWith(context, what, () => deadTx.deferred(query));
    },

    async replayDead(query: ReplayQuery): Promise<number> {
      context.assertOpen();
      const { replayed, resumed } = await writeWith(context, 'replayDead', replayTx, prepareReplay(query));
      if (replayed > 0 || resumed > 0) enqueued.notify();
      return replayed;
    },

    async pendingCounts(): Promise<Record<string, number>> {
      const rows = readWith(context, 'pendingCounts', () => countPending.all());
      return Object.fromEntries(rows.map((row) => [row.destination, row.n]));
    },

    async getImage(eventSeq: number): Promise<StoredImage | undefined> {
      context.assertOpen();
      safeInteger('getImage', 'eventSeq', eventSeq);
      const row = readWith(context, 'getImage', () => imageOf.get(eventSeq));
      if (!row?.image) return undefined;
      const mime = typeof row.mime === 'string' && row.mime !== '' ? row.mime : 'application/octet-stream';
      return { bytes: row.image, mime };
    },

    onEnqueue(listener: () => void): () => void {
      return enqueued.add(listener);
    },

    async pruneDelivered(cutoffMs: number): Promise<number> {
      const what = 'pruneDelivered';
      context.assertOpen();
      const cutoff = epochMs(what, 'cutoffMs', cutoffMs);
      let deleted = 0;
      for (;;) {
        context.assertOpen();
        let changes: number;
        try {
          changes = await context.exclusive(() => pruneTx.immediate(cutoff));
        } catch (error) {
          throw storeError(
            StoreErrorCode.pruneFailed,
            `pruning delivered notifications failed after ${deleted}: ${(error as Error).message}`,
            error,
          );
        }
        deleted += changes;
        if (changes < PRUNE_CHUNK_ROWS) return deleted;
        // Let appends and evaluator commits run between chunks.
        await yieldToLoop();
      }
    },
  };
}

interface TransitionGroup {
  /** The group's transitions, in the order they were made; more join until taken. */
  transitions: TransitionWrite[];
  /** Whether the worker's batch has taken the group (later transitions open another). */
  taken(): boolean;
  outcome: Promise<OutboxWriteOutcome>;
}

/**
 * openTransitionGroup submits a new group holding `first`. It holds it before it is submitted, since the
 * batch that carries it may be sent (and take it) during `commit` itself.
 */
function openTransitionGroup(
  commit: (submission: OutboxSubmission) => Promise<OutboxWriteOutcome>,
  first: TransitionWrite,
): TransitionGroup {
  const transitions = [first];
  let taken = false;
  const outcome = commit({
    kind: 'transitions',
    take: () => {
      taken = true;
      return transitions;
    },
  });
  // Every member handles the outcome; this only keeps a rejection nobody awaits any more from being
  // reported as unhandled.
  outcome.catch(() => undefined);
  return { transitions, taken: () => taken, outcome };
}

function unexpectedOutcome(what: string): Error {
  return storeError(
    StoreErrorCode.writeFailed,
    `${what}: the append worker answered with the wrong kind of result`,
  );
}

function toNotification(row: NotificationRow): Notification {
  const notification: Notification = {
    id: row.id,
    destination: row.destination,
    alert: JSON.parse(row.alert) as Alert,
    createdAt: row.created_at,
  };
  if (row.request_id !== null) notification.requestId = row.request_id;
  return notification;
}

function toClaimed(row: NotificationRow, now: number): ClaimedNotification {
  const claimed: ClaimedNotification = {
    ...toNotification(row),
    attempts: row.attempts + 1,
    firstAttemptAt: row.first_attempt_at ?? now,
  };
  if (row.event_seq !== null) claimed.eventSeq = row.event_seq;
  return claimed;
}

function toAttempt(row: AttemptRow): AttemptRecord {
  const attempt: AttemptRecord = { at: row.at, durationMs: row.duration_ms, outcome: row.outcome };
  if (row.reason !== null) attempt.reason = row.reason;
  if (row.detail !== null) attempt.detail = row.detail;
  return attempt;
}
