import type { FailureReason } from '../destinations/index.js';
import type { Logger } from '../lib/log.js';
import type { Decision, Sent } from './decide.js';

/**
 * DeliveryEvent is what the deliverer reports as it works: every fact its log lines and metrics carry,
 * typed. One subscriber (observer.ts) turns them into metrics and logs; `onEvent` gets the same, so
 * tests and tools can wait for them instead of sleeping.
 */
export type DeliveryEvent =
  | {
      type: 'delivery:delivered';
      destination: string;
      id: string;
      attempts: number;
      durationMs: number;
      /** Something partial the peer said (rejected recipients, a screenshot not attached). */
      detail?: string;
      /** False when another worker had already finished it (this one's lease had run out). */
      recorded: boolean;
    }
  | {
      type: 'delivery:retry';
      destination: string;
      id: string;
      attempts: number;
      reason: FailureReason;
      detail: string;
      dueAt: number;
      delayMs: number;
      durationMs: number;
    }
  | {
      type: 'delivery:dead';
      destination: string;
      id: string;
      attempts: number;
      /** The dead letter's reason, as `hookrelay dlq list` shows it. */
      reason: string;
      /** The metric's reason label: the failure class, or `exhausted`/`tooOld` when retrying gave up. */
      cause: string;
      /** Why retrying stopped, when it was a retry that gave up. */
      gaveUp?: string;
      failure: { reason: FailureReason; detail: string };
      durationMs: number;
    }
  | {
      /** One attempt that found the destination broken (the first one also pauses it). */
      type: 'delivery:broken';
      destination: string;
      id: string;
      attempts: number;
      reason: FailureReason;
      detail: string;
      durationMs: number;
    }
  | {
      type: 'destination:paused';
      destination: string;
      /** The pause's reason as stored. */
      reason: string;
      hint: string;
      /** The attempt that paused it. */
      id: string;
      attempts: number;
      failure: { reason: FailureReason; detail: string };
    }
  | { type: 'destination:resumed'; destination: string; by: 'reload' | 'store' }
  | { type: 'destination:unconfigured'; destination: string; pending: number }
  | { type: 'deliver:leases-released'; released: number }
  | { type: 'deliver:error'; destination: string; error: Error; in?: 'adapter' };

/** outcomeEvent is the DeliveryEvent of a send whose decision has been written. */
export function outcomeEvent(
  destination: string,
  sent: Sent,
  decision: Decision,
  recorded: boolean,
): DeliveryEvent {
  const { id, attempts } = sent.notification;
  const { durationMs } = sent;
  switch (decision.kind) {
    case 'delivered':
      return {
        type: 'delivery:delivered',
        destination,
        id,
        attempts,
        durationMs,
        recorded,
        ...(decision.detail === undefined ? {} : { detail: decision.detail }),
      };
    case 'retry':
      return {
        type: 'delivery:retry',
        destination,
        id,
        attempts,
        reason: decision.failure.reason,
        detail: decision.failure.detail,
        dueAt: decision.dueAt,
        delayMs: decision.delayMs,
        durationMs,
      };
    case 'dead':
      return {
        type: 'delivery:dead',
        destination,
        id,
        attempts,
        reason: decision.reason,
        cause: decision.cause,
        ...(decision.gaveUp === undefined ? {} : { gaveUp: decision.gaveUp }),
        failure: decision.failure,
        durationMs,
      };
    case 'pause':
      return {
        type: 'delivery:broken',
        destination,
        id,
        attempts,
        reason: decision.failure.reason,
        detail: decision.failure.detail,
        durationMs,
      };
  }
}

/**
 * createEmitter returns the function the deliverer reports through: the observer first (so metrics are
 * counted before anyone hears of the event), then the caller's listener. Either one that throws is
 * logged and ignored: reporting never stops delivering.
 */
export function createEmitter(
  observer: (event: DeliveryEvent) => void,
  listener: ((event: DeliveryEvent) => void) | undefined,
  logger: Logger,
): (event: DeliveryEvent) => void {
  return (event) => {
    try {
      observer(event);
    } catch (error) {
      logger.error({ err: error }, 'the delivery observer threw; ignored');
    }
    if (listener === undefined) return;
    try {
      listener(event);
    } catch (error) {
      logger.error({ err: error }, 'a delivery event listener threw; ignored');
    }
  };
}
