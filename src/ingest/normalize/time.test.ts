import { describe, expect, it } from 'vitest';
import { LATEST_MS, parseInstant, readInstant } from './time.js';

const CAPTURED_AT = Date.UTC(2026, 0, 28, 9, 5, 0, 308);

describe('parseInstant', () => {
  it.each([
    { value: '2026-01-28T09:05:00.308Z', ms: CAPTURED_AT },
    { value: '2026-01-28T09:05:00.308123Z', ms: CAPTURED_AT },
    { value: '2026-01-28T11:05:00.308+02:00', ms: CAPTURED_AT },
    { value: '2026-01-28 09:05:00.308Z', ms: CAPTURED_AT },
    { value: '2026-01-28T09:05Z', ms: Date.UTC(2026, 0, 28, 9, 5) },
    { value: '2026-01-28', ms: Date.UTC(2026, 0, 28) },
    { value: 1769591100308, ms: CAPTURED_AT },
    { value: 1769591100, ms: Date.UTC(2026, 0, 28, 9, 5) },
    { value: 1769591100.308, ms: CAPTURED_AT },
    { value: '1769591100308', ms: CAPTURED_AT },
    { value: '1769591100', ms: Date.UTC(2026, 0, 28, 9, 5) },
    { value: '2026-01-28T09:05:00', ms: undefined }, // no zone: whose 09:05?
    { value: '2026-02-30T00:00:00Z', ms: undefined },
    { value: '2026-13-01T00:00:00Z', ms: undefined },
    { value: 'yesterday', ms: undefined },
    { value: 'Wed, 28 Jan 2026 09:05:00 GMT', ms: undefined },
    { value: '', ms: undefined },
    { value: -1, ms: undefined },
    { value: Number.NaN, ms: undefined },
    { value: null, ms: undefined },
    { value: { seconds: 1 }, ms: undefined },
    { value: true, ms: undefined },
    // Out of range: no item happened before 1970 or after 9999, and 1e19 cannot even be stored as an integer.
    { value: 1e19, ms: undefined },
    { value: 1e300, ms: undefined },
    { value: Number.POSITIVE_INFINITY, ms: undefined },
    { value: '9999999999999999', ms: undefined },
    { value: 1e12, ms: undefined }, // 10¹² seconds: the year 33 658
    { value: LATEST_MS, ms: LATEST_MS },
    { value: LATEST_MS + 1, ms: undefined },
    { value: '1969-12-31T23:59:59Z', ms: undefined },
    { value: 0, ms: 0 },
  ])('$value', ({ value, ms }) => {
    expect(parseInstant(value)).toBe(ms);
  });
});

describe('readInstant', () => {
  it.each([
    { value: 1e19, read: 'out of range' },
    { value: -1, read: 'out of range' },
    { value: Number.NaN, read: 'out of range' },
    { value: '999999999999999', read: 'out of range' },
    { value: '1900-01-01', read: 'out of range' },
    { value: 'yesterday', read: 'not a date' },
    { value: { seconds: 1 }, read: 'not a date' },
    { value: 1769591100308, read: CAPTURED_AT },
  ])('$value → $read', ({ value, read }) => {
    expect(readInstant(value)).toBe(read);
  });

  it('every time it accepts is a safe integer the store can keep', () => {
    for (const value of [0.4, 1769591100.3085, 253402300799.9994, '1769591100.5']) {
      const read = readInstant(value);
      expect(typeof read === 'number' && Number.isSafeInteger(read)).toBe(true);
    }
  });
});
