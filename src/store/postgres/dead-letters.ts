import type pg from 'pg';
import { type AttemptRow, toAttempt } from '../admin-rows.js';
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
import type {
  AttemptRecord,
  Blobs,
  DeadLetter,
  DeadLetters,
  DeadQuery,
  PausedDestination,
  ReplayQuery,
  StoredImage,
} from '../ports.js';
import { prepareReplay, safeInteger } from '../validate.js';
import { inTransactionAs, type PgContext, readWith, writeWith } from './context.js';
import { NOTIFICATION_COLUMNS } from './outbox.js';

/** attemptsOf returns every attempt of the given notifications, oldest first, by notification seq. */
export async function attemptsOf(
  db: pg.Pool | pg.ClientBase,
  seqs: number[],
): Promise<Map<number, AttemptRecord[]>> {
  const bySeq = new Map<number, AttemptRecord[]>(seqs.map((seq) => [seq, []]));
  if (seqs.length === 0) return bySeq;
  const rows = await db.query<AttemptRow>(
    `SELECT notification_seq, at, duration_ms, outcome, reason, detail FROM notification_attempts
     WHERE notification_seq = ANY($1::bigint[]) ORDER BY notification_seq, id`,
    [seqs],
  );
  for (const row of rows.rows) bySeq.get(row.notification_seq)?.push(toAttempt(row));
  return bySeq;
}

/** Bumped by replays and resumes, so a polling instance (no LISTEN) sees that delivery may proceed. */
const BUMP_OUTBOX_REVISION = `INSERT INTO meta (key, value) VALUES ('outbox_revision', '1')
  ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text`;

/**
 * createPgDeadLetters implements DeadLetters. Pauses, resumes and replays are one transaction each; a
 * claim reads `paused_destinations` in its own transaction, so they hold on every instance from its next
 * claim. A replay or resume wakes delivery here and, by NOTIFY, on the other instances.
 */
export function createPgDeadLetters(context: PgContext, enqueued: Listeners): DeadLetters {
  const replaySet = `status = 'pending', due_at = $1, attempts = 0, first_attempt_at = NULL, lease_until = NULL,
    dead_reason = NULL, dead_at = NULL`;
  const wake = async (client: pg.ClientBase) => {
    await client.query(BUMP_OUTBOX_REVISION);
    await client.query('SELECT pg_notify($1, $2)', [context.channel, context.notice('enqueue')]);
  };
  return {
    async pauseDestination(destination, paused) {
      context.assertOpen();
      const p = preparePause(destination, paused);
      await writeWith(context, 'pauseDestination', (client) =>
        client.query(
          `INSERT INTO paused_destinations (destination, reason, paused_at) VALUES ($1, $2, $3)
           ON CONFLICT (destination) DO UPDATE SET reason = excluded.reason, paused_at = excluded.paused_at`,
          [p.destination, p.reason, p.at],
        ),
      );
    },

    async resumeDestination(destination) {
      const what = 'resumeDestination';
      context.assertOpen();
      checkDestination(what, destination);
      const resumed = await writeWith(context, what, async (client) => {
        const result = await client.query('DELETE FROM paused_destinations WHERE destination = $1', [
          destination,
        ]);
        const done = (result.rowCount ?? 0) > 0;
        if (done) await wake(client);
        return done;
      });
      if (resumed) enqueued.notify();
      return resumed;
    },

    async listPausedDestinations(): Promise<PausedDestination[]> {
      const rows = await readWith(
        context,
        'listPausedDestinations',
        async (db) =>
          (
            await db.query<PausedRow>(
              'SELECT destination, reason, paused_at FROM paused_destinations ORDER BY destination COLLATE "C"',
            )
          ).rows,
      );
      return rows.map(toPausedDestination);
    },

    async listDead(query: DeadQuery): Promise<DeadLetter[]> {
      const what = 'listDead';
      context.assertOpen();
      const { limit, destination } = prepareDeadQuery(query);
      const columns = `${NOTIFICATION_COLUMNS}, dead_reason, dead_at`;
      return readWith(context, what, (pool) =>
        // One snapshot, so every dead letter comes with the attempts of the same commit.
        inTransactionAs(pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
          const rows =
            destination === undefined
              ? await client.query<DeadRow>(
                  `SELECT ${columns} FROM notifications WHERE status = 'dead' ORDER BY dead_at DESC, seq DESC LIMIT $1`,
                  [limit],
                )
              : await client.query<DeadRow>(
                  `SELECT ${columns} FROM notifications WHERE status = 'dead' AND destination = $1
                   ORDER BY dead_at DESC, seq DESC LIMIT $2`,
                  [destination, limit],
                );
          const history = await attemptsOf(
            client,
            rows.rows.map((row) => row.seq),
          );
          return rows.rows.map((row) => toDeadLetter(row, history.get(row.seq) ?? []));
        }),
      );
    },

    async replayDead(query: ReplayQuery): Promise<number> {
      context.assertOpen();
      const prepared = prepareReplay(query);
      const { replayed, resumed } = await writeWith(context, 'replayDead', async (client) => {
        let replayed = 0;
        let resumed = 0;
        if (prepared.by === 'all') {
          replayed =
            (
              await client.query(`UPDATE notifications SET ${replaySet} WHERE status = 'dead'`, [
                prepared.now,
              ])
            ).rowCount ?? 0;
          resumed = (await client.query('DELETE FROM paused_destinations')).rowCount ?? 0;
        } else if (prepared.by === 'destination') {
          replayed =
            (
              await client.query(
                `UPDATE notifications SET ${replaySet} WHERE destination = $2 AND status = 'dead'`,
                [prepared.now, prepared.destination],
              )
            ).rowCount ?? 0;
          resumed =
            (
              await client.query('DELETE FROM paused_destinations WHERE destination = $1', [
                prepared.destination,
              ])
            ).rowCount ?? 0;
        } else {
          const rows = await client.query<{ destination: string }>(
            `UPDATE notifications SET ${replaySet} WHERE id = ANY($2::text[]) AND status = 'dead' RETURNING destination`,
            [prepared.now, prepared.ids],
          );
          replayed = rows.rowCount ?? 0;
          const destinations = [...new Set(rows.rows.map((row) => row.destination))];
          if (destinations.length > 0) {
            resumed =
              (
                await client.query('DELETE FROM paused_destinations WHERE destination = ANY($1::text[])', [
                  destinations,
                ])
              ).rowCount ?? 0;
          }
        }
        if (replayed > 0 || resumed > 0) await wake(client);
        return { replayed, resumed };
      });
      if (replayed > 0 || resumed > 0) enqueued.notify();
      return replayed;
    },
  };
}

/** createPgBlobs implements Blobs: screenshot bytes stay in the event log's `image` column. */
export function createPgBlobs(context: PgContext): Blobs {
  return {
    async getImage(eventSeq: number): Promise<StoredImage | undefined> {
      context.assertOpen();
      safeInteger('getImage', 'eventSeq', eventSeq);
      const rows = await readWith(
        context,
        'getImage',
        async (db) =>
          (
            await db.query<{ image: Buffer | null; mime: string | null }>(
              `SELECT image, (item::jsonb #>> '{screenshot,image,mime}') AS mime FROM events WHERE seq = $1`,
              [eventSeq],
            )
          ).rows,
      );
      const row = rows[0];
      if (!row?.image) return undefined;
      const mime = typeof row.mime === 'string' && row.mime !== '' ? row.mime : 'application/octet-stream';
      return { bytes: row.image, mime };
    },
  };
}
