import { z } from 'zod';
import { durationMs } from './duration.js';

/*
 * The `retry:` and `rate:` keys every destination type accepts. Adapters never read them: the deliver stage
 * owns backoff and pacing (style.md §6.6 habit 3) and fills in per-type defaults for what is left out.
 */

/** retryConfigSchema is a destination's `retry:` block; durations are parsed to milliseconds. */
export const retryConfigSchema = z
  .strictObject({
    maxAttempts: z.number().int().positive().optional().describe('Give up after this many attempts.'),
    maxAge: durationMs
      .optional()
      .describe('Give up once this long has passed since the first attempt, e.g. 24h.'),
    initialDelay: durationMs
      .optional()
      .describe('Longest delay before the first retry; doubles each time, with full jitter.'),
    maxDelay: durationMs.optional().describe('Longest delay between two attempts, e.g. 10m.'),
  })
  .describe('Retry policy for failed sends; unset keys keep the defaults for the destination type.');

/** RetryConfig is a parsed `retry:` block (milliseconds). */
export type RetryConfig = z.output<typeof retryConfigSchema>;

/** rateConfigSchema is a destination's `rate:` block. */
export const rateConfigSchema = z
  .strictObject({
    perSecond: z.number().positive().optional().describe('Sustained sends per second.'),
    burst: z.number().int().positive().optional().describe('Sends allowed at once before pacing starts.'),
    concurrency: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Sends in flight at the same time. Above 1, messages may arrive out of order.'),
  })
  .describe('Pacing, so one busy hour does not flood the destination.');

/** RateConfig is a parsed `rate:` block. */
export type RateConfig = z.output<typeof rateConfigSchema>;

/** deliveryConfigShape is spread into every destination type's schema. */
export const deliveryConfigShape = {
  retry: retryConfigSchema.optional(),
  rate: rateConfigSchema.optional(),
};

/** DeliveryConfig is the part of a parsed destination entry that belongs to the deliver stage. */
export interface DeliveryConfig {
  retry?: RetryConfig;
  rate?: RateConfig;
}

/**
 * RetryDefaults is a destination type's retry policy when its `retry:` leaves a key out (milliseconds). The
 * deliver stage applies it; each type states its own in its folder's index.ts.
 */
export interface RetryDefaults {
  /** Attempts (the first one included) after which a failing notification is dead-lettered. */
  maxAttempts: number;
  /** Time since the first attempt after which a failing notification is dead-lettered. */
  maxAgeMs: number;
  /** Ceiling of the first retry's delay; the ceiling doubles with every attempt. */
  initialDelayMs: number;
  /** Highest ceiling: no delay between two attempts is longer (unless the peer's Retry-After asks). */
  maxDelayMs: number;
}

/** PacingDefaults is a destination type's pacing when its `rate:` leaves a key out. `perSecond: Infinity` is unpaced. */
export interface PacingDefaults {
  /** Sustained sends per second (tokens added per second). */
  perSecond: number;
  /** Sends allowed back to back when the bucket is full (its size). */
  burst: number;
  /**
   * Sends in flight at once. 1 keeps the order of arrival at the peer equal to the queue order; above 1,
   * sends still start in queue order but may finish (and arrive) in any order.
   */
  concurrency: number;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * CHAT_RETRY is the retry default of the chat and HTTP destinations. With full jitter the average wait at
 * the ceiling is half of maxDelay, so 50 attempts span about 3.5 hours of an outage before the message at
 * the head of the queue is dead-lettered; maxAge bounds the rest. The messages behind the head are not
 * attempted (and do not count attempts) while it waits.
 */
export const CHAT_RETRY: Readonly<RetryDefaults> = {
  maxAttempts: 50,
  maxAgeMs: 24 * HOUR,
  initialDelayMs: 1 * SECOND,
  maxDelayMs: 10 * MINUTE,
};

/** UNPACED sends as fast as the peer answers, one at a time (so alerts arrive in order). */
export const UNPACED: Readonly<PacingDefaults> = {
  perSecond: Number.POSITIVE_INFINITY,
  burst: 1,
  concurrency: 1,
};
