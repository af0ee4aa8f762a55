import { hash } from 'node:crypto';

/**
 * Stable hashing for rule fingerprints and alert ids. Hashing is pure computation (no I/O, no clock), so
 * the same rule or the same stream gives the same value on every run and every machine.
 */

/** stableStringify writes JSON with object keys sorted, so equal configs give equal text. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${stableStringify(record[key])}`).join(',')}}`;
}

/**
 * hashParts returns 32 hex characters (128 bits of SHA-256) of the parts. Parts are length-prefixed, so
 * `('ab', 'c')` and `('a', 'bc')` never collide.
 */
export function hashParts(...parts: ReadonlyArray<string | number>): string {
  return hashEncoded(encodeParts(...parts));
}

/** encodeParts returns the text hashParts hashes, so leading parts can be encoded once and reused. */
export function encodeParts(...parts: ReadonlyArray<string | number>): string {
  let text = '';
  for (const part of parts) {
    const piece = String(part);
    text += `${piece.length}:${piece};`;
  }
  return text;
}

/** hashEncoded hashes encoded parts: hashEncoded(encodeParts(a) + encodeParts(b, c)) === hashParts(a, b, c). */
export function hashEncoded(text: string): string {
  return hash('sha256', text, 'hex').slice(0, 32);
}
