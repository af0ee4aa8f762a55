/*
 * The sliding window of one threshold key: the items of the key (for the rule's `on`), kept sorted by
 * their own time. Parallel arrays of plain numbers and strings keep the state small and JSON-serialisable.
 *
 * The window at an item p is (p.at − window, p.at]: an item exactly one window older than p is out. Items
 * with the same time are ordered by id, and the window at p holds the ties that sort before p, so the
 * result depends only on the set of items, never on the order they arrived in.
 */

/** MATCHED flags an entry whose item matched the rule's `if` (only those are aggregated). */
export const MATCHED = 1;
/** SIMULATED flags an entry whose item came from a simulation. */
export const SIMULATED = 2;

/** WindowEntries holds a key's items, sorted by (at, id). */
export interface WindowEntries {
  /** Item times, epoch ms, ascending. */
  at: number[];
  /** Item ids (ties on `at` are ordered by id). */
  id: string[];
  /** MATCHED | SIMULATED bits. */
  f: number[];
  /** The aggregated field's numeric value, or null when the item has none (or the rule counts). */
  v: Array<number | null>;
}

/** Aggregate names a threshold's aggregation. */
export type Aggregate = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'ratio';

/** WindowValue is what a window holds at one point. */
export interface WindowValue {
  /** The aggregate, or undefined when there is nothing to aggregate (avg of no items, ratio over 0). */
  value: number | undefined;
  /** Matching items in the window. */
  matched: number;
  /** All items of the key in the window (matching or not). */
  total: number;
}

const compareKey = (at: number, id: string, otherAt: number, otherId: string): number =>
  at !== otherAt ? at - otherAt : id < otherId ? -1 : id > otherId ? 1 : 0;

/**
 * insertEntry puts an item in (at, id) order and returns its index, or -1 when the same item (same time
 * and id) is already there, so evaluating an item twice never counts it twice.
 */
export function insertEntry(
  w: WindowEntries,
  at: number,
  id: string,
  flags: number,
  value: number | null,
): number {
  const n = w.at.length;
  // Items mostly arrive in order: check the end first.
  let index: number;
  const last = n - 1;
  if (n === 0 || compareKey(at, id, w.at[last] as number, w.id[last] as string) > 0) {
    index = n;
  } else {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKey(w.at[mid] as number, w.id[mid] as string, at, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && w.at[lo] === at && w.id[lo] === id) return -1;
    index = lo;
  }
  if (index === n) {
    w.at.push(at);
    w.id.push(id);
    w.f.push(flags);
    w.v.push(value);
  } else {
    w.at.splice(index, 0, at);
    w.id.splice(index, 0, id);
    w.f.splice(index, 0, flags);
    w.v.splice(index, 0, value);
  }
  return index;
}

/** firstAfter returns the first index in [0, hi] whose time is greater than `bound`. */
export function firstAfter(w: WindowEntries, bound: number, hi: number): number {
  let lo = 0;
  let top = hi;
  while (lo < top) {
    const mid = (lo + top) >>> 1;
    if ((w.at[mid] as number) <= bound) lo = mid + 1;
    else top = mid;
  }
  return lo;
}

/** aggregateAt computes the aggregate over the window ending at entry i: times in (at[i] − windowMs, at[i]]. */
export function aggregateAt(
  w: WindowEntries,
  i: number,
  windowMs: number,
  aggregate: Aggregate,
): WindowValue {
  return aggregateInto(w, i, windowMs, aggregate, { value: undefined, matched: 0, total: 0 });
}

/**
 * aggregateInto is aggregateAt writing into `out`: a threshold judges a point or two per item and rule,
 * and a fresh result object for each was a measurable share of the garbage the engine makes.
 */
export function aggregateInto<T extends WindowValue>(
  w: WindowEntries,
  i: number,
  windowMs: number,
  aggregate: Aggregate,
  out: T,
): T {
  const lo = firstAfter(w, (w.at[i] as number) - windowMs, i);
  let matched = 0;
  let numeric = 0;
  let sum = 0;
  let all = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let j = lo; j <= i; j++) {
    const value = w.v[j] as number | null;
    if (((w.f[j] as number) & MATCHED) === 0) {
      if (value !== null) all += value;
      continue;
    }
    matched++;
    if (value === null) continue;
    all += value;
    numeric++;
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  let value: number | undefined;
  switch (aggregate) {
    case 'count':
      value = matched;
      break;
    case 'sum':
      value = sum;
      break;
    case 'avg':
      value = numeric === 0 ? undefined : sum / numeric;
      break;
    case 'min':
      value = numeric === 0 ? undefined : min;
      break;
    case 'max':
      value = numeric === 0 ? undefined : max;
      break;
    case 'ratio':
      value = all === 0 ? undefined : sum / all;
      break;
  }
  out.value = value;
  out.matched = matched;
  out.total = i - lo + 1;
  return out;
}

/**
 * coveredAt says whether the key has been active for a full window at entry i: a chain of items, each
 * less than a window after the one before, reaches back to at[i] − windowMs or earlier. A gap of a
 * whole window (a night, a lunch break) starts a new stretch, so the first item after it is not
 * judged against an empty window. `tail` is the newest item already evicted (it may continue the chain).
 */
export function coveredAt(w: WindowEntries, i: number, windowMs: number, tail: number | null): boolean {
  const target = (w.at[i] as number) - windowMs;
  let previous = w.at[i] as number;
  for (let j = i; j >= 0; j--) {
    const at = w.at[j] as number;
    if (previous - at >= windowMs) return false;
    if (at <= target) return true;
    previous = at;
  }
  return tail !== null && previous - tail < windowMs && tail <= target;
}

/** evictFirst removes the first `count` entries (the caller knows they can no longer matter). */
export function evictFirst(w: WindowEntries, count: number): void {
  if (count <= 0) return;
  w.at.splice(0, count);
  w.id.splice(0, count);
  w.f.splice(0, count);
  w.v.splice(0, count);
}
