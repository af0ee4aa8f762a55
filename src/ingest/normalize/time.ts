/** MS_THRESHOLD separates epoch units in payloads: a number above it is milliseconds, otherwise seconds. */
export const MS_THRESHOLD = 1e12;

/**
 * LATEST_MS is the last instant an item time may name: the end of the year 9999, the last a four-digit ISO
 * year can write. The earliest is the epoch. Outside that range a number is not a time but a broken or
 * hostile value: 1e19 cannot even be stored in an integer column, and one such item used to roll back
 * every request sharing its group commit (issue 15 §2).
 */
export const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** InstantProblem is why a payload value is not usable as a time; it names no value, so it may be logged. */
export type InstantProblem = 'not a date' | 'out of range';

// A zone is required: a local time without one would be read in the relay's own time zone.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/i;
const NUMERIC = /^\d{1,16}(?:\.\d+)?$/;

function inRange(ms: number): number | InstantProblem {
  // Rounded first, so that what is checked is exactly what is stored.
  const rounded = Math.round(ms);
  return Number.isSafeInteger(rounded) && rounded >= 0 && rounded <= LATEST_MS ? rounded : 'out of range';
}

function fromEpoch(value: number): number | InstantProblem {
  if (!Number.isFinite(value) || value < 0) return 'out of range';
  return inRange(value > MS_THRESHOLD ? value : value * 1000);
}

// Date.parse rolls 2026-02-30 over into March instead of refusing it.
function isCalendarDate(value: string): boolean {
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * readInstant reads a payload time as whole epoch ms: an ISO-8601 string with a zone (or a bare date, taken
 * as UTC), or epoch seconds or milliseconds as a number or digit string (above 1e12 is milliseconds). It
 * returns why not for anything else: `not a date` (including a date-time without a zone), or `out of
 * range` for a time before 1970 or after LATEST_MS. Every number it returns is a safe integer.
 */
export function readInstant(value: unknown): number | InstantProblem {
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string') return 'not a date';
  if (NUMERIC.test(value)) return fromEpoch(Number(value));
  if (!ISO_INSTANT.test(value) || !isCalendarDate(value)) return 'not a date';
  const ms = Date.parse(value.replace(' ', 'T'));
  return Number.isFinite(ms) ? inRange(ms) : 'not a date';
}

/** parseInstant is readInstant without the reason: epoch ms, or undefined for anything unusable. */
export function parseInstant(value: unknown): number | undefined {
  const ms = readInstant(value);
  return typeof ms === 'number' ? ms : undefined;
}
