import { describe, expect, it } from 'vitest';
import { Failed, GroupCommit, type GroupCommitOptions } from './group-commit.js';

const LIMITS = { maxEntries: 100, maxRows: 1_000, maxBytes: 1_000_000 };
const COST = { rows: 1, bytes: 1 };

/** A commit that runs off the loop and settles when the test says so, recording every batch it gets. */
function manualCommit() {
  const batches: number[][] = [];
  const waiting: Array<{ batch: number[]; resolve(results: Array<string | Failed>): void }> = [];
  const commit = (batch: readonly number[]) =>
    new Promise<Array<string | Failed>>((resolve) => {
      batches.push([...batch]);
      waiting.push({ batch: [...batch], resolve });
    });
  /** settleNext commits the oldest batch in flight, with `results` or `ok-<n>` for each input. */
  const settleNext = (results?: Array<string | Failed>) => {
    const next = waiting.shift()!;
    next.resolve(results ?? next.batch.map((n) => `ok-${n}`));
  };
  return { batches, commit, settleNext };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

function groupCommit(
  options: Partial<GroupCommitOptions<number, string>> & Pick<GroupCommitOptions<number, string>, 'commit'>,
) {
  return new GroupCommit<number, string>({
    limits: LIMITS,
    wrapError: (error, count) => new Error(`wrapped (${count}): ${(error as Error).message}`),
    ...options,
  });
}

describe('GroupCommit', () => {
  it('commits what was submitted in one turn of the loop as one batch', async () => {
    const batches: number[][] = [];
    const group = groupCommit({
      commit: (batch) => {
        batches.push([...batch]);
        return batch.map((n) => `ok-${n}`);
      },
    });
    const results = await Promise.all([1, 2, 3].map((n) => group.submit(n, COST)));
    expect(results).toEqual(['ok-1', 'ok-2', 'ok-3']);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('off the loop, sends everything that arrived during a commit as the next batch, at once', async () => {
    const manual = manualCommit();
    const group = groupCommit({ commit: manual.commit, offLoop: true });
    const first = group.submit(1, COST);
    await turn();
    expect(manual.batches).toEqual([[1]]);
    const later = [2, 3, 4].map((n) => group.submit(n, COST));
    await turn();
    // Still one batch in flight: the others wait for it.
    expect(manual.batches).toEqual([[1]]);
    expect(group.pending).toBe(4);
    manual.settleNext();
    expect(await first).toBe('ok-1');
    // Sent when the first settled, without waiting for another turn of the loop.
    expect(manual.batches).toEqual([[1], [2, 3, 4]]);
    manual.settleNext();
    expect(await Promise.all(later)).toEqual(['ok-2', 'ok-3', 'ok-4']);
  });

  it('rejects only the submissions a commit reports as Failed, with one wrapped error per failure', async () => {
    const manual = manualCommit();
    const group = groupCommit({ commit: manual.commit, offLoop: true });
    const submitted = [1, 2, 3].map((n) => group.submit(n, COST));
    await turn();
    const boom = new Error('boom');
    manual.settleNext(['ok-1', new Failed(boom), 'ok-3']);
    const settled = await Promise.allSettled(submitted);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'wrapped (1): boom' });
  });

  it('rejects a whole batch whose commit threw, and goes on with the next', async () => {
    let calls = 0;
    const group = groupCommit({
      commit: (batch) => {
        calls += 1;
        if (calls === 1) throw new Error('disk full');
        return batch.map((n) => `ok-${n}`);
      },
    });
    const failed = Promise.allSettled([group.submit(1, COST), group.submit(2, COST)]);
    expect((await failed).map((s) => s.status === 'rejected' && (s.reason as Error).message)).toEqual([
      'wrapped (2): disk full',
      'wrapped (2): disk full',
    ]);
    expect(await group.submit(3, COST)).toBe('ok-3');
  });

  it('runs exclusive turns between batches, in order, holding the next batch while an async turn runs', async () => {
    const manual = manualCommit();
    const group = groupCommit({ commit: manual.commit, offLoop: true });
    const order: string[] = [];
    // Nothing in flight: a turn runs at once.
    expect(await group.exclusive(() => 'now')).toBe('now');
    const first = group.submit(1, COST).then(() => order.push('batch 1'));
    await turn();
    let releaseAsync: () => void = () => undefined;
    const syncTurn = group.exclusive(() => order.push('sync turn'));
    const asyncTurn = group.exclusive(
      () =>
        new Promise<void>((resolve) => {
          order.push('async turn started');
          releaseAsync = resolve;
        }),
    );
    const second = group.submit(2, COST).then(() => order.push('batch 2'));
    await turn();
    expect(order).toEqual([]);
    manual.settleNext();
    await first;
    await syncTurn;
    expect(order).toEqual(['sync turn', 'async turn started', 'batch 1']);
    // The async turn holds batch 2 back until it settles.
    expect(manual.batches).toEqual([[1]]);
    releaseAsync();
    await asyncTurn;
    await turn();
    expect(manual.batches).toEqual([[1], [2]]);
    manual.settleNext();
    await second;
    expect(order).toEqual(['sync turn', 'async turn started', 'batch 1', 'batch 2']);
  });

  it('lets riders wait a little for a submission to share a batch with, never longer', async () => {
    const batches: number[][] = [];
    const group = groupCommit({
      riderWaitMs: 30,
      commit: (batch) => {
        batches.push([...batch]);
        return batch.map((n) => `ok-${n}`);
      },
    });
    const rider = { ...COST, rider: true };
    // A rider, then a submission within the wait: one batch.
    const shared = [
      group.submit(1, rider),
      new Promise((resolve) => setTimeout(resolve, 5)).then(() => group.submit(2, COST)),
    ];
    expect(await Promise.all(shared)).toEqual(['ok-1', 'ok-2']);
    // A rider alone: committed by itself once the wait is over.
    const started = performance.now();
    expect(await group.submit(3, rider)).toBe('ok-3');
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    // drain never waits.
    const drained = group.submit(4, rider);
    await group.drain();
    expect(await drained).toBe('ok-4');
    expect(batches).toEqual([[1, 2], [3], [4]]);
  });

  it('lets a rider set its own wait; the shortest wait in the queue decides', async () => {
    const batches: number[][] = [];
    const group = groupCommit({
      riderWaitMs: 20,
      commit: (batch) => {
        batches.push([...batch]);
        return batch.map((n) => `ok-${n}`);
      },
    });
    // A patient rider alone waits its own 150 ms, not the default 20.
    let started = performance.now();
    expect(await group.submit(1, { ...COST, rider: true, waitMs: 150 })).toBe('ok-1');
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    // A default rider after it brings the commit forward to its own 20 ms, for both.
    started = performance.now();
    const both = await Promise.all([
      group.submit(2, { ...COST, rider: true, waitMs: 1_000 }),
      new Promise((resolve) => setTimeout(resolve, 5)).then(() => group.submit(3, { ...COST, rider: true })),
    ]);
    expect(both).toEqual(['ok-2', 'ok-3']);
    expect(performance.now() - started).toBeLessThan(500);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('drain commits what is queued and waits for what is in flight', async () => {
    const manual = manualCommit();
    const group = groupCommit({ commit: manual.commit, offLoop: true });
    const a = group.submit(1, COST);
    const drained = group.drain();
    const b = group.submit(2, COST);
    expect(manual.batches).toEqual([[1]]);
    manual.settleNext();
    await a;
    manual.settleNext();
    await drained;
    expect(await b).toBe('ok-2');
    expect(group.pending).toBe(0);
  });

  it('never puts more than the limits in one batch (a submission larger than them goes alone)', async () => {
    const batches: number[][] = [];
    const group = new GroupCommit<number, string>({
      limits: { maxEntries: 3, maxRows: 10, maxBytes: 100 },
      wrapError: (error) => error as Error,
      commit: (batch) => {
        batches.push([...batch]);
        return batch.map(String);
      },
    });
    await Promise.all([
      ...[1, 2, 3, 4].map((n) => group.submit(n, { rows: 1, bytes: 1 })),
      group.submit(5, { rows: 50, bytes: 1 }),
      group.submit(6, { rows: 1, bytes: 1 }),
    ]);
    expect(batches).toEqual([[1, 2, 3], [4], [5], [6]]);
  });
});
