import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash } from './canonical.js';

describe('canonicalJson', () => {
  it.each([
    {
      name: 'sorts keys at every depth',
      value: { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } },
      text: '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    },
    { name: 'keeps array order', value: [2, 1], text: '[2,1]' },
    { name: 'drops undefined properties', value: { a: undefined, b: 1 }, text: '{"b":1}' },
    {
      name: 'sorts integer-like keys as strings',
      value: { 10: 'x', 2: 'y', a: 'z' },
      text: '{"10":"x","2":"y","a":"z"}',
    },
    { name: 'escapes strings as JSON does', value: { 'k"': 'line\nbreak' }, text: '{"k\\"":"line\\nbreak"}' },
    {
      name: 'writes non-finite numbers as null',
      value: [Number.NaN, Number.POSITIVE_INFINITY],
      text: '[null,null]',
    },
  ])('$name', ({ value, text }) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it('round-trips any JSON value and ignores key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        const reordered = JSON.parse(JSON.stringify(value), (_key, property: unknown) =>
          property !== null && typeof property === 'object' && !Array.isArray(property)
            ? Object.fromEntries(Object.entries(property).reverse())
            : property,
        );
        expect(canonicalJson(reordered)).toBe(text);
      }),
    );
  });
});

/** The first implementation, kept as the reference: stored dedupe keys were made with it. */
function referenceCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'number' && !Number.isFinite(value) ? 'null' : (JSON.stringify(value) ?? 'null');
  }
  if (Array.isArray(value)) return `[${value.map((element) => referenceCanonicalJson(element)).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, property]) => property !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, property]) => `${JSON.stringify(key)}:${referenceCanonicalJson(property)}`).join(',')}}`;
}

describe('canonicalJson keeps the text of the first implementation (dedupe keys already stored)', () => {
  it('for any JSON value, and values with undefined, NaN and odd keys', () => {
    const odd = fc.oneof(
      fc.constant(undefined),
      fc.constant(Number.NaN),
      fc.constant(Number.NEGATIVE_INFINITY),
      fc.constant(-0),
      fc.string({ unit: 'binary' }),
    );
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(fc.jsonValue(), odd),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('node'), { maxKeys: 5 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (input) => {
        expect(canonicalJson(input)).toBe(referenceCanonicalJson(input));
      }),
      { numRuns: 500 },
    );
  });
});

describe('contentHash', () => {
  it('is the SHA-256 of the canonical text', () => {
    expect(contentHash({ b: 1, a: 2 })).toBe(createHash('sha256').update('{"a":2,"b":1}').digest('hex'));
  });
});
