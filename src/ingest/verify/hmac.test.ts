import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkTimestamp, MAX_SIGNATURE_CANDIDATES, matchHmac, verifySigned } from './hmac.js';

const REFERENCE_TIME = Date.UTC(2026, 0, 28, 9, 5, 0); // 1769591100000
const NOW_SECONDS = REFERENCE_TIME / 1000;
const FIVE_MINUTES = 5 * 60_000;

describe('checkTimestamp', () => {
  const cases: {
    name: string;
    raw: string;
    expected: ReturnType<typeof checkTimestamp>;
    unit?: 'seconds';
  }[] = [
    { name: 'seconds, now', raw: `${NOW_SECONDS}`, expected: { ok: true, timestampMs: REFERENCE_TIME } },
    {
      name: 'milliseconds, now',
      raw: `${REFERENCE_TIME + 123}`,
      expected: { ok: true, timestampMs: REFERENCE_TIME + 123 },
    },
    {
      name: 'seconds, exactly the tolerance old',
      raw: `${NOW_SECONDS - 300}`,
      expected: { ok: true, timestampMs: REFERENCE_TIME - FIVE_MINUTES },
    },
    {
      name: 'seconds, exactly the tolerance ahead',
      raw: `${NOW_SECONDS + 300}`,
      expected: { ok: true, timestampMs: REFERENCE_TIME + FIVE_MINUTES },
    },
    {
      name: 'seconds, one second too old',
      raw: `${NOW_SECONDS - 301}`,
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_TOO_OLD' },
    },
    {
      name: 'seconds, one second too far ahead',
      raw: `${NOW_SECONDS + 301}`,
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE' },
    },
    {
      name: 'milliseconds, one ms too old',
      raw: `${REFERENCE_TIME - FIVE_MINUTES - 1}`,
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_TOO_OLD' },
    },
    {
      name: 'milliseconds, one ms too far ahead',
      raw: `${REFERENCE_TIME + FIVE_MINUTES + 1}`,
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE' },
    },
    {
      name: 'zero (1970) is too old',
      raw: '0',
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_TOO_OLD' },
    },
    { name: 'letters', raw: 'abc', expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' } },
    {
      name: 'fraction',
      raw: `${NOW_SECONDS}.5`,
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' },
    },
    {
      name: 'negative',
      raw: `-${NOW_SECONDS}`,
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' },
    },
    {
      name: 'plus sign',
      raw: `+${NOW_SECONDS}`,
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' },
    },
    { name: 'exponent', raw: '1.7e9', expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' } },
    {
      name: 'surrounding space',
      raw: ` ${NOW_SECONDS}`,
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' },
    },
    {
      name: 'ISO date',
      raw: '2026-01-28T09:05:00Z',
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' },
    },
    {
      name: 'too many digits',
      raw: '12345678901234567',
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' },
    },
    { name: 'empty', raw: '', expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' } },
    // With the seconds unit a millisecond value is read as seconds: tens of thousands of years ahead.
    {
      name: 'milliseconds where seconds are required',
      raw: `${REFERENCE_TIME}`,
      unit: 'seconds',
      expected: { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE' },
    },
  ];
  it.each(cases)('$name', ({ raw, unit, expected }) => {
    expect(checkTimestamp(raw, REFERENCE_TIME, FIVE_MINUTES, unit)).toEqual(expected);
  });
});

describe('matchHmac', () => {
  const content = ['1769591100', '.', Buffer.from('{"a":1}')];
  const keys = [Buffer.from('first'), Buffer.from('second'), Buffer.from('third')];
  const digestUnder = (key: string): Buffer =>
    createHmac('sha256', key).update('1769591100.{"a":1}').digest();

  it.each([
    { name: 'first key', candidates: [digestUnder('first')], expected: { matched: true, keyIndex: 0 } },
    { name: 'third key', candidates: [digestUnder('third')], expected: { matched: true, keyIndex: 2 } },
    {
      name: 'second candidate matches',
      candidates: [Buffer.alloc(32), digestUnder('second')],
      expected: { matched: true, keyIndex: 1 },
    },
    {
      name: 'two keys match: the first configured wins',
      candidates: [digestUnder('third'), digestUnder('first')],
      expected: { matched: true, keyIndex: 0 },
    },
    { name: 'unknown key', candidates: [digestUnder('other')], expected: { matched: false } },
    {
      name: 'truncated digest is never compared',
      candidates: [digestUnder('first').subarray(0, 31)],
      expected: { matched: false },
    },
    { name: 'no candidates', candidates: [], expected: { matched: false } },
  ])('$name', ({ candidates, expected }) => {
    expect(matchHmac({ content, candidates, keys, algorithm: 'sha256' })).toEqual(expected);
  });

  it('hashes the parts in order, as one message', () => {
    const digest = createHmac('sha512', 'k').update('ab.cd').digest();
    expect(
      matchHmac({
        content: ['ab', '.', Buffer.from('cd')],
        candidates: [digest],
        keys: [Buffer.from('k')],
        algorithm: 'sha512',
      }),
    ).toEqual({
      matched: true,
      keyIndex: 0,
    });
  });
});

describe('verifySigned', () => {
  const keySet = { keys: [Buffer.from('k')], algorithm: 'sha256' as const, toleranceMs: FIVE_MINUTES };
  const digest = createHmac('sha256', 'k').update('body').digest();

  it('is malformed when no candidate has the digest length', () => {
    expect(
      verifySigned({ content: ['body'], candidates: [Buffer.alloc(20)] }, keySet, REFERENCE_TIME),
    ).toEqual({
      ok: false,
      code: 'HR_ERR_SIG_MALFORMED',
    });
  });

  it('is malformed when a request offers more candidates than any sender would', () => {
    const candidates = [...Array.from({ length: MAX_SIGNATURE_CANDIDATES }, () => Buffer.alloc(32)), digest];
    expect(verifySigned({ content: ['body'], candidates }, keySet, REFERENCE_TIME)).toEqual({
      ok: false,
      code: 'HR_ERR_SIG_MALFORMED',
    });
  });

  it('checks the timestamp before comparing, so a stale replay of a valid signature is refused', () => {
    const result = verifySigned(
      { content: ['body'], candidates: [digest], timestamp: { raw: `${NOW_SECONDS - 3600}`, unit: 'auto' } },
      keySet,
      REFERENCE_TIME,
    );
    expect(result).toEqual({ ok: false, code: 'HR_ERR_SIG_TIMESTAMP_TOO_OLD' });
  });

  it('reports no timestampMs when nothing signed a timestamp', () => {
    expect(verifySigned({ content: ['body'], candidates: [digest] }, keySet, REFERENCE_TIME)).toEqual({
      ok: true,
      secretIndex: 0,
    });
  });
});
