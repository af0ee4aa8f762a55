/** MS_THRESHOLD separates epoch units in payloads: a number above it is milliseconds, otherwise seconds. */
export const MS_THRESHOLD = 1e12;

// A zone is required: a local time without one would be read in the relay's own time zone.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/i;
const NUMERIC = /^\d{1,16}(?:\.\d+)?$/;

function fromEpoch(value: number): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  return Math.round(value > MS_THRESHOLD ? value : value * 1000);
}

// Date.parse rolls 2026-02-30 over into March instead of refusing it.
function isCalendarDate(value: string): boolean {
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * parseInstant reads a payload time as epoch ms: an ISO-8601 string with a zone (or a bare date, taken as
 * UTC), or epoch seconds or milliseconds as a number or digit string (above 1e12 is milliseconds). It
 * returns undefined for anything else, including a date-time without a zone.
 */
export function parseInstant(value: unknown): number | undefined {
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string') return undefined;
  if (NUMERIC.test(value)) return fromEpoch(Number(value));
  if (!ISO_INSTANT.test(value) || !isCalendarDate(value)) return undefined;
  const ms = Date.parse(value.replace(' ', 'T'));
  return Number.isFinite(ms) ? ms : undefined;
}
