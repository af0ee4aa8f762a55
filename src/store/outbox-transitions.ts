import type { AttemptOutcome, AttemptRecord, ClaimedNotification, Outbox } from './ports.js';
import { toNotification } from './sqlite/notification-row.js';
import type { NotificationRow, Transition, TransitionWrite } from './sqlite/write-types.js';
import { claimToken, epochMs, invalidInput, nonEmptyString, prepareAttempt } from './validate.js';

/*
 * The outbox's three transitions (recordDelivered, scheduleRetry, deadLetter) and a claimed row read
 * back, for both engines: the checks each transition passes before it is written. An engine gives only
 * how a checked transition is applied (SQLite: a group in the writer thread; PostgreSQL: a lane).
 */

export type TransitionMethods = Pick<Outbox, 'recordDelivered' | 'scheduleRetry' | 'deadLetter'>;

/** transitionMethods checks each transition and hands it to `apply`; `assertOpen` refuses a closed store. */
export function transitionMethods(
  assertOpen: () => void,
  apply: (what: string, write: TransitionWrite) => Promise<boolean>,
): TransitionMethods {
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
  };
}

/** toClaimed reads a row a claim leased back as the ClaimedNotification the deliverer works on. */
export function toClaimed(row: NotificationRow, now: number, token: string): ClaimedNotification {
  const claimed: ClaimedNotification = {
    ...toNotification(row),
    attempts: row.attempts + 1,
    firstAttemptAt: row.first_attempt_at ?? now,
    claimToken: token,
  };
  if (row.event_seq !== null) claimed.eventSeq = row.event_seq;
  return claimed;
}
