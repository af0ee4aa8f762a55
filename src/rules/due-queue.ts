/*
 * A min-heap of (due time, key) for one absence rule's keys, so a tick looks only at the keys that may be
 * due instead of every key the rule watches. Entries are lower bounds: seeing a key again moves its real
 * due time later but leaves its entry as it was, and the tick that pops an early entry re-checks the key
 * and pushes its real due time. A key may have several entries; the tick dedupes what it pops.
 * Parallel arrays of numbers and strings keep it to two allocations however many keys it holds.
 */

/** DueQueue holds (due, key) entries, earliest due first. */
export class DueQueue {
  private readonly due: number[] = [];
  private readonly keys: string[] = [];

  get size(): number {
    return this.due.length;
  }

  /** nextDue is the earliest due time held, or +Infinity when empty. */
  nextDue(): number {
    return this.due.length === 0 ? Number.POSITIVE_INFINITY : (this.due[0] as number);
  }

  push(due: number, key: string): void {
    const { due: dues, keys } = this;
    let i = dues.length;
    dues.push(due);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((dues[parent] as number) <= due) break;
      dues[i] = dues[parent] as number;
      keys[i] = keys[parent] as string;
      i = parent;
    }
    dues[i] = due;
    keys[i] = key;
  }

  /** popKey removes the earliest entry and returns its key (the caller checks nextDue first). */
  popKey(): string | undefined {
    const { due: dues, keys } = this;
    const n = dues.length;
    if (n === 0) return undefined;
    const top = keys[0] as string;
    const lastDue = dues.pop() as number;
    const lastKey = keys.pop() as string;
    const size = n - 1;
    if (size === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && (dues[right] as number) < (dues[left] as number) ? right : left;
      if ((dues[child] as number) >= lastDue) break;
      dues[i] = dues[child] as number;
      keys[i] = keys[child] as string;
      i = child;
    }
    dues[i] = lastDue;
    keys[i] = lastKey;
    return top;
  }
}
