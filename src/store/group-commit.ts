/**
 * Group commit: many concurrent writers share one transaction, so the cost of a durable commit (an fsync)
 * is paid once per batch instead of once per request. Engine-neutral; an engine supplies `commit`.
 */

/** BatchLimits caps one batch, so one commit (its message, its memory, its lock hold) stays bounded. */
export interface BatchLimits {
  /** Most submissions in one batch. */
  maxEntries: number;
  /** Most rows in one batch (a submission always fits alone, however large). */
  maxRows: number;
  /** Most payload bytes in one batch (a submission always fits alone, however large). */
  maxBytes: number;
}

/**
 * Failed is the result `commit` gives for a submission whose part of the batch was rolled back while the
 * rest committed (an engine that isolates parts of a batch, see sqlite/write-steps.js).
 */
export class Failed {
  constructor(readonly error: unknown) {}
}

/** GroupCommitOptions are the engine's side of a GroupCommit. */
export interface GroupCommitOptions<I, R> {
  /**
   * commit writes every input in ONE transaction and returns one result per input, in order (`Failed`
   * for an input that was rolled back alone). When it throws (or its promise rejects), nothing of the batch
   * may remain written.
   */
  commit(batch: readonly I[]): readonly (R | Failed)[] | Promise<readonly (R | Failed)[]>;
  /**
   * offLoop says that `commit` does its work off the event loop (a worker thread, a network round trip)
   * and returns a promise at once. The next batch is then sent the moment one settles, so a batch holds
   * whatever arrived during the previous commit: the batch size follows the commit latency. When false
   * (the default, for a commit that blocks the loop), the loop is yielded to between batches so that
   * requests are served during a backlog.
   */
  offLoop?: boolean;
  /**
   * riderWaitMs: how long a batch made only of riders (see `submit`) waits for another submission to ride
   * with before it is committed alone, for a rider that does not set its own. 0 (the default) never waits.
   */
  riderWaitMs?: number;
  /**
   * wrapError turns what `commit` threw (or a `Failed` error) into the error the submissions it concerns
   * are rejected with; `count` is how many they are.
   */
  wrapError(error: unknown, count: number): Error;
  /**
   * afterCommit runs after the batch's promises are settled, with its results (`Failed` included) when the
   * batch committed; what it throws is reported to `onHookError`.
   */
  afterCommit?(results: readonly (R | Failed)[]): void;
  onHookError?(error: unknown): void;
  limits: BatchLimits;
}

interface Pending<I, R> {
  input: I;
  rows: number;
  bytes: number;
  rider: boolean;
  /** For a rider: when (performance.now()) its wait for company is over. */
  flushBy: number;
  resolve(result: R): void;
  reject(error: Error): void;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return (
    typeof value === 'object' && value !== null && typeof (value as Partial<Promise<T>>).then === 'function'
  );
}

interface Turn {
  /** Runs the turn's work; returns a promise when that work goes on off the loop. */
  run(): Promise<void> | undefined;
}

/**
 * GroupCommit queues submissions and commits them in batches, one batch at a time, in submission order
 * (so commit order is submission order). When no batch is in flight, the first submission schedules a
 * flush with `setImmediate`, so every submission made in the same turn of the loop joins it; submissions
 * made while a batch is in flight join the next one. It never resolves a submission before the transaction
 * holding it has committed, and never runs two commits at once.
 */
export class GroupCommit<I, R> {
  private queue: Pending<I, R>[] = [];
  private immediate: NodeJS.Immediate | undefined;
  /** A batch or an off-loop turn is in flight. */
  private busy = false;
  /** Submissions in the batch in flight. */
  private inFlight = 0;
  private readonly turns: Turn[] = [];
  private settledWaiters: (() => void)[] = [];
  private riderTimer: NodeJS.Timeout | undefined;
  /** When the rider timer fires (performance.now()). */
  private riderTimerAt = Number.POSITIVE_INFINITY;
  private draining = false;

  constructor(private readonly options: GroupCommitOptions<I, R>) {}

