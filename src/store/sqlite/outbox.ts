import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';
import type { Listeners } from '../lifecycle.js';
import { sharedOutboxMethods, toClaimed } from '../outbox-shared.js';
import type { ClaimedNotification, ClaimQuery, Outbox } from '../ports.js';
import { PRUNE_CHUNK_ROWS } from '../pruning.js';
import { prepareClaim } from '../validate.js';
import { failureError, MAX_TRANSITION_GROUP, type OutboxSubmission } from './batching.js';
import { readWith, type SqliteContext, writeWith, yieldToLoop } from './context.js';
import type { OutboxWriteOutcome, TransitionWrite } from './write-types.js';

/**
 * createSqliteOutbox implements Outbox. Every write is durable (`synchronous = FULL`) when it resolves.
 * Claims and transitions (recordDelivered, scheduleRetry, deadLetter) ride in the next write batch
 * (`context.batcher`; with a database file on the writer thread): those made while a batch commits share
 * the next one, and its single fsync, off the event loop; they are applied in the order they were called.
 * Consecutive transitions travel as one group (one submission and one result for the lot); a claim closes
 * the open group, so a transition made after a claim is applied after it. releaseLeases and prunes are
 * IMMEDIATE transactions on the store's connection, taken between two batches (`batcher.exclusive`).
 * Reads run on the store's connection. `enqueued` are the onEnqueue listeners, shared with the evaluator
 * store and the dead letters (a replay or resume wakes delivery).
 */
export function createSqliteOutbox(context: SqliteContext, enqueued: Listeners): Outbox {
  const { db } = context;

  // Scans the pending rows (measured: ~40 ms for 100,000). No index on lease_until: every claim and
  // transition would pay to maintain it, for a statement that runs once per start, before the relay listens.
  const releaseAll = db.prepare(
    `UPDATE notifications SET lease_until = NULL WHERE status = 'pending' AND lease_until IS NOT NULL`,
  );
  const countPending = db.prepare<[], { destination: string; n: number }>(
    `SELECT destination, count(*) AS n FROM notifications WHERE status = 'pending' GROUP BY destination`,
  );
  const pruneDelivered = db.prepare<[number, number]>(
    `DELETE FROM notifications WHERE seq IN (
       SELECT seq FROM notifications WHERE status = 'delivered' AND delivered_at < ? LIMIT ?)`,
  );

  const releaseTx = db.transaction(() => releaseAll.run().changes);
  // Attempts go with their notification (ON DELETE CASCADE).
  const pruneTx = db.transaction((cutoff: number) => pruneDelivered.run(cutoff, PRUNE_CHUNK_ROWS).changes);

  /** writeFailure is what a batched write rejects with: the errors writeWith gives. */
  const writeFailure = (what: string, error: unknown): Error =>
    error instanceof HookrelayError
      ? error
      : storeError(
          StoreErrorCode.writeFailed,
          `${what} failed and wrote nothing: ${(error as Error).message}`,
          error,
        );

  const commit = (submission: OutboxSubmission) => context.batcher.outbox(submission);

  /**
   * The open group of transitions: those made until the next batch is sent ride in it, so they share
   * that batch's transaction and fsync (off the event loop, with a file), in the order they were made.
   */
  let group: TransitionGroup | undefined;

  /** transitionInGroup adds a transition to the open group (opening one if needed) and returns its result. */
  async function transitionInGroup(what: string, write: TransitionWrite): Promise<boolean> {
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
    if (typeof changed === 'object') throw writeFailure(what, failureError(changed));
    if (changed === undefined) throw unexpectedOutcome(what);
    return changed;
  }

  const shared = sharedOutboxMethods({
    assertOpen: () => context.assertOpen(),
    enqueued,
    apply: transitionInGroup,
    prune: {
      deleteDelivered: (cutoff) => context.batcher.exclusive(() => pruneTx.immediate(cutoff)),
      // Let appends and evaluator commits run between chunks.
      between: yieldToLoop,
    },
  });

  return {
    async claim(query: ClaimQuery): Promise<ClaimedNotification[]> {
      context.assertOpen();
      const prepared = prepareClaim(query);
      // Transitions made after this claim must not ride in a group submitted before it: they are applied
      // in call order, and the claim must not see them.
      group = undefined;
      let outcome: OutboxWriteOutcome;
      try {
        outcome = await commit({ kind: 'claim', claim: prepared });
      } catch (error) {
        throw writeFailure('claim', error);
      }
      if (!('claimed' in outcome)) throw unexpectedOutcome('claim');
      return outcome.claimed.map((row) => toClaimed(row, prepared.now, prepared.token));
    },

    ...shared,

    async releaseLeases(): Promise<number> {
      const released = await writeWith(context, 'releaseLeases', releaseTx);
      if (released > 0) enqueued.notify();
      return released;
    },

    async pendingCounts(): Promise<Record<string, number>> {
      const rows = readWith(context, 'pendingCounts', () => countPending.all());
      return Object.fromEntries(rows.map((row) => [row.destination, row.n]));
    },
  };
}

interface TransitionGroup {
  /** The group's transitions, in the order they were made; more join until taken. */
  transitions: TransitionWrite[];
  /** Whether a batch has taken the group (later transitions open another). */
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
  return storeError(StoreErrorCode.writeFailed, `${what}: the writer answered with the wrong kind of result`);
}
