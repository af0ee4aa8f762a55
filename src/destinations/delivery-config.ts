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
