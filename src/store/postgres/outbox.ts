import type pg from 'pg';
import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';
import type { Listeners } from '../lifecycle.js';
import { sharedOutboxMethods, toClaimed } from '../outbox-shared.js';
import { planSlots } from '../pacing-slots.js';
import type { ClaimedNotification, ClaimPacing, ClaimQuery, Outbox } from '../ports.js';
import { PRUNE_CHUNK_ROWS } from '../pruning.js';
import type { ClaimedRow, NotificationRow, TransitionWrite } from '../sqlite/write-types.js';
import { type PreparedClaim, prepareClaim } from '../validate.js';
import { inTransaction, type PgContext, readWith } from './context.js';
import { INSTANCE_TTL_MS } from './instance-heartbeat.js';
import { isDataError } from './pool.js';

/** NOTIFICATION_COLUMNS is what claims and dead-letter reads select, in the order of NotificationRow. */
export const NOTIFICATION_COLUMNS =
  'seq, id, destination, alert, request_id, event_seq, created_at, due_at, lease_until, attempts, first_attempt_at';

/** Most transitions committed in one transaction. */
const MAX_TRANSITION_GROUP = 500;

/**
 * claimRows leases, per destination that is not paused, the head of its pending queue, in one
 * transaction. The head is read in delivery order, then locked with FOR UPDATE SKIP LOCKED: it never
 * waits for a row another instance is claiming or settling right now. It takes rows from the head while
 * they are locked here, due and not leased, and stops at the first that is not (locked elsewhere, not
 * due, leased by a running claim): a row is never claimed before one ahead of it, on any instance, so the
 * order per destination holds cluster-wide. A running lease is void when its claimant (claimed_by) has
 * not beaten within INSTANCE_TTL_MS by the database's clock, or has no row at all (it was killed, or
 * stopped cleanly): its rows are claimable at once, sent again with their ids (at least once), and the
 * dead claimant's token no longer matches, so nothing it might still write lands. A row claimed by no one
 * (claimed_by NULL: a store without a heartbeat) keeps its lease until it runs out. A paced destination's
 * rows then get their send slots (see paceRows). Each claimed row gets the lease, one more attempt, this
 * claim's token and its claimant. Returns the rows as they were before the lease, each with its slot.
 */
async function claimRows(
  client: pg.ClientBase,
  query: PreparedClaim,
  claimedBy: string | null,
): Promise<ClaimedRow[]> {
  if (query.limit === 0 || query.destinations.length === 0) return [];
  const paused = await client.query<{ destination: string }>(
    'SELECT destination FROM paused_destinations WHERE destination = ANY($1::text[])',
    [query.destinations],
  );
  const pausedSet = new Set(paused.rows.map((row) => row.destination));
  const free = new Map<string, NotificationRow[]>();
  for (const destination of query.destinations) {
    if (pausedSet.has(destination)) continue;
    const head = await client.query<{ seq: number }>(
      `SELECT seq FROM notifications WHERE destination = $1 AND status = 'pending'
       ORDER BY created_at, order_key, seq LIMIT $2`,
      [destination, query.limit],
    );
    if (head.rows.length === 0) continue;
    // A subquery, not a join: FOR UPDATE then locks only the notifications, never an instance's row.
    const locked = await client.query<NotificationRow & { claimant_live: boolean }>(
      `SELECT ${NOTIFICATION_COLUMNS},
              (claimed_by IS NULL OR EXISTS (
                SELECT 1 FROM hookrelay_instances i
                WHERE i.id = claimed_by AND i.seen_at >= clock_timestamp() - $2::int * interval '1 millisecond'
              )) AS claimant_live
       FROM notifications
       WHERE seq = ANY($1::bigint[]) AND status = 'pending' FOR UPDATE SKIP LOCKED`,
      [head.rows.map((row) => row.seq), INSTANCE_TTL_MS],
    );
    const bySeq = new Map(locked.rows.map((row) => [row.seq, row]));
    const rows: NotificationRow[] = [];
    for (const { seq } of head.rows) {
      const found = bySeq.get(seq);
      if (!found) break;
      const { claimant_live: live, ...row } = found;
      if (row.due_at > query.now) break;
      if (row.lease_until !== null && row.lease_until > query.now && live) break;
      rows.push(row);
    }
    if (rows.length > 0) free.set(destination, rows);
  }
  const slots = await paceRows(client, query, free);
  const claimed: ClaimedRow[] = [];
  // Grouped by destination in the order named, as the port promises.
  for (const [destination, rows] of free) {
    const given = slots.get(destination);
    for (const [index, row] of rows.entries()) {
      const sendAt = given === undefined ? query.now : given[index];
      if (sendAt === undefined) break;
      claimed.push({ ...row, send_at: sendAt });
    }
  }
  if (claimed.length > 0) {
    await client.query(
      `UPDATE notifications
       SET lease_until = $1, attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, $2),
           claim_token = $3, claimed_by = $5
       WHERE seq = ANY($4::bigint[])`,
      [query.leaseUntil, query.now, query.token, claimed.map((row) => row.seq), claimedBy],
    );
  }
  return claimed;
}

