/**
 * Cutting text to a provider's limit with a visible marker. Oversize alerts are cut, never refused: a
 * person would rather read most of an alert than get none.
 */

/** TRUNCATION_MARKER ends every cut text, so a reader knows something is missing. */
export const TRUNCATION_MARKER = '…(truncated)';

/**
 * How a provider counts: `codePoints` (Discord: Unicode code points), or `utf16` (JS string length; an upper
 * bound of code points, for providers that do not document their unit, so a cut text always fits).
 */
export type LengthUnit = 'codePoints' | 'utf16';

/** TruncateOptions: the marker to append (default TRUNCATION_MARKER) and the unit to count in (default code points). */
export interface TruncateOptions {
  marker?: string;
  unit?: LengthUnit;
}

/** measure returns the length of `text` in `unit`. */
export function measure(text: string, unit: LengthUnit = 'codePoints'): number {
  if (unit === 'utf16') return text.length;
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * truncate returns `text` unchanged when it fits in `limit`, else the longest prefix that fits together
 * with the marker, followed by the marker. It cuts between code points, so it never splits a surrogate
 * pair. When even the marker does not fit, the marker itself is cut.
 */
export function truncate(text: string, limit: number, options: TruncateOptions = {}): string {
  const unit = options.unit ?? 'codePoints';
  const marker = options.marker ?? TRUNCATION_MARKER;
  if (limit <= 0) return '';
  if (measure(text, unit) <= limit) return text;
  const markerLength = measure(marker, unit);
  if (markerLength >= limit) return takePrefix(marker, limit, unit);
  return takePrefix(text, limit - markerLength, unit) + marker;
}

/** takePrefix returns the longest prefix of `text` whose length in `unit` is at most `limit`. */
function takePrefix(text: string, limit: number, unit: LengthUnit): string {
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const size = unit === 'utf16' ? ch.length : 1;
    if (used + size > limit) break;
    used += size;
    end += ch.length;
  }
  return text.slice(0, end);
}

/**
 * truncateEscaped cuts the raw `text` so that `escapeText(cut) + marker` fits in `limit`, then returns that.
 * Cutting before escaping means an escape sequence (`&amp;`, `\*`) is never split in half. When the escaped
 * text fits as it is, it is returned without a marker.
 */
export function truncateEscaped(
  text: string,
  limit: number,
  escapeText: (raw: string) => string,
  options: TruncateOptions = {},
): string {
  const unit = options.unit ?? 'codePoints';
  const marker = options.marker ?? TRUNCATION_MARKER;
  const whole = escapeText(text);
  if (measure(whole, unit) <= limit) return whole;
  const budget = limit - measure(marker, unit);
  if (budget <= 0) return truncate(marker, limit, { unit });
  const points = Array.from(text);
  // Binary search on the number of raw code points kept: escaping only ever grows text, monotonically.
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (measure(escapeText(points.slice(0, mid).join('')), unit) <= budget) low = mid;
    else high = mid - 1;
  }
  return escapeText(points.slice(0, low).join('')) + marker;
}
