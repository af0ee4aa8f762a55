import { describe, expect, it } from 'vitest';
import { compileRules } from './compile.js';
import { DueQueue } from './due-queue.js';
import { createState, evaluateItem, type Firing, tick } from './engine.js';
import { benchItems, benchPeople, makeBenchRules } from './testdata/bench-rules.js';

describe('DueQueue', () => {
  it('pops keys in due order', () => {
    const queue = new DueQueue();
    const dues = [50, 10, 40, 10, 30, 70, 20, 60];
    for (const [i, due] of dues.entries()) queue.push(due, `k${i}`);
    const popped: number[] = [];
    while (queue.size > 0) {
      popped.push(queue.nextDue());
      queue.popKey();
    }
    expect(popped).toEqual([...dues].sort((a, b) => a - b));
    expect(queue.nextDue()).toBe(Number.POSITIVE_INFINITY);
    expect(queue.popKey()).toBeUndefined();
  });
});

describe('absence ticks through the due queue', () => {
  // An explaining tick always judges every key, so it is the reference the queue must agree with.
  it('alert exactly as judging every key on every tick would, silences included', () => {
    const people = benchPeople(300);
    const input = makeBenchRules(10, people);
    const rules = compileRules({
      ...input,
      rules: input.rules.filter((rule) => rule.name === 'went-quiet'),
      // A silence that ends while keys it muted are still due: they must be looked at again and alert.
      silences: [
        {
          rules: ['went-quiet'],
          starts: '2026-03-02T08:00:00Z',
          ends: '2026-03-02T10:45:00Z',
          matchers: { user: { regex: '[137]$' } },
        },
      ],
    });
    expect(rules.ok).toBe(true);
    const run = (explain: boolean): Firing[] => {
      const state = createState();
      const firings: Firing[] = [];
      let nextTick = 0;
      for (const item of benchItems(60_000, 60)) {
        // Each person goes quiet for one hour in five, at different hours, so spells start mid-stretch.
        const person = Number(item.user?.slice('user-'.length));
        if (Math.floor(item.at / 3_600_000 + person) % 5 === 0) continue;
        firings.push(...evaluateItem(rules, state, item, { explain }).firings);
        if (item.receivedAt >= nextTick) {
          firings.push(...tick(rules, state, item.receivedAt, { explain }).firings);
          nextTick = item.receivedAt + 60_000;
        }
      }
      return firings;
    };
    const queued = run(false);
    expect(queued.length).toBeGreaterThan(100);
    expect(queued.map((firing) => firing.alert)).toEqual(run(true).map((firing) => firing.alert));
  });
});
