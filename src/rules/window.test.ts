import { describe, expect, it } from 'vitest';
import { aggregateAt, coveredAt, insertEntry, MATCHED, type WindowEntries } from './window.js';

const MIN = 60_000;

function entries(
  rows: Array<[at: number, id: string, matched: boolean, value: number | null]>,
): WindowEntries {
  const w: WindowEntries = { at: [], id: [], f: [], v: [] };
  for (const [at, id, matched, value] of rows) insertEntry(w, at, id, matched ? MATCHED : 0, value);
  return w;
}

describe('insertEntry', () => {
  it('keeps (at, id) order whatever the arrival order, and refuses the same item twice', () => {
    const w = entries([
      [20, 'b', true, 1],
      [10, 'z', true, 1],
      [20, 'a', true, 1],
      [30, 'c', true, 1],
    ]);
    expect(w.id).toEqual(['z', 'a', 'b', 'c']);
    expect(insertEntry(w, 20, 'a', MATCHED, 1)).toBe(-1);
    expect(w.id).toHaveLength(4);
  });
});

describe('aggregateAt', () => {
  // Matching items at 0, 10, 20, 30 minutes with values 1, 2, 3, 4; a non-matching one at 25 with 10.
  const w = entries([
    [0, 'a', true, 1],
    [10 * MIN, 'b', true, 2],
    [20 * MIN, 'c', true, 3],
    [25 * MIN, 'x', false, 10],
    [30 * MIN, 'd', true, 4],
  ]);
  const last = 4;

  it.each([
    { aggregate: 'count', window: 30 * MIN, value: 3, note: 'the item exactly one window older is out' },
    { aggregate: 'count', window: 30 * MIN + 1, value: 4, note: 'one ms more and it is in' },
    { aggregate: 'sum', window: 30 * MIN, value: 9 },
    { aggregate: 'avg', window: 30 * MIN, value: 3 },
    { aggregate: 'min', window: 30 * MIN, value: 2 },
    { aggregate: 'max', window: 30 * MIN, value: 4 },
    { aggregate: 'ratio', window: 30 * MIN, value: 9 / 19, note: 'matching sum over all items of the key' },
  ] as const)('$aggregate over $window ms $note', ({ aggregate, window, value }) => {
    const result = aggregateAt(w, last, window, aggregate);
    expect(result.value).toBeCloseTo(value, 10);
  });

  it('counts all items of the key and the matching ones', () => {
    expect(aggregateAt(w, last, 30 * MIN, 'count')).toEqual({ value: 3, matched: 3, total: 4 });
  });

  it('has no value for avg/min/max of nothing and for a ratio over nothing', () => {
    const none = entries([[0, 'x', false, null]]);
    for (const aggregate of ['avg', 'min', 'max', 'ratio'] as const) {
      expect(aggregateAt(none, 0, MIN, aggregate).value).toBeUndefined();
    }
    expect(aggregateAt(none, 0, MIN, 'count').value).toBe(0);
    expect(aggregateAt(none, 0, MIN, 'sum').value).toBe(0);
  });

  it('holds the ties that sort before the point, not those after it', () => {
    const ties = entries([
      [5, 'a', true, 1],
      [5, 'b', true, 1],
      [5, 'c', true, 1],
    ]);
    expect([0, 1, 2].map((i) => aggregateAt(ties, i, MIN, 'count').value)).toEqual([1, 2, 3]);
  });
});

describe('coveredAt', () => {
  const window = 60 * MIN;
  it.each([
    { name: 'a steady hour is covered', times: [0, 20, 40, 60], tail: null, covered: true },
    { name: 'less than an hour is not', times: [10, 20, 40, 60], tail: null, covered: false },
    { name: 'a gap of a whole window breaks the stretch', times: [0, 60, 70], tail: null, covered: false },
    { name: 'just under a window of gap keeps it', times: [0, 59, 70], tail: null, covered: true },
    { name: 'the evicted tail continues a stretch', times: [15, 35, 60], tail: 0, covered: true },
    { name: 'but not across a gap', times: [61, 90, 120], tail: 0, covered: false },
  ])('$name', ({ times, tail, covered }) => {
    const w = entries(times.map((t, i) => [t * MIN, `i${i}`, true, 1]));
    expect(coveredAt(w, times.length - 1, window, tail === null ? null : tail * MIN)).toBe(covered);
  });
});
