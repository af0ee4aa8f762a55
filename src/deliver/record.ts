/**
 * The store writes of a Decision: one outbox transition per send (two for a pause). Nothing here counts,
 * logs or decides; the worker reports what was written as DeliveryEvents.
 */
import type { AttemptRecord, DeadLetters, Outbox } from '../store/ports.js';
import type { Decision, Sent } from './decide.js';

/** attemptOf is the history entry of a decided send: its timing, the outcome and what the peer said. */
export function attemptOf(sent: Sent, decision: Decision): AttemptRecord {
  const timing = { at: sent.at, durationMs: sent.durationMs };
  switch (decision.kind) {
    case 'delivered':
      return {
        ...timing,
        outcome: 'delivered',
        ...(decision.detail === undefined ? {} : { detail: decision.detail }),
      };
    case 'retry':
      return {
        ...timing,
        outcome: 'retry',
        reason: decision.failure.reason,
        detail: decision.failure.detail,
      };
    case 'dead':
      return { ...timing, outcome: 'dead', reason: decision.failure.reason, detail: decision.failure.detail };
    case 'pause':
      return {
        ...timing,
        outcome: 'broken',
        reason: decision.failure.reason,
        detail: decision.failure.detail,
      };
  }
}

/**
 * writeDecision records a decided send in the outbox: delivered; due again at `dueAt`; a dead letter; or
 * the destination paused and the notification due again now, in its place (paused first, so the row is
 * not claimed before the pause is visible). Resolves false only for a delivery that another worker had
 * already finished (its lease had run out).
 */
export async function writeDecision(
  store: { outbox: Outbox; deadLetters: Pick<DeadLetters, 'pauseDestination'> },
  destination: string,
  sent: Sent,
  decision: Decision,
  now: number,
): Promise<boolean> {
  const { outbox } = store;
  const id = sent.notification.id;
  const attempt = attemptOf(sent, decision);
  // The claim's token: once our lease ran out and another worker (here or on another instance) claimed the
  // row again, the store refuses this write rather than let a stale worker settle what the new one holds.
  const token = sent.notification.claimToken;
  switch (decision.kind) {
    case 'delivered':
      return outbox.recordDelivered(id, attempt, token);
    case 'retry':
      await outbox.scheduleRetry(id, { dueAt: decision.dueAt, attempt }, token);
      return true;
    case 'dead':
      await outbox.deadLetter(id, { reason: decision.reason, attempt }, token);
      return true;
    case 'pause':
      await store.deadLetters.pauseDestination(destination, { reason: decision.reason, at: now });
      await outbox.scheduleRetry(id, { dueAt: now, attempt }, token);
      return true;
  }
}
