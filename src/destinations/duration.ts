import { z } from 'zod';
import { parseDurationMs } from '../lib/duration.js';

/** durationMs is a config duration (`10s`, `1m30s`, `250ms`) parsed to milliseconds; it must be positive. */
export const durationMs = z.string().transform((text, ctx) => {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'a positive duration such as 10s, 1m or 250ms' });
    return z.NEVER;
  }
  return ms;
});

/** httpUrl is an absolute http(s) URL. */
export const httpUrl = z
  .string()
  .refine((text) => /^https?:\/\//i.test(text) && URL.canParse(text), 'an absolute http:// or https:// URL');