/**
 * paceRows gives the free head rows of each paced destination their send slots (pacing-slots.js) from
 * the destination's bucket row, and writes the bucket back once. The upsert locks that row until the
 * claim commits, so claims of one destination on several instances take their slots one after another,
 * each reading the bucket the previous one left: one bucket for the cluster. Only destinations with rows
 * to claim are touched (an idle claim costs nothing more), in name order, so two claims naming several
 * paced destinations lock their rows in one order and never deadlock.
 */
async function paceRows(
  client: pg.ClientBase,
  query: PreparedClaim,
  free: Map<string, NotificationRow[]>,
): Promise<Map<string, number[]>> {
  const slots = new Map<string, number[]>();
  const paced = [...free.keys()].filter((destination) => query.pacing.has(destination)).sort();
  for (const destination of paced) {
    const pacing = query.pacing.get(destination) as ClaimPacing;
    // One statement reads and locks the row, creating it on a destination's first paced claim (tat 0: a
    // full bucket). DO UPDATE rather than DO NOTHING and a SELECT … FOR UPDATE: it returns the existing row
    // locked in one round trip (waiting, as FOR UPDATE would, for a claim holding it to commit).
    const bucket = await client.query<{ tat: number }>(
      `INSERT INTO destination_pacing AS p (destination, tat) VALUES ($1, 0)
       ON CONFLICT (destination) DO UPDATE SET tat = p.tat
       RETURNING tat`,
      [destination],
    );
    const plan = planSlots({
      tat: bucket.rows[0]?.tat,
      now: query.now,
      rows: free.get(destination)?.length ?? 0,
      pacing,
      horizonMs: query.horizonMs,
    });
    slots.set(destination, plan.slots);
    if (plan.slots.length > 0) {
      await client.query('UPDATE destination_pacing SET tat = $2 WHERE destination = $1', [
        destination,
        plan.tat,
      ]);
    }
  }
  return slots;
}

/**
 * applyTransition settles one pending notification and appends the attempt to its history, as the
 * SQLite engine does (write-steps.js): false for an unknown id or a row no longer pending (the attempt is
 * still kept), and false writing nothing when the claim token is stale.
 */
