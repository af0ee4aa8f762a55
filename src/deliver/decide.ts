/**
 * What happens after a send, decided from the adapter's classification alone: delivered, retry later,
 * dead letter, or pause the destination. Pure: the time and the random source are arguments (the store
 * writes are record.ts, the metrics and logs observer.ts), so every decision is tested exactly.
 */
import type { FailureReason, SendResult } from '../destinations/index.js';
import type { ClaimedNotification } from '../store/ports.js';
import { decideRetry, type RetryPolicy } from './retry-policy.js';

/** Sent is one send that has its answer, to be decided and recorded. */
export interface Sent {
  notification: ClaimedNotification;
  /** When the attempt started, epoch ms. */
  at: number;
  durationMs: number;
  result: SendResult;
}

/** Decision is what a send's answer leads to; each kind is written to the store by record.ts. */
export type Decision =
  | { kind: 'delivered'; detail?: string }
  | {
      kind: 'retry';
      dueAt: number;
      delayMs: number;
      failure: { reason: FailureReason; detail: string };
    }
  | {
      kind: 'dead';
      /** The dead letter's reason, as `hookrelay dlq list` shows it. */
      reason: string;
      /** The metric's reason label: the failure class, or `exhausted`/`tooOld` when retrying gave up. */
      cause: string;
      /** Why retrying stopped (`exhausted after 3 attempts`), when it was a retry that gave up. */
      gaveUp?: string;
      failure: { reason: FailureReason; detail: string };
    }
  | {
      kind: 'pause';
      /** The pause's reason as stored: `<class>: <detail> (<hint>)`. */
      reason: string;
      /** What a person can do about it. */
      hint: string;
      failure: { reason: FailureReason; detail: string };
    };

/** What a person can do about each class of broken destination. */
const BROKEN_HINTS: Record<string, string> = {
  authError: 'check the credentials (bot token, webhook URL, SMTP login) and the permissions they grant',
  notFound:
    'the channel, webhook or mailbox is gone or the bot is not in it: fix the config or invite the bot',
  refused: 'the address is private or loopback: set allowPrivateNetworks: true if that is intended',
  clientError: 'fix the destination URL in the config',
};

/**
 * pauseReasonClass returns the class at the start of a pause reason as decide writes it
 * (`authError: slack …`), for the `reason` label of hookrelay_destination_paused; `unknown` otherwise.
 */
export function pauseReasonClass(reason: string): string {
  return /^([A-Za-z]+): /.exec(reason)?.[1] ?? 'unknown';
}

/**
 * decide turns a send's answer into a Decision under the destination's retry policy at `now`: a success
 * is delivered; a transient failure is retried after the policy's backoff (at least the peer's
 * Retry-After) or, once the policy gives up, dead-lettered with the last error in the reason; a message
 * the peer refuses is dead-lettered at once; a broken destination is paused with a hint. `random` is the
 * jitter source, [0, 1).
 */
export function decide(sent: Sent, policy: RetryPolicy, now: number, random: () => number): Decision {
  const { result, notification } = sent;
  if (result.ok)
    return result.detail === undefined ? { kind: 'delivered' } : { kind: 'delivered', detail: result.detail };
  const failure = { reason: result.reason, detail: result.detail };
  switch (result.outcome) {
    case 'retry': {
      const retry = decideRetry(
        policy,
        {
          attempts: notification.attempts,
          firstAttemptAt: notification.firstAttemptAt ?? sent.at,
          now,
          ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
        },
        random,
      );
      if (retry.retry) return { kind: 'retry', dueAt: retry.dueAt, delayMs: retry.delayMs, failure };
      // The last error goes with the reason, so `hookrelay dlq list` says what kept failing.
      return {
        kind: 'dead',
        reason: `${retry.reason}; last: ${result.reason}: ${result.detail}`,
        cause: retry.cause,
        gaveUp: retry.reason,
        failure,
      };
    }
    case 'dead':
      return { kind: 'dead', reason: `${result.reason}: ${result.detail}`, cause: result.reason, failure };
    case 'broken': {
      const hint = BROKEN_HINTS[result.reason] ?? 'fix the destination in the config';
      return { kind: 'pause', reason: `${result.reason}: ${result.detail} (${hint})`, hint, failure };
    }
  }
}
