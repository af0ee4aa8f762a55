import { createHash } from 'node:crypto';

/**
 * canonicalJson serialises a JSON value with object keys sorted (by UTF-16 code unit), so two payloads
 * that differ only in key order give the same text. Values that JSON cannot hold follow JSON.stringify:
 * undefined properties are dropped, undefined array elements and non-finite numbers become null.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'number' && !Number.isFinite(value) ? 'null' : (JSON.stringify(value) ?? 'null');
  }
  if (Array.isArray(value)) return `[${value.map((element) => canonicalJson(element)).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, property]) => property !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, property]) => `${JSON.stringify(key)}:${canonicalJson(property)}`).join(',')}}`;
}

/** contentHash is the hex SHA-256 of a value's canonical JSON: a dedupe key for items that carry no id. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
