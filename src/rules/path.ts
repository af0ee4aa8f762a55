/**
 * Dotted field paths (`app.productivityStatus`, `person.name`) over the normalised item. Paths are split
 * once at compile time; reading walks own properties only, so a path such as `constructor` or
 * `__proto__` never reaches a prototype.
 */

/** FieldPath is a dotted path split into its segments, with the text kept for messages. */
export interface FieldPath {
  readonly text: string;
  readonly segments: readonly string[];
}

/** compilePath splits a dotted path once, so reading it per item does no string work. */
export function compilePath(text: string): FieldPath {
  return { text, segments: text.split('.') };
}

/** readPath returns the value at `path` in `root`, or undefined when any step is missing. */
export function readPath(root: unknown, path: FieldPath): unknown {
  let current: unknown = root;
  for (const segment of path.segments) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** keyOf turns the value of a `per` path into a state key; undefined when the item has no usable value. */
export function keyOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** numberOf reads a number from a field: numbers and numeric strings; undefined for anything else. */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

const MAX_SHOWN = 60;

/** showValue renders an item's value for an explanation: `"neutral"`, `20`, `missing`. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let json: string;
  try {
    json = JSON.stringify(value) ?? typeof value;
  } catch {
    json = typeof value;
  }
  return json.length > MAX_SHOWN ? `${json.slice(0, MAX_SHOWN)}…` : json;
}
