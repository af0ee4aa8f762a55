/**
 * Pacing per destination: a token bucket for the send rate and a limit on sends in flight. Pure: the
 * time is an argument, so the math is tested with a hand-moved clock.
 */
import {
  DESTINATION_KINDS,
  type DestinationType,
  type PacingDefaults,
  type RateConfig,
} from '../destinations/index.js';

/** PacingPolicy is one destination's pacing: its type's defaults, its `rate:` over them. */
export type PacingPolicy = PacingDefaults;

/**
 * DEFAULT_PACING holds each type's pacing when the config sets no `rate:` (its kind's defaults, where each
 * says why). Concurrency is 1 everywhere so every destination receives its alerts in order.
 */
export const DEFAULT_PACING: Readonly<Record<DestinationType, PacingPolicy>> = Object.fromEntries(
  DESTINATION_KINDS.map((kind) => [kind.type, kind.pacing]),
) as Record<DestinationType, PacingPolicy>;

/**
 * pacingPolicyFor merges a destination's `rate:` block over its type's defaults. Setting only `perSecond`
 * keeps the default burst (at least 1).
 */
export function pacingPolicyFor(type: DestinationType, config: RateConfig = {}): PacingPolicy {
  const base = DEFAULT_PACING[type];
  return {
    perSecond: config.perSecond ?? base.perSecond,
    burst: Math.max(1, config.burst ?? base.burst),
    concurrency: config.concurrency ?? base.concurrency,
  };
}

/** Slack for floating-point sums: 0.999 + 0.001 must count as a whole token. */
const EPSILON = 1e-9;

/** TokenBucket paces sends: a full bucket lets `burst` through at once, then `perSecond` on average. */
export interface TokenBucket {
  /**
   * tryTake takes one token when there is one and returns 0; otherwise it takes nothing and returns the
   * milliseconds until a token will be there (always at least 1). `now` is epoch ms; a clock that steps
   * back adds no tokens and costs none.
   */
  tryTake(now: number): number;
  /** available returns the tokens in the bucket at `now` (fractional), without taking any. */
  available(now: number): number;
}

/** createTokenBucket returns a full bucket for `policy` as of `now`. An unpaced policy never waits. */
export function createTokenBucket(
  policy: Pick<PacingPolicy, 'perSecond' | 'burst'>,
  now: number,
): TokenBucket {
  const capacity = Math.max(1, policy.burst);
  const unpaced = !Number.isFinite(policy.perSecond);
  let tokens = capacity;
  let updatedAt = now;

  const refill = (at: number): void => {
    // A clock stepping back (NTP, a test) restarts the count from there instead of freezing the bucket.
    if (at > updatedAt) tokens = Math.min(capacity, tokens + ((at - updatedAt) * policy.perSecond) / 1000);
    updatedAt = at;
  };

  return {
    tryTake(at) {
      if (unpaced) return 0;
      refill(at);
      if (tokens >= 1 - EPSILON) {
        tokens = Math.max(0, tokens - 1);
        return 0;
      }
      return Math.max(1, Math.ceil(((1 - tokens) * 1000) / policy.perSecond - EPSILON));
    },
    available(at) {
      if (unpaced) return capacity;
      refill(at);
      return tokens;
    },
  };
}
