import { z } from 'zod';
import { parseDurationMs } from '../lib/duration.js';
import { AdminErrorCode, adminError } from './errors.js';

/*
 * Parsing of query strings and bodies (API, forms and CLI send the same names). Every boundary goes
 * through zod; a failure is a 400 naming the field and why, never a stack trace.
 */

/**
 * parseTime reads a time as the API accepts it: epoch ms, an ISO 8601 time, or a duration meaning "that
 * long ago" (`since=1h`) or, with `future`, "from now" (`for=2h`). Undefined when it is none of these.
 */
export function parseTime(
  text: string,
  now: number,
  direction: 'past' | 'future' = 'past',
): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const duration = parseDurationMs(trimmed);
  if (duration !== undefined) return direction === 'past' ? now - duration : now + duration;
  // Date.parse accepts much that is not ISO; the pattern keeps it to dates and date-times.
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/i.test(trimmed)) return undefined;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : ms;
}

/** timeField is a zod field of a time in any form parseTime reads. */
export function timeField(now: () => number, direction: 'past' | 'future' = 'past') {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : parseTime(value, now(), direction);
    if (ms === undefined || !Number.isFinite(ms)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected epoch ms, an ISO time such as 2026-03-02T14:00:00Z, or a duration such as 2h',
      });
      return z.NEVER;
    }
    return ms;
  });
}

/** intField is a whole number given as a number or a string of digits. */
export const intField = z.coerce.number().int().nonnegative();

/** limitField is a page size: 1 to `max`, `fallback` when absent. */
export const limitField = (fallback: number, max = 500) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

/** parseWith parses `input` with `schema` or throws a 400 listing each field's problem. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
  throw adminError(AdminErrorCode.badRequest, `${what}: ${problems}`, 400);
}

/** optionalText is a non-empty string field where an empty string means "not given" (forms send those). */
export const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));
