/**
 * Group commit: many concurrent writers share one transaction, so the cost of a durable commit (an fsync)
 * is paid once per batch instead of once per request. Engine-neutral; an engine supplies `commit`.
 */

/** BatchLimits caps one batch so a single commit cannot stall the event loop (or a connection) for long. */
export interface BatchLimits {
  /** Most submissions in one batch. */
  maxEntries: number;
  /** Most rows in one batch (a submission always fits alone, however large). */
  maxRows: number;
  /** Most payload bytes in one batch (a submission always fits alone, however large). */
  maxBytes: number;
}

/** GroupCommitOptions are the engine's side of a GroupCommit. */
export interface GroupCommitOptions<I, R> {
  /**
   * commit writes every input in ONE transaction and returns one result per input, in order. When it
   * throws, nothing of the batch may remain written.
   */
  commit(batch: readonly I[]): readonly R[] | Promise<readonly R[]>;
  /** wrapError turns what `commit` threw into the error every submission of that batch is rejected with. */
  wrapError(error: unknown, batchSize: number): Error;
  /** afterCommit runs after the batch's promises are resolved; what it throws is reported to `onHookError`. */
  afterCommit?(results: readonly R[]): void;
  onHookError?(error: unknown): void;
  limits: BatchLimits;
}

interface Pending<I, R> {
  input: I;
  rows: number;
  bytes: number;
  resolve(result: R): void;
  reject(error: Error): void;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * GroupCommit queues submissions and commits them in batches: the first submission in a tick schedules a
 * flush with `setImmediate`, so every submission made in the same tick (and while a commit runs) joins the
 * next batch. It never resolves a submission before the transaction holding it has committed, and never
 * runs two commits at once.
 */
export class GroupCommit<I, R> {
  private readonly queue: Pending<I, R>[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: GroupCommitOptions<I, R>) {}

  /** submit queues `input` and resolves with its own result once its batch has committed. */
  submit(input: I, cost: { rows: number; bytes: number }): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ input, rows: cost.rows, bytes: cost.bytes, resolve, reject });
      this.schedule();
    });
  }

  /** pending is the number of submissions not yet committed (or failed). */
  get pending(): number {
    return this.queue.length;
  }

  /** drain commits everything queued now and resolves when the queue is empty; it never waits a tick first. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.running) {
      if (this.immediate) {
        clearImmediate(this.immediate);
        this.immediate = undefined;
      }
      await this.start();
    }
  }

  private schedule(): void {
    // A running flush picks up new submissions itself; one scheduled flush is enough for the tick.
    if (this.immediate || this.running) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      void this.start();
    });
  }

  private start(): Promise<void> {
    if (!this.running) {
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.queue.length > 0) this.schedule();
      });
    }
    return this.running;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      await this.commitBatch(this.take());
      // Yield between capped batches so requests (and their sockets) are served during a backlog.
      if (this.queue.length > 0) await yieldToLoop();
    }
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
    return this.queue.splice(0, count);
  }

  private async commitBatch(batch: Pending<I, R>[]): Promise<void> {
    let results: readonly R[];
    try {
      results = await this.options.commit(batch.map((entry) => entry.input));
      if (results.length !== batch.length) {
        throw new Error(`commit returned ${results.length} results for ${batch.length} inputs`);
      }
    } catch (error) {
      const wrapped = this.options.wrapError(error, batch.length);
      for (const entry of batch) entry.reject(wrapped);
      return;
    }
    batch.forEach((entry, index) => {
      entry.resolve(results[index]!);
    });
    if (!this.options.afterCommit) return;
    try {
      this.options.afterCommit(results);
    } catch (error) {
      // A faulty hook (an onAppend listener) must never turn a committed write into a failure.
      this.options.onHookError?.(error);
    }
  }
}
