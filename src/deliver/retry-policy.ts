/**
 * The retry policy of the deliver stage: when a failed attempt is tried again, and when it stops. Pure:
 * the time and the random source are arguments, so every decision can be tested exactly.
 */
import {
  DESTINATION_KINDS,
  type DestinationType,
  type RetryConfig,
  type RetryDefaults,
} from '../destinations/index.js';
import { formatDuration } from '../lib/duration.js';

/** RetryPolicy is one destination's retry settings, in milliseconds: its type's defaults, its `retry:` over them. */
export interface RetryPolicy extends RetryDefaults {
  /** Longest peer wait hint (`Retry-After`, Discord `retry_after`) honoured; a longer one is cut to this. */
  maxRetryAfterMs: number;
}

/** MAX_RETRY_AFTER_MS caps what a peer may ask us to wait: a broken header must not park a queue for days. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** DEFAULT_RETRY_POLICIES holds each destination type's policy when the config sets no `retry:` (its kind's defaults). */
export const DEFAULT_RETRY_POLICIES: Readonly<Record<DestinationType, RetryPolicy>> = Object.fromEntries(
  DESTINATION_KINDS.map((kind) => [kind.type, { ...kind.retry, maxRetryAfterMs: MAX_RETRY_AFTER_MS }]),
) as Record<DestinationType, RetryPolicy>;

/**
 * retryPolicyFor merges a destination's `retry:` block over its type's defaults. A configured
 * initialDelay above maxDelay raises maxDelay to it (the two would otherwise contradict each other).
 */
export function retryPolicyFor(type: DestinationType, config: RetryConfig = {}): RetryPolicy {
  const base = DEFAULT_RETRY_POLICIES[type];
  const initialDelayMs = config.initialDelay ?? base.initialDelayMs;
  return {
    maxAttempts: config.maxAttempts ?? base.maxAttempts,
    maxAgeMs: config.maxAge ?? base.maxAgeMs,
    initialDelayMs,
    maxDelayMs: Math.max(config.maxDelay ?? base.maxDelayMs, initialDelayMs),
    maxRetryAfterMs: base.maxRetryAfterMs,
  };
}

/**
 * backoffCeilingMs is the longest delay after failed attempt number `attempts` (1 = the first attempt):
 * `initialDelay * 2^(attempts-1)`, never above maxDelay.
 */
export function backoffCeilingMs(policy: RetryPolicy, attempts: number): number {
  const doublings = Math.max(0, Math.min(attempts - 1, 52));
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** doublings);
}

/** RetryInput describes the attempt that just failed with a transient error. */
export interface RetryInput {
  /** Attempts so far, the failed one included (ClaimedNotification.attempts). */
  attempts: number;
  /** Epoch ms of the first attempt (since enqueued or replayed). */
  firstAttemptAt: number;
  /** Epoch ms now. */
  now: number;
  /** The peer's own wait hint, uncapped, when it gave one. */
  retryAfterMs?: number;
}

/** RetryDecision says when to try again, or why not to. */
export type RetryDecision =
  | { retry: true; delayMs: number; dueAt: number }
  | { retry: false; cause: 'exhausted' | 'tooOld'; reason: string };

/**
 * decideRetry applies the policy to a transient failure: stop once `maxAttempts` are spent or the first
 * attempt is `maxAge` ago; otherwise wait a uniformly random time in [0, ceiling) ("full jitter", so a
 * crowd of failures spreads out), but at least the peer's Retry-After (capped at maxRetryAfter). A wait
 * that would end past the maximum age is cut so the last attempt falls on it, unless the peer asked for
 * longer, which ends it now. `random` returns a number in [0, 1), as Math.random does.
 */
export function decideRetry(
  policy: RetryPolicy,
  input: RetryInput,
  random: () => number = Math.random,
): RetryDecision {
  if (input.attempts >= policy.maxAttempts) {
    return { retry: false, cause: 'exhausted', reason: `exhausted after ${input.attempts} attempts` };
  }
  const age = input.now - input.firstAttemptAt;
  const tooOld = (why = ''): RetryDecision => ({
    retry: false,
    cause: 'tooOld',
    reason: `too old: first attempt ${formatDuration(age)} ago, maxAge ${formatDuration(policy.maxAgeMs)}${why}`,
  });
  if (age >= policy.maxAgeMs) return tooOld();

  const unit = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  const jittered = Math.floor(unit * backoffCeilingMs(policy, input.attempts));
  const asked =
    input.retryAfterMs === undefined ? 0 : Math.min(Math.max(input.retryAfterMs, 0), policy.maxRetryAfterMs);
  let delayMs = Math.max(jittered, asked);
  const left = policy.maxAgeMs - age;
  if (delayMs > left) {
    if (asked > left) return tooOld(`, and the peer asked to wait ${formatDuration(asked)}`);
    delayMs = left;
  }
  return { retry: true, delayMs, dueAt: input.now + delayMs };
}
