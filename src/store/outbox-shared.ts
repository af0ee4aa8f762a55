import type { Listeners } from './lifecycle.js';
import type { AttemptOutcome, AttemptRecord, ClaimedNotification, Outbox } from './ports.js';
import { type DeliveredPruneSteps, pruneDeliveredInChunks } from './pruning.js';
import { toNotification } from './sqlite/notification-row.js';
import type { ClaimedRow, Transition, TransitionWrite } from './sqlite/write-types.js';
import { claimToken, epochMs, invalidInput, nonEmptyString, prepareAttempt } from './validate.js';

/*
 * What both engines' outboxes do the same way: the three transitions (recordDelivered, scheduleRetry,
 * deadLetter) with the checks each passes before it is written, onEnqueue, the delivered-prune loop, and
 * a claimed row read back. An engine gives only how a checked transition is applied (SQLite: a group in
 * the writer thread; PostgreSQL: a lane) and the statement that deletes one prune chunk.
 */

export type SharedOutboxMethods = Pick<
  Outbox,
  'recordDelivered' | 'scheduleRetry' | 'deadLetter' | 'onEnqueue' | 'pruneDelivered'
>;

export interface OutboxParts {
  /** assertOpen refuses a closed store. */
  assertOpen(): void;
  /** The onEnqueue listeners. */
  enqueued: Listeners;
  /** apply writes one checked transition; true when it changed the row. */
  apply(what: string, write: TransitionWrite): Promise<boolean>;
  /** The engine's prune steps (see pruning.ts). */
  prune: Omit<DeliveredPruneSteps, 'assertOpen'>;
}

/** sharedOutboxMethods builds the engine-neutral Outbox methods on an engine's parts. */
export function sharedOutboxMethods(parts: OutboxParts): SharedOutboxMethods {
  const { assertOpen, apply } = parts;
  function transition(
    what: string,
    id: string,
    attempt: AttemptRecord,
    allowed: readonly AttemptOutcome[],
    to: Transition,
    value: { dueAt?: number; reason?: string; token?: string | undefined } = {},
  ): Promise<boolean> {
    assertOpen();
    if (!nonEmptyString(id)) throw invalidInput(what, 'id must be a non-empty string');
    const write: TransitionWrite = {
      id,
      to,
      attempt: prepareAttempt(what, attempt, allowed),
      dueAt: value.dueAt ?? null,
      reason: value.reason ?? null,
      token: claimToken(what, value.token),
    };
    return apply(what, write);
  }

  return {
    async recordDelivered(id: string, attempt: AttemptRecord, token?: string): Promise<boolean> {
      return transition('recordDelivered', id, attempt, ['delivered'], 'delivered', { token });
    },

    async scheduleRetry(
      id: string,
      retry: { dueAt: number; attempt: AttemptRecord },
      token?: string,
    ): Promise<boolean> {
      const what = 'scheduleRetry';
      assertOpen();
      const dueAt = epochMs(what, 'dueAt', retry?.dueAt);
      return transition(what, id, retry.attempt, ['retry', 'broken'], 'retry', { dueAt, token });
    },

    async deadLetter(
      id: string,
      dead: { reason: string; attempt: AttemptRecord },
      token?: string,
    ): Promise<boolean> {
      const what = 'deadLetter';
      assertOpen();
      if (!nonEmptyString(dead?.reason)) throw invalidInput(what, 'reason must be a non-empty string');
      return transition(what, id, dead.attempt, ['dead', 'broken'], 'dead', { reason: dead.reason, token });
    },

    onEnqueue(listener: () => void): () => void {
      return parts.enqueued.add(listener);
    },

    async pruneDelivered(cutoffMs: number): Promise<number> {
      return pruneDeliveredInChunks(cutoffMs, { assertOpen, ...parts.prune });
    },
  };
}

/** toClaimed reads a row a claim leased back as the ClaimedNotification the deliverer works on. */
export function toClaimed(row: ClaimedRow, now: number, token: string): ClaimedNotification {
  const claimed: ClaimedNotification = {
    ...toNotification(row),
    attempts: row.attempts + 1,
    firstAttemptAt: row.first_attempt_at ?? now,
    claimToken: token,
    sendAt: row.send_at,
  };
  if (row.event_seq !== null) claimed.eventSeq = row.event_seq;
  return claimed;
}
