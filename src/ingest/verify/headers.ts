import type { HeaderMap } from './result.js';

/** HeaderRead is one header as a verifier needs it: a single value, absent, or sent more than once. */
export type HeaderRead = { kind: 'value'; value: string } | { kind: 'missing' } | { kind: 'repeated' };

/**
 * readHeader reads the header `name` (lower-case). An empty value counts as missing. A header sent twice
 * (an array of two or more) is `repeated`: two signatures or two timestamps leave no single value to trust.
 * Node joins most repeated headers with ", " instead; the adapters then fail to decode that value.
 */
export function readHeader(headers: HeaderMap, name: string): HeaderRead {
  const value = headers[name];
  if (value === undefined) return { kind: 'missing' };
  if (typeof value === 'string') return value === '' ? { kind: 'missing' } : { kind: 'value', value };
  if (value.length > 1) return { kind: 'repeated' };
  const only = value[0];
  return only === undefined || only === '' ? { kind: 'missing' } : { kind: 'value', value: only };
}
