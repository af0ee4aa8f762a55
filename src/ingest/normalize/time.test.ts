import { describe, expect, it } from 'vitest';
import { parseInstant } from './time.js';

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
  ])('$value', ({ value, ms }) => {
    expect(parseInstant(value)).toBe(ms);
  });
});
