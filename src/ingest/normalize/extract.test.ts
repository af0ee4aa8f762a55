import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ExtractOptions, extractItem, type JsonObject, readId } from './extract.js';
import { referenceExtractItem } from './testdata/extract-reference.js';
import { TRACKPILOTS_ID_PATHS, TRACKPILOTS_TIME_PATHS } from './trackpilots.js';

const OPTIONS: ExtractOptions = {
  path: 'data[0]',
  idPaths: TRACKPILOTS_ID_PATHS,
  timePaths: TRACKPILOTS_TIME_PATHS,
  fallbackAt: 1_769_591_100_000,
  fallbackName: 'envelope timestamp',
};

// Values of every kind a sender might put where a field is expected, the odd ones included.
const scalar = fc.oneof(
  fc.constantFrom('', '  ', ' id-1 ', 'x'.repeat(200), 'x'.repeat(201), '2026-01-28T08:00:00Z', '1769591100'),
  fc.constantFrom(
    'Slack',
    'productive',
    'macOS',
    'not a date',
    '2026-02-30',
    'https://cdn.example.com/s.png',
  ),
  fc.constantFrom(0, -0, -1, 1.5, 7, 1_769_591_100, 1_769_591_100_000, Number.MAX_SAFE_INTEGER, 2 ** 53),
  fc.boolean(),
  fc.constant(null),
);
const KEYS = [
  'tracking',
  'screenshot',
  'activity',
  'time',
  'app',
  'user',
  'team',
  'organisation',
  'organization',
  'userId',
  'teamId',
  'orgId',
  'user_id',
  'trackingId',
  'screenshotId',
  'workEventId',
  'workType',
  'workTime',
  'trackingMode',
  'operatingSystem',
  'simulation',
  'isIdle',
  'name',
  'type',
  'productivityStatus',
  'startDate',
  'endDate',
  'capturedAt',
  'id',
  'organisationId',
  'imageBuffer',
  'extra',
] as const;
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('node'), { maxLength: 2 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('node'), { maxKeys: 6 }),
  ),
})).node;
const element = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 8 }) as fc.Arbitrary<JsonObject>;

describe('extractItem', () => {
  it('extracts exactly what the first, zod-based extraction did, field order included', () => {
    fc.assert(
      fc.property(element, (input) => {
        const actual = extractItem(input, OPTIONS);
        const expected = referenceExtractItem(input, OPTIONS);
        expect(actual).toEqual(expected);
        expect(JSON.stringify(actual.fields)).toBe(JSON.stringify(expected.fields));
      }),
      { numRuns: 2_000 },
    );
  });

  it('never changes the element it reads', () => {
    fc.assert(
      fc.property(element, (input) => {
        const before = JSON.stringify(input);
        extractItem(input, OPTIONS);
        expect(JSON.stringify(input)).toBe(before);
      }),
    );
  });
});

describe('readId', () => {
  it.each([
    { value: ' a ', id: 'a' },
    { value: '   ', id: undefined },
    { value: 'x'.repeat(201), id: undefined },
    { value: ` ${'x'.repeat(200)} `, id: 'x'.repeat(200) },
    { value: 7, id: '7' },
    { value: -0, id: '0' },
    { value: -1, id: undefined },
    { value: 1.5, id: undefined },
    { value: 2 ** 53, id: undefined },
    { value: true, id: undefined },
    { value: null, id: undefined },
    { value: { id: 1 }, id: undefined },
  ])('$value → $id', ({ value, id }) => {
    expect(readId(value)).toBe(id);
  });
});
