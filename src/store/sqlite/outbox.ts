import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';
import type { AttemptOutcome, AttemptRecord, ClaimedNotification, ClaimQuery, Outbox } from '../ports.js';
import {
  claimToken,
  epochMs,
  invalidInput,
  nonEmptyString,
  prepareAttempt,
  prepareClaim,
} from '../validate.js';
import { failureError, MAX_TRANSITION_GROUP, type OutboxSubmission } from './batching.js';
import { type Listeners, readWith, type SqliteContext, writeWith, yieldToLoop } from './context.js';
import { toNotification } from './notification-row.js';
import type { NotificationRow, OutboxWriteOutcome, Transition, TransitionWrite } from './write-types.js';

/** Rows deleted per pruneDelivered transaction (with their attempts), as for the event log. */
const PRUNE_CHUNK_ROWS = 1_000;

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

  async function transition(
    what: string,
    id: string,
    attempt: AttemptRecord,
    allowed: readonly AttemptOutcome[],
    to: Transition,
    value: { dueAt?: number; reason?: string; token?: string | undefined } = {},
  ): Promise<boolean> {
    context.assertOpen();
    if (!nonEmptyString(id)) throw invalidInput(what, 'id must be a non-empty string');
    const write: TransitionWrite = {
      id,
      to,
      attempt: prepareAttempt(what, attempt, allowed),
      dueAt: value.dueAt ?? null,
      reason: value.reason ?? null,
      token: claimToken(what, value.token),
    };
    return transitionInGroup(what, write);
  }

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

    async recordDelivered(id: string, attempt: AttemptRecord, token?: string): Promise<boolean> {
      return transition('recordDelivered', id, attempt, ['delivered'], 'delivered', { token });
    },

    async scheduleRetry(
      id: string,
      retry: { dueAt: number; attempt: AttemptRecord },
      token?: string,
    ): Promise<boolean> {
      const what = 'scheduleRetry';
      context.assertOpen();
      const dueAt = epochMs(what, 'dueAt', retry?.dueAt);
      return transition(what, id, retry.attempt, ['retry', 'broken'], 'retry', { dueAt, token });
    },

    async deadLetter(
      id: string,
      dead: { reason: string; attempt: AttemptRecord },
      token?: string,
    ): Promise<boolean> {
      const what = 'deadLetter';
      context.assertOpen();
      if (!nonEmptyString(dead?.reason)) throw invalidInput(what, 'reason must be a non-empty string');
      return transition(what, id, dead.attempt, ['dead', 'broken'], 'dead', { reason: dead.reason, token });
    },

    async releaseLeases(): Promise<number> {
      const released = await writeWith(context, 'releaseLeases', releaseTx);
      if (released > 0) enqueued.notify();
      return released;
    },

    async pendingCounts(): Promise<Record<string, number>> {
      const rows = readWith(context, 'pendingCounts', () => countPending.all());
      return Object.fromEntries(rows.map((row) => [row.destination, row.n]));
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
          changes = await context.batcher.exclusive(() => pruneTx.immediate(cutoff));
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

function toClaimed(row: NotificationRow, now: number, claimToken: string): ClaimedNotification {
  const claimed: ClaimedNotification = {
    ...toNotification(row),
    attempts: row.attempts + 1,
    firstAttemptAt: row.first_attempt_at ?? now,
    claimToken,
  };
  if (row.event_seq !== null) claimed.eventSeq = row.event_seq;
  return claimed;
}