  /**
   * submit queues `input` and resolves with its own result once its batch has committed. A `rider` (a
   * write nobody waits on for a reply, such as an evaluator step) prefers to share a transaction: a batch of
   * riders alone is committed by itself once the shortest of their waits is over (each rider's `waitMs`,
   * default `riderWaitMs`, counted from its submission), unless another submission comes first.
   */
  submit(input: I, cost: { rows: number; bytes: number; rider?: boolean; waitMs?: number }): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const rider = cost.rider ?? false;
      const flushBy = rider ? performance.now() + (cost.waitMs ?? this.options.riderWaitMs ?? 0) : 0;
      this.queue.push({ input, rows: cost.rows, bytes: cost.bytes, rider, flushBy, resolve, reject });
      if (!this.busy) this.schedule();
    });
  }

  /** pending is the number of submissions not yet committed (or failed): queued plus in flight. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /**
   * exclusive gives `run` a turn of its own: it runs when no batch (and no other turn) is in flight, before
   * the next batch is sent, and its promise settles as `run` does. While a promise `run` returned is pending
   * (work done off the loop), nothing else is sent. An engine uses it for its other writes, so that every
   * write of the process goes one at a time: none waits on another connection's lock (a busy wait would
   * block the event loop), and turns are taken in the order asked.
   */
  exclusive<T>(run: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const turn: Turn = {
        run: () => {
          let result: T | Promise<T>;
          try {
            result = run();
          } catch (error) {
            reject(error);
            return undefined;
          }
          if (!isPromise(result)) {
            resolve(result);
            return undefined;
          }
          return result.then(resolve, reject);
        },
      };
      if (!this.busy && this.turns.length === 0) {
        const offLoop = turn.run();
        if (offLoop) this.hold(offLoop);
      } else {
        this.turns.push(turn);
      }
    });
  }

  /** drain commits everything queued now and resolves when nothing is queued or in flight. */
  async drain(): Promise<void> {
    // Riders go at once: nothing else is coming.
    this.draining = true;
    try {
      while (this.queue.length > 0 || this.busy || this.turns.length > 0) {
        if (!this.busy) this.flush();
        if (this.busy) await new Promise<void>((resolve) => this.settledWaiters.push(resolve));
      }
    } finally {
      this.draining = false;
    }
  }

  private schedule(): void {
    // One scheduled flush is enough for the turn of the loop.
    if (this.immediate) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.flush();
    });
  }

  /** flush runs waiting exclusive turns, then sends the next batch, unless one is in flight. */
  private flush(): void {
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    if (this.busy) return;
    while (this.turns.length > 0) {
      const offLoop = this.turns.shift()?.run();
      if (offLoop) {
        this.hold(offLoop);
        return;
      }
    }
    if (this.queue.length === 0) return;
    if (this.waitForCompany()) return;
    if (this.riderTimer) {
      clearTimeout(this.riderTimer);
      this.riderTimer = undefined;
      this.riderTimerAt = Number.POSITIVE_INFINITY;
    }
    const batch = this.take();
    this.busy = true;
    this.inFlight = batch.length;
    let outcome: readonly (R | Failed)[] | Promise<readonly (R | Failed)[]>;
    try {
      outcome = this.options.commit(batch.map((entry) => entry.input));
    } catch (error) {
      this.settle(batch, undefined, error);
      return;
    }
    if (isPromise(outcome)) {
      outcome.then(
        (results) => this.settle(batch, results, undefined),
        (error: unknown) => this.settle(batch, undefined, error ?? new Error('commit failed')),
      );
    } else {
      this.settle(batch, outcome, undefined);
    }
  }

  /**
   * waitForCompany says whether the queue holds only riders that may still wait for a submission to share
   * their transaction with, and arms a timer that commits them when their wait is over.
   */
  private waitForCompany(): boolean {
    if (this.draining) return false;
    let flushBy = Number.POSITIVE_INFINITY;
    for (const pending of this.queue) {
      if (!pending.rider) return false;
      if (pending.flushBy < flushBy) flushBy = pending.flushBy;
    }
    const remaining = flushBy - performance.now();
    if (remaining <= 0) return false;
    // A rider with a shorter wait than those queued before it brings the timer forward.
    if (this.riderTimer && this.riderTimerAt <= flushBy) return true;
    if (this.riderTimer) clearTimeout(this.riderTimer);
    this.riderTimerAt = flushBy;
    this.riderTimer = setTimeout(() => {
      this.riderTimer = undefined;
      this.riderTimerAt = Number.POSITIVE_INFINITY;
      this.flush();
    }, remaining);
    return true;
  }

  private take(): Pending<I, R>[] {
    const { maxEntries, maxRows, maxBytes } = this.options.limits;
    let rows = 0;
    let bytes = 0;
    let count = 0;
    for (const next of this.queue) {
      if (count >= maxEntries) break;
      if (count > 0 && (rows + next.rows > maxRows || bytes + next.bytes > maxBytes)) break;
      rows += next.rows;
      bytes += next.bytes;
      count += 1;
    }
    if (count === this.queue.length) {
      const all = this.queue;
      this.queue = [];
      return all;
    }
    return this.queue.splice(0, count);
  }

  /** hold counts an off-loop turn as in flight until it settles, then goes on with what waits. */
  private hold(work: Promise<void>): void {
    this.busy = true;
    void work.finally(() => {
      this.busy = false;
      this.next();
    });
  }

  private settle(batch: Pending<I, R>[], results: readonly (R | Failed)[] | undefined, error: unknown): void {
    this.busy = false;
    this.inFlight = 0;
    let failure = error;
    if (failure === undefined && results?.length !== batch.length) {
      failure = new Error(`commit returned ${results?.length} results for ${batch.length} inputs`);
    }
    if (failure !== undefined || results === undefined) {
      const wrapped = this.options.wrapError(failure, batch.length);
      for (const entry of batch) entry.reject(wrapped);
    } else {
      let wrapped: Map<unknown, Error> | undefined;
      for (let index = 0; index < batch.length; index++) {
        const result = results[index]!;
        if (!(result instanceof Failed)) {
          batch[index]!.resolve(result);
          continue;
        }
        // One wrapped error per distinct failure, counting the submissions it concerns.
        wrapped ??= new Map();
        let error = wrapped.get(result.error);
        if (!error) {
          const count = results.filter(
            (other) => other instanceof Failed && other.error === result.error,
          ).length;
          error = this.options.wrapError(result.error, count);
          wrapped.set(result.error, error);
        }
        batch[index]!.reject(error);
      }
      if (this.options.afterCommit) {
        try {
          this.options.afterCommit(results);
        } catch (hookError) {
          // A faulty hook (an onAppend listener) must never turn a committed write into a failure.
          this.options.onHookError?.(hookError);
        }
      }
    }
    this.next();
  }

  /** next sends what waits once nothing is in flight, and wakes `drain`. */
  private next(): void {
    if (this.queue.length > 0 || this.turns.length > 0) {
      // Off the loop: send what accumulated during this commit right away (true group commit). On the
      // loop: let the requests that arrived meanwhile run first.
      if (this.options.offLoop) this.flush();
      else this.schedule();
    }
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const wake of waiters) wake();
  }
}
