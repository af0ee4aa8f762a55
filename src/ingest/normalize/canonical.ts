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
  // Plain loops and string appends: this runs for every id-less item on the ingest hot path.
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ',';
      text += canonicalJson(value[index]);
    }
    return `${text}]`;
  }
  const object = value as Record<string, unknown>;
  // The default sort compares UTF-16 code units, as the key order promises.
  const keys = Object.keys(object).sort();
  let text = '{';
  for (const key of keys) {
    const property = object[key];
    if (property === undefined) continue;
    if (text.length > 1) text += ',';
    text += `${JSON.stringify(key)}:${canonicalJson(property)}`;
  }
  return `${text}}`;
}

/** contentHash is the hex SHA-256 of a value's canonical JSON: a dedupe key for items that carry no id. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