async function applyTransition(client: pg.ClientBase, write: TransitionWrite): Promise<boolean> {
  const found = await client.query<{ seq: number; claim_token: string | null }>(
    'SELECT seq, claim_token FROM notifications WHERE id = $1 FOR UPDATE',
    [write.id],
  );
  const row = found.rows[0];
  if (!row) return false;
  if (write.token !== null && row.claim_token !== write.token) return false;
  const { attempt } = write;
  await client.query(
    `INSERT INTO notification_attempts (notification_seq, at, duration_ms, outcome, reason, detail)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [row.seq, attempt.at, attempt.durationMs, attempt.outcome, attempt.reason, attempt.detail],
  );
  let result: pg.QueryResult;
  if (write.to === 'delivered') {
    result = await client.query(
      `UPDATE notifications SET status = 'delivered', delivered_at = $1, lease_until = NULL
       WHERE seq = $2 AND status = 'pending'`,
      [attempt.at, row.seq],
    );
  } else if (write.to === 'retry') {
    result = await client.query(
      `UPDATE notifications SET due_at = $1, lease_until = NULL WHERE seq = $2 AND status = 'pending'`,
      [write.dueAt ?? attempt.at, row.seq],
    );
  } else {
    result = await client.query(
      `UPDATE notifications SET status = 'dead', dead_reason = $1, dead_at = $2, lease_until = NULL
       WHERE seq = $3 AND status = 'pending'`,
      [write.reason ?? '', attempt.at, row.seq],
    );
  }
  return (result.rowCount ?? 0) > 0;
}

type LaneEntry =
  | { kind: 'claim'; claim: PreparedClaim; resolve(rows: ClaimedRow[]): void; reject(e: unknown): void }
  | { kind: 'transition'; write: TransitionWrite; resolve(changed: boolean): void; reject(e: unknown): void };

/**
 * createPgOutbox implements Outbox. Claims and transitions go through one lane per store, in call order:
 * a claim runs alone, consecutive transitions share one transaction (a data error in one of them makes
 * each run in its own, so it fails alone). So a claim called after recordDelivered(x) sees x settled, as
 * the port promises, without the caller waiting. Across instances, row locks (SKIP LOCKED for claims) and
 * the claim token keep them apart.
 */
export function createPgOutbox(
  context: PgContext,
  enqueued: Listeners,
  claimant: { claimedBy: () => string | null; claimsHeld?: () => boolean; abandon?: () => void },
): Outbox {
  const { pool } = context;
  const queue: LaneEntry[] = [];
  let running = false;
  // The claimant name each claim that took rows was stamped with, by token, until its lease ends: a claim
  // made under a name this store has since given up (its heartbeat came back after a stall) is not held.
  const claimNames = new Map<string, { name: string; leaseUntil: number }>();
  const remember = (claim: PreparedClaim, name: string) => {
    // Insertion order is about lease order: drop from the front while the leases have ended.
    for (const [token, held] of claimNames) {
      if (held.leaseUntil > claim.now) break;
      claimNames.delete(token);
    }
    claimNames.set(claim.token, { name, leaseUntil: claim.leaseUntil });
  };

  const failure = (what: string, error: unknown): Error => {
    // The deliver stage forgets what it holds after a failed claim or transition: give up the name its
    // claims carry, so those rows are claimable again in seconds, not after their lease.
    claimant.abandon?.();
    if (error instanceof HookrelayError) return error;
    context.health.failed(error, 1, { appends: false });
    return storeError(
      StoreErrorCode.writeFailed,
      `${what} failed and wrote nothing: ${(error as Error).message}`,
      error,
    );
  };

  async function runTransitions(group: Array<Extract<LaneEntry, { kind: 'transition' }>>): Promise<void> {
    try {
      const changed = await inTransaction(pool, async (client) => {
        const results: boolean[] = [];
        for (const entry of group) results.push(await applyTransition(client, entry.write));
        return results;
      });
      group.forEach((entry, index) => {
        entry.resolve(changed[index] ?? false);
      });
      return;
    } catch (error) {
      if (group.length === 1 || !isDataError(error)) {
        for (const entry of group) entry.reject(failure('the outbox transition', error));
        return;
      }
    }
    for (const entry of group) {
      try {
        entry.resolve(await inTransaction(pool, (client) => applyTransition(client, entry.write)));
      } catch (error) {
        entry.reject(failure('the outbox transition', error));
      }
    }
  }

  async function pump(): Promise<void> {
    if (running) return;
    running = true;
    try {
      for (let entry = queue[0]; entry !== undefined; entry = queue[0]) {
        if (entry.kind === 'claim') {
          queue.shift();
          try {
            const name = claimant.claimedBy();
            const rows = await inTransaction(pool, (client) => claimRows(client, entry.claim, name));
            if (rows.length > 0 && name !== null) remember(entry.claim, name);
            entry.resolve(rows);
          } catch (error) {
            entry.reject(failure('claim', error));
          }
          continue;
        }
        const group: Array<Extract<LaneEntry, { kind: 'transition' }>> = [];
        while (group.length < MAX_TRANSITION_GROUP && queue[0]?.kind === 'transition') {
          group.push(queue.shift() as Extract<LaneEntry, { kind: 'transition' }>);
        }
        await runTransitions(group);
      }
    } finally {
      running = false;
    }
  }

  const shared = sharedOutboxMethods({
    assertOpen: () => context.assertOpen(),
    enqueued,
    apply: (_what, write) =>
      new Promise<boolean>((resolve, reject) => {
        queue.push({ kind: 'transition', write, resolve, reject });
        void pump();
      }),
    prune: {
      deleteDelivered: async (cutoff) =>
        (
          await pool.query(
            `DELETE FROM notifications WHERE seq IN (
               SELECT seq FROM notifications WHERE status = 'delivered' AND delivered_at < $1 LIMIT $2)`,
            [cutoff, PRUNE_CHUNK_ROWS],
          )
        ).rowCount ?? 0,
      between: async () => undefined,
    },
  });

  return {
    async claim(query: ClaimQuery): Promise<ClaimedNotification[]> {
      context.assertOpen();
      const prepared = prepareClaim(query);
      const rows = await new Promise<ClaimedRow[]>((resolve, reject) => {
        queue.push({ kind: 'claim', claim: prepared, resolve, reject });
        void pump();
      });
      return rows.map((row) => toClaimed(row, prepared.now, prepared.token));
    },

    ...shared,

    ...(claimant.claimsHeld === undefined
      ? {}
      : {
          claimsHeld: (claimToken?: string): boolean => {
            if (claimant.claimsHeld?.() !== true) return false;
            return claimToken === undefined || claimNames.get(claimToken)?.name === claimant.claimedBy();
          },
        }),

    async releaseLeases(): Promise<number> {
      // Several instances deliver from one PostgreSQL database: ending every lease would end those that
      // live peers hold, and their notifications would be sent twice (see the port). Leases run out instead.
      context.assertOpen();
      throw storeError(
        StoreErrorCode.inputInvalid,
        'releaseLeases is refused on PostgreSQL: other instances may hold live leases; they run out by themselves',
      );
    },

    async pendingCounts(): Promise<Record<string, number>> {
      const rows = await readWith(
        context,
        'pendingCounts',
        async (db) =>
          (
            await db.query<{ destination: string; n: number }>(
              `SELECT destination, count(*) AS n FROM notifications WHERE status = 'pending' GROUP BY destination`,
            )
          ).rows,
      );
      return Object.fromEntries(rows.map((row) => [row.destination, row.n]));
    },
  };
}
