import { HookrelayError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { StoreErrorCode, storeError } from '../errors.js';
import { type BatchLimits, Failed, GroupCommit } from '../group-commit.js';
import type { AppendResult } from '../ports.js';
import type { PreparedClaim, PreparedCommit } from '../validate.js';
import type { WriteHealth } from '../write-health.js';
import type {
  EvaluatorStepOutcome,
  FileLoss,
  OutboxWrite,
  OutboxWriteOutcome,
  PreparedAppend,
  TransitionWrite,
  WriteFailure,
} from './write-types.js';
import type { Writer } from './writer.js';

/*
 * Batching: every write of the store's write path (appends, evaluator steps, outbox claims and
 * transitions) joins a GroupCommit queue and is committed by the Writer in the next batch, one batch at a
 * time, so the log's seq order is the commit order and one fsync carries many writes.
 */

/**
 * A batch is capped so one transaction stays in the low tens of milliseconds and its message (or, for
 * `:memory:`, its synchronous run on the event loop) stays small; requests arriving meanwhile join the next.
 */
const BATCH_LIMITS: BatchLimits = { maxEntries: 1_000, maxRows: 10_000, maxBytes: 32 * 1024 * 1024 };

/**
 * How long an evaluator step waits for appends to share a transaction with (see GroupCommit.riderWaitMs).
 * The evaluator commits after every batch it reads: measured at 2,000 req/s, 40% of the writer's
 * transactions were such steps alone, each with an fsync of its own. A few ms of evaluator latency is
 * nothing to a rule (and, at low load, is all the wait an alert has before its claim).
 */
const STEP_RIDE_WAIT_MS = 5;

/**
 * How long an outbox transition waits for company. The deliverer does not wait for a transition before
 * its next send (only a claim, which is no rider, waits, and takes the transitions before it along), so
 * this is only how late the row is durably settled. Measured, deliveries/s to a local sink: committed at
 * once, ~2 transitions per transaction, 2,800–3,100/s; waiting 5 ms, ~25 per transaction, 3,800–4,200/s;
 * 15 ms, a further 5–10% (each commit wakes the writer thread, which costs the event loop its core for a
 * while on a busy 2-core machine).
 */
const TRANSITION_RIDE_WAIT_MS = 15;
/** Bytes one transition may carry (its detail is an excerpt of a few hundred characters at most). */
const TRANSITION_BYTES_ESTIMATE = 512;

/**
 * Most transitions in one group. A group costs the store one submission, one message entry and one result
 * however many it holds (measured: per delivery, about 20 µs of main-thread time as one submission each).
 */
export const MAX_TRANSITION_GROUP = 1_024;

/**
 * OutboxSubmission is what the outbox submits: a claim, or a group of transitions that stays open to more
 * until the batch that carries it is sent, when `take()` closes it and returns them.
 */
export type OutboxSubmission =
  | { kind: 'claim'; claim: PreparedClaim }
  | { kind: 'transitions'; take(): TransitionWrite[] };

/** BatchCounters are what the batcher counts since open (part of SqliteStoreStats). */
export interface BatchCounters {
  /** Append transactions committed. */
  transactions: number;
  /** Append transactions rolled back (their appends were rejected). */
  failedTransactions: number;
  /** Appends resolved by a committed transaction. */
  appendsCommitted: number;
  /** Items newly stored. */
  itemsStored: number;
  /** Claims and transitions committed. */
  outboxWrites: number;
  /** Transactions that committed at least one claim or transition. */
  outboxTransactions: number;
}

/** WriteBatcher queues the store's writes for the Writer and answers each with its own outcome. */
export interface WriteBatcher {
  /** append commits a prepared append with the next batch. */
  append(append: PreparedAppend): Promise<AppendResult>;
  /** step commits an evaluator step with the next batch; a rider (it waits a little for company). */
  step(step: PreparedCommit): Promise<EvaluatorStepOutcome>;
  /**
   * outbox commits a claim or a group of transitions with the next batch, after the writes submitted
   * before it. A transition that failed alone comes back as a WriteFailure in its place.
   */
  outbox(submission: OutboxSubmission): Promise<OutboxWriteOutcome>;
  /**
   * exclusive runs `run` while no batch is in flight (before the next is sent) and settles as it does: a
   * write on another connection never waits on the writer's lock with the event loop blocked, nor the
   * writer on it.
   */
  exclusive<T>(run: () => T | Promise<T>): Promise<T>;
  /** drain commits everything queued and resolves once nothing is queued or in flight. */
  drain(): Promise<void>;
  readonly counters: Readonly<BatchCounters>;
}

/** WriteBatcherOptions configure `createWriteBatcher`. */
export interface WriteBatcherOptions {
  writer: Writer;
  logger: Logger;
  /** Told every outcome: it logs the failures (once per interval when they repeat) and judges readiness. */
  health: WriteHealth;
  /** Called after a commit that stored at least one item (the onAppend listeners). */
  onAppended(): void;
  /**
   * checkFile, for a database file, says whether its path still names the file the store opened; it runs
   * after every write on the main connection (`exclusive`), as the writer runs it after every batch.
   */
  checkFile?: () => FileLoss | undefined;
  /** fileLostError builds the HR_ERR_STORE_FILE_LOST error for a loss (it names the file). */
  fileLostError(loss: FileLoss): HookrelayError;
}

/** WriteEntry is one write the batcher commits. */
type WriteEntry =
  | { kind: 'append'; append: PreparedAppend }
  | { kind: 'step'; step: PreparedCommit }
  | { kind: 'outbox'; write: OutboxSubmission };
type WriteResult = AppendResult | EvaluatorStepOutcome | OutboxWriteOutcome;

/**
 * createWriteBatcher wires a GroupCommit to a Writer. With the writer thread, batches are sent the moment
 * the previous one settles and riders wait for company; inline (`:memory:`) no write waits, since there is
 * no fsync to share, and the loop is yielded to between batches.
 */
export function createWriteBatcher(options: WriteBatcherOptions): WriteBatcher {
  const { writer, logger, health } = options;
  const counters: BatchCounters = {
    transactions: 0,
    failedTransactions: 0,
    appendsCommitted: 0,
    itemsStored: 0,
    outboxWrites: 0,
    outboxTransactions: 0,
  };
  const stepWaitMs = writer.offLoop ? STEP_RIDE_WAIT_MS : 0;
  const transitionWaitMs = writer.offLoop ? TRANSITION_RIDE_WAIT_MS : 0;

  const commit = async (batch: readonly WriteEntry[]): Promise<Array<WriteResult | Failed>> => {
    const appends: PreparedAppend[] = [];
    const steps: PreparedCommit[] = [];
    const writes: OutboxWrite[] = [];
    for (const entry of batch) {
      if (entry.kind === 'append') appends.push(entry.append);
      else if (entry.kind === 'step') steps.push(entry.step);
      // A group of transitions is closed here: later ones ride in the next batch.
      else if (entry.write.kind === 'transitions') {
        writes.push({ kind: 'transitions', transitions: entry.write.take() });
      } else writes.push(entry.write);
    }
    let result: Awaited<ReturnType<Writer['commit']>>;
    try {
      result = await writer.commit({ appends, steps, writes });
    } catch (error) {
      if (appends.length > 0) counters.failedTransactions += 1;
      health.failed(error, batch.length, { appends: appends.length > 0 });
      throw error;
    }
    if (result.lost) {
      // Committed, but to a file that is gone: nothing of it may be acknowledged, now or later.
      const lost = options.fileLostError(result.lost);
      health.fileLost(lost);
      if (appends.length > 0) counters.failedTransactions += 1;
      return batch.map(() => new Failed(lost));
    }
    // One Error per distinct failure, so the submissions one failure concerns share one rejection (and
    // one report to `health`, with their count).
    const errors = new Map<WriteFailure, { error: Error; count: number; appends: boolean }>();
    const failed = (failure: WriteFailure, append = false) => {
      let entry = errors.get(failure);
      if (!entry) {
        entry = { error: failureError(failure), count: 0, appends: false };
        errors.set(failure, entry);
      }
      entry.count += 1;
      entry.appends ||= append;
      return new Failed(entry.error);
    };

    const appendResults: Array<AppendResult | Failed> = [];
    let committedAppends = 0;
    for (let index = 0; index < appends.length; index++) {
      const append = appends[index] as PreparedAppend;
      const stored = result.stored[index];
      if (typeof stored === 'number') {
        committedAppends += 1;
        counters.itemsStored += stored;
        appendResults.push({
          requestId: append.requestId,
          stored,
          duplicates: append.events.length - stored,
        });
      } else {
        const failure = stored ?? { failed: true, message: 'the writer reported no outcome for this append' };
        if (refusedRows(failure)) {
          const refused = refusedAppend(failure);
          health.refused(refused);
          appendResults.push(new Failed(refused));
        } else appendResults.push(failed(failure, true));
      }
    }
    if (committedAppends > 0) {
      counters.transactions += 1;
      counters.appendsCommitted += committedAppends;
      health.committed();
    } else if (appends.length > 0) counters.failedTransactions += 1;

    let outboxCommitted = 0;
    for (const outcome of result.outbox) {
      if ('failed' in outcome) continue;
      outboxCommitted += 'changed' in outcome ? outcome.changed.length : 1;
    }
    if (outboxCommitted > 0) {
      counters.outboxWrites += outboxCommitted;
      counters.outboxTransactions += 1;
    }

    let nextAppend = 0;
    let nextStep = 0;
    let nextWrite = 0;
    const missing = (what: string) =>
      failed({ failed: true, message: `the writer reported no outcome for this ${what}` });
    const results = batch.map((entry) => {
      if (entry.kind === 'append') return appendResults[nextAppend++] as AppendResult | Failed;
      const outcome = entry.kind === 'step' ? result.steps[nextStep++] : result.outbox[nextWrite++];
      if (outcome === undefined) return missing(entry.kind === 'step' ? 'step' : 'outbox write');
      return 'failed' in outcome ? failed(outcome) : outcome;
    });
    for (const { error, count, appends: concernsAppends } of errors.values()) {
      health.failed(error, count, { appends: concernsAppends });
    }
    return results;
  };

  const group = new GroupCommit<WriteEntry, WriteResult>({
    limits: BATCH_LIMITS,
    offLoop: writer.offLoop,
    riderWaitMs: stepWaitMs,
    commit,
    // Logged by `health` where the failure is seen (once per interval when it repeats), not here.
    wrapError: (error, count) => {
      // A member refused alone already carries its own error (HR_ERR_STORE_INPUT_INVALID).
      if (error instanceof HookrelayError) return error;
      return storeError(
        StoreErrorCode.writeFailed,
        `${count} write(s) failed and were rolled back: ${(error as Error | undefined)?.message}`,
        error,
      );
    },
    afterCommit: (results) => {
      if (results.some((result) => 'stored' in result && result.stored > 0)) options.onAppended();
    },
    onHookError: (error) => logger.error({ err: error }, 'after-commit hook failed'),
  });

  /** assertFileKept throws once the file is lost: nothing is written, nothing acknowledged. */
  const assertFileKept = (): void => {
    const lost = health.lostError;
    if (lost) throw lost;
  };

  return {
    counters,
    async append(append) {
      assertFileKept();
      const result = await group.submit(
        { kind: 'append', append },
        { rows: append.events.length + 1, bytes: append.bytes },
      );
      return result as AppendResult;
    },
    async step(step) {
      assertFileKept();
      return (await group.submit(
        { kind: 'step', step },
        { ...stepCost(step), rider: true },
      )) as EvaluatorStepOutcome;
    },
    async outbox(write) {
      assertFileKept();
      return (await group.submit(
        { kind: 'outbox', write },
        write.kind === 'transitions'
          ? { ...outboxCost(write), rider: true, waitMs: transitionWaitMs }
          : outboxCost(write),
      )) as OutboxWriteOutcome;
    },
    async exclusive(run) {
      assertFileKept();
      const result = await group.exclusive(run);
      const loss = options.checkFile?.();
      if (loss) {
        const lost = options.fileLostError(loss);
        health.fileLost(lost);
        throw lost;
      }
      return result;
    },
    drain: () => group.drain(),
  };
}

/**
 * The SQLite result codes that refuse a row for what it holds, not for the state of the database: a
 * constraint (a STRICT column's type, NOT NULL, CHECK, a trigger's RAISE), a value of the wrong kind, one
 * too big, a bad parameter. An append failing with one of these is the input's fault and fails alone;
 * anything else (a full disk, an I/O error, a read-only file) is the store's.
 */
const REFUSED_ROW_CODES = ['SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG', 'SQLITE_RANGE'];

function refusedRows(failure: WriteFailure): boolean {
  const { code } = failure;
  return (
    code !== undefined &&
    REFUSED_ROW_CODES.some((refused) => code === refused || code.startsWith(`${refused}_`))
  );
}

function refusedAppend(failure: WriteFailure): HookrelayError {
  return storeError(
    StoreErrorCode.inputInvalid,
    `cannot append: the database refused this request's rows (${failure.message}); the other writes it was batched with were committed`,
    failureError(failure),
  );
}

/** failureError turns a WriteFailure back into an Error that carries SQLite's code. */
export function failureError(failure: WriteFailure): Error {
  const error = new Error(failure.message) as Error & { code?: string };
  if (failure.code !== undefined) error.code = failure.code;
  return error;
}

function stepCost(step: PreparedCommit): { rows: number; bytes: number } {
  let bytes = 0;
  for (const entry of step.upserts) bytes += entry.json.length;
  for (const notification of step.notifications) bytes += notification.alertJson.length;
  return { rows: 1 + step.upserts.length + step.deletes.length + step.notifications.length, bytes };
}

function outboxCost(write: OutboxSubmission): { rows: number; bytes: number } {
  if (write.kind === 'claim') {
    return { rows: Math.max(1, write.claim.limit * write.claim.destinations.length), bytes: 0 };
  }
  // A group grows until its batch is sent: count it at its largest (an attempt row and an update each).
  return { rows: 2 * MAX_TRANSITION_GROUP, bytes: MAX_TRANSITION_GROUP * TRANSITION_BYTES_ESTIMATE };
}
