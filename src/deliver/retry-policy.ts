/**
 * The retry policy of the deliver stage: when a failed attempt is tried again, and when it stops. Pure:
 * the time and the random source are arguments, so every decision can be tested exactly.
 */
import type { DestinationType, RetryConfig } from '../destinations/index.js';
import { formatDuration } from '../lib/duration.js';

/** RetryPolicy is one destination's retry settings, in milliseconds. */
export interface RetryPolicy {
  /** Attempts (the first one included) after which a failing notification is dead-lettered. */
  maxAttempts: number;
  /** Time since the first attempt after which a failing notification is dead-lettered. */
  maxAgeMs: number;
  /** Ceiling of the first retry's delay; the ceiling doubles with every attempt. */
  initialDelayMs: number;
  /** Highest ceiling: no delay between two attempts is longer (unless the peer's Retry-After asks). */
  maxDelayMs: number;
  /** Longest peer wait hint (`Retry-After`, Discord `retry_after`) honoured; a longer one is cut to this. */
  maxRetryAfterMs: number;
}

/** MAX_RETRY_AFTER_MS caps what a peer may ask us to wait: a broken header must not park a queue for days. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/*
 * With full jitter the average wait at the ceiling is half of maxDelay, so 50 attempts span about 3.5 hours
 * of an outage before the message at the head of the queue is dead-lettered; maxAge bounds the rest. The
 * messages behind the head are not attempted (and do not count attempts) while it waits.
 */
const CHAT: RetryPolicy = {
  maxAttempts: 50,
  maxAgeMs: 24 * HOUR,
  initialDelayMs: 1 * SECOND,
  maxDelayMs: 10 * MINUTE,
  maxRetryAfterMs: MAX_RETRY_AFTER_MS,
};

/** DEFAULT_RETRY_POLICIES holds each destination type's policy when the config sets no `retry:`. */
export const DEFAULT_RETRY_POLICIES: Readonly<Record<DestinationType, RetryPolicy>> = {
  slack: CHAT,
  discord: CHAT,
  webhook: CHAT,
  // SMTP 4xx is often greylisting, which wants minutes, not seconds, between tries.
  email: { ...CHAT, maxAttempts: 30, initialDelayMs: 30 * SECOND, maxDelayMs: 30 * MINUTE },
  // Writing a line to stdout only fails when stdout is gone; a few quick tries are enough.
  log: { ...CHAT, maxAttempts: 5, maxAgeMs: 1 * HOUR, maxDelayMs: 1 * MINUTE },
};

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
