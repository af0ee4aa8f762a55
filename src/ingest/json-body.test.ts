import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, MAX_JSON_DEPTH, parseJsonBody } from './json-body.js';

/** depthOf is the nesting depth of a parsed JSON value, walked with an explicit stack (the reference). */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(next.value)) stack.push({ value: child, depth });
  }
  return deepest;
}

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('exceedsJsonDepth', () => {
  it.each([
    { text: '1', max: 0, exceeds: false },
    { text: '[]', max: 0, exceeds: true },
    { text: '[]', max: 1, exceeds: false },
    { text: '{"a":[{"b":[]}]}', max: 3, exceeds: true },
    { text: '{"a":[{"b":[]}]}', max: 4, exceeds: false },
    { text: '[1,[2],[3],[[4]]]', max: 3, exceeds: false },
    { text: '"[[[[[[[["', max: 1, exceeds: false },
    { text: '["\\"[[[["]', max: 1, exceeds: false },
    { text: '["\\\\",[[]]]', max: 2, exceeds: true },
    { text: '{"\\\\\\"[[":[]}', max: 1, exceeds: true },
    { text: '["never closed', max: 0, exceeds: true },
    { text: '"never closed [[[[', max: 1, exceeds: false },
  ])('$text with at most $max levels → $exceeds', ({ text, max, exceeds }) => {
    expect(exceedsJsonDepth(bytes(text), max)).toBe(exceeds);
  });

  it('agrees with the depth of the parsed value for any JSON', () => {
    const json = fc.jsonValue({ maxDepth: 8 });
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 9 }), (value, max) => {
        const text = JSON.stringify(value);
        expect(exceedsJsonDepth(bytes(text), max)).toBe(depthOf(value) > max);
      }),
      { numRuns: 2_000, seed: 153 },
    );
  });

  it('counts a hundred thousand levels without recursion', () => {
    const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(exceedsJsonDepth(bytes(text))).toBe(true);
    expect(exceedsJsonDepth(bytes(`[${'"x",'.repeat(100_000)}1]`))).toBe(false);
  });

  it('defaults to MAX_JSON_DEPTH', () => {
    const at = (levels: number) => bytes(`${'['.repeat(levels)}${']'.repeat(levels)}`);
    expect(exceedsJsonDepth(at(MAX_JSON_DEPTH))).toBe(false);
    expect(exceedsJsonDepth(at(MAX_JSON_DEPTH + 1))).toBe(true);
  });
});

describe('parseJsonBody', () => {
  it.each([
    { body: '{"event":"x"}', result: { ok: true, payload: { event: 'x' } } },
    { body: '{"event": ', result: { ok: false, code: 'HR_ERR_INGEST_INVALID_JSON', reason: 'invalid JSON' } },
    {
      body: `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
      result: { ok: false, code: 'HR_ERR_INGEST_TOO_DEEP', reason: 'JSON nested deeper than 64 levels' },
    },
    // Not JSON, and deep: refused for its depth, without parsing.
    {
      body: '['.repeat(65),
      result: { ok: false, code: 'HR_ERR_INGEST_TOO_DEEP', reason: 'JSON nested deeper than 64 levels' },
    },
  ])('$body.length bytes → $result.ok', ({ body, result }) => {
    expect(parseJsonBody(Buffer.from(body))).toEqual(result);
    expect(parseJsonBody(body)).toEqual(result);
  });
});
