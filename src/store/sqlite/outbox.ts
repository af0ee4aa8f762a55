import type { Alert, Notification } from '../../domain/alert.js';
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

interface NotificationRow {
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

/**
 * createSqliteOutbox implements Outbox on the store's connection. Every write is one IMMEDIATE transaction,
 * taken between two append batches (`context.exclusive`), and is durable (`synchronous = FULL`) when it resolves.
 * `enqueued` are the onEnqueue listeners, shared with the evaluator store.
 */
export function createSqliteOutbox(context: SqliteContext, enqueued: Listeners): Outbox {
  const { db } = context;

  const isPaused = db
    .prepare<[string], number>('SELECT 1 FROM paused_destinations WHERE destination = ?')
    .pluck();
  // The head of one destination's queue, in delivery order (served by the notifications_pending index).
  const headOf = db.prepare<[string, number], NotificationRow>(
    `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
     WHERE destination = ? AND status = 'pending'
     ORDER BY created_at, order_key, seq
     LIMIT ?`,
  );
  const lease = db.prepare<[number, number, number]>(
    `UPDATE notifications
     SET lease_until = ?, attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, ?)
     WHERE seq = ?`,
  );
  const findById = db.prepare<[string], { seq: number; status: string }>(
    'SELECT seq, status FROM notifications WHERE id = ?',
  );
  const insertAttempt = db.prepare<[number, number, number, string, string | null, string | null]>(
    `INSERT INTO notification_attempts (notification_seq, at, duration_ms, outcome, reason, detail)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const markDelivered = db.prepare<[number, number]>(
    `UPDATE notifications SET status = 'delivered', delivered_at = ?, lease_until = NULL
     WHERE seq = ? AND status = 'pending'`,
  );
  const markRetry = db.prepare<[number, number]>(
    `UPDATE notifications SET due_at = ?, lease_until = NULL WHERE seq = ? AND status = 'pending'`,
  );
  const markDead = db.prepare<[string, number, number]>(
    `UPDATE notifications SET status = 'dead', dead_reason = ?, dead_at = ?, lease_until = NULL
     WHERE seq = ? AND status = 'pending'`,
  );
  const pause = db.prepare<[string, string, number]>(
    `INSERT INTO paused_destinations (destination, reason, paused_at) VALUES (?, ?, ?)
     ON CONFLICT (destination) DO UPDATE SET reason = excluded.reason, paused_at = excluded.paused_at`,
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
  // Attempts go with their notification (ON DELETE CASCADE).
  const pruneTx = db.transaction((cutoff: number) => pruneDelivered.run(cutoff, PRUNE_CHUNK_ROWS).changes);

  const claimTx = db.transaction((query: PreparedClaim): ClaimedNotification[] => {
    const claimed: ClaimedNotification[] = [];
    if (query.limit === 0) return claimed;
    for (const destination of query.destinations) {
      if (isPaused.get(destination) !== undefined) continue;
      for (const row of headOf.all(destination, query.limit)) {
        // Head-of-line: a row not due yet, or leased by a claim still running, holds back the rest.
        if (row.due_at > query.now) break;
        if (row.lease_until !== null && row.lease_until > query.now) break;
        lease.run(query.leaseUntil, query.now, row.seq);
        claimed.push(toClaimed(row, query.now));
      }
    }
    return claimed;
  });

  const transitionTx = db.transaction(
    (id: string, attempt: PreparedAttempt, to: Transition, value: { dueAt?: number; reason?: string }) => {
      const row = findById.get(id);
      if (!row) return false;
      insertAttempt.run(
        row.seq,
        attempt.at,
        attempt.durationMs,
        attempt.outcome,
        attempt.reason,
        attempt.detail,
      );
      if (to === 'delivered') return markDelivered.run(attempt.at, row.seq).changes > 0;
      if (to === 'retry') return markRetry.run(value.dueAt ?? attempt.at, row.seq).changes > 0;
      return markDead.run(value.reason ?? '', attempt.at, row.seq).changes > 0;
    },
  );

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

  function transition(
    what: string,
    id: string,
    attempt: AttemptRecord,
    allowed: readonly AttemptOutcome[],
    to: Transition,
    value: { dueAt?: number; reason?: string } = {},
  ): Promise<boolean> {
    context.assertOpen();
    if (!nonEmptyString(id)) throw invalidInput(what, 'id must be a non-empty string');
    const prepared = prepareAttempt(what, attempt, allowed);
    return writeWith(context, what, transitionTx, id, prepared, to, value);
  }

  return {
    async claim(query: ClaimQuery): Promise<ClaimedNotification[]> {
      context.assertOpen();
      return writeWith(context, 'claim', claimTx, prepareClaim(query));
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
