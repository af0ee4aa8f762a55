import { type AttemptRow as StoredAttemptRow, toAttempt } from '../admin-rows.js';
import {
  checkDestination,
  type DeadRow,
  type PausedRow,
  prepareDeadQuery,
  preparePause,
  toDeadLetter,
  toPausedDestination,
} from '../dead-letter-rows.js';
import type { Listeners } from '../lifecycle.js';
import type { DeadLetter, DeadLetters, DeadQuery, PausedDestination, ReplayQuery } from '../ports.js';
import { type PreparedReplay, prepareReplay } from '../validate.js';
import { readWith, type SqliteContext, writeWith } from './context.js';
import { NOTIFICATION_COLUMNS } from './write-steps.js';

type AttemptRow = Omit<StoredAttemptRow, 'notification_seq'>;

/**
 * createSqliteDeadLetters implements DeadLetters. Every write is one IMMEDIATE transaction on the store's
 * connection, taken between two write batches (`batcher.exclusive`), durable when it resolves; reads run
 * on the store's connection. A claim consults `paused_destinations` in its own transaction (write-steps.js
 * `claimRows`), so a pause or resume made by any process holds from the next claim. `enqueued` are the
 * outbox's onEnqueue listeners: a replay or a resume wakes delivery.
 */
export function createSqliteDeadLetters(context: SqliteContext, enqueued: Listeners): DeadLetters {
  const { db } = context;

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

  const pauseTx = db.transaction((destination: string, reason: string, at: number) => {
    pause.run(destination, reason, at);
  });
  const resumeTx = db.transaction((destination: string) => resume.run(destination).changes > 0);

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
    return rows.map((row) => toDeadLetter(row, attemptsOf.all(row.seq).map(toAttempt)));
  });

  return {
    async pauseDestination(destination: string, paused: { reason: string; at: number }): Promise<void> {
      context.assertOpen();
      const p = preparePause(destination, paused);
      await writeWith(context, 'pauseDestination', pauseTx, p.destination, p.reason, p.at);
    },

    async resumeDestination(destination: string): Promise<boolean> {
      const what = 'resumeDestination';
      context.assertOpen();
      checkDestination(what, destination);
      const resumed = await writeWith(context, what, resumeTx, destination);
      if (resumed) enqueued.notify();
      return resumed;
    },

    async listPausedDestinations(): Promise<PausedDestination[]> {
      return readWith(context, 'listPausedDestinations', () => listPaused.all()).map(toPausedDestination);
    },

    async listDead(query: DeadQuery): Promise<DeadLetter[]> {
      const what = 'listDead';
      context.assertOpen();
      const checked = prepareDeadQuery(query);
      // A read transaction, so every dead letter comes with the attempts of the same snapshot.
      return readWith(context, what, () => deadTx.deferred(checked));
    },

    async replayDead(query: ReplayQuery): Promise<number> {
      context.assertOpen();
      const { replayed, resumed } = await writeWith(context, 'replayDead', replayTx, prepareReplay(query));
      if (replayed > 0 || resumed > 0) enqueued.notify();
      return replayed;
    },
  };
}
