import { StoreErrorCode, storeError } from './errors.js';
import { epochMs } from './validate.js';

/*
 * The prune loops, for both engines: the cutoff's check, one short chunk at a time, the error that names
 * how far it got. An engine gives only the statement that deletes one chunk (and what to do between two).
 */

/** PRUNE_CHUNK_ROWS is how many rows one chunk deletes at the most (one short transaction each). */
export const PRUNE_CHUNK_ROWS = 1_000;

export interface EventLogPruneSteps {
  assertOpen(): void;
  /** deleteEvents deletes one chunk of prunable items older than the cutoff; returns how many. */
  deleteEvents(cutoffMs: number): Promise<number>;
  /** deleteRequests deletes one chunk of prunable requests older than the cutoff; returns how many. */
  deleteRequests(cutoffMs: number): Promise<number>;
  /** between runs between two chunks (SQLite lets pending appends commit). */
  between(): Promise<void>;
}

/** pruneEventLog is EventLog.pruneOlderThan: items first, then the requests no item holds any more. */
export async function pruneEventLog(cutoffMs: number, steps: EventLogPruneSteps): Promise<number> {
  if (!Number.isFinite(cutoffMs)) {
    throw storeError(
      StoreErrorCode.inputInvalid,
      `pruneOlderThan cutoffMs must be a finite number, got ${cutoffMs}`,
    );
  }
  let deleted = 0;
  const chunk = async (run: (cutoff: number) => Promise<number>): Promise<number> => {
    steps.assertOpen();
    try {
      return await run(cutoffMs);
    } catch (error) {
      throw storeError(
        StoreErrorCode.pruneFailed,
        `pruning the event log failed after ${deleted} item(s): ${(error as Error).message}`,
        error,
      );
    }
  };
  for (;;) {
    const changes = await chunk(steps.deleteEvents);
    deleted += changes;
    if (changes < PRUNE_CHUNK_ROWS) break;
    await steps.between();
  }
  while ((await chunk(steps.deleteRequests)) === PRUNE_CHUNK_ROWS) await steps.between();
  return deleted;
}

export interface DeliveredPruneSteps {
  assertOpen(): void;
  /** deleteDelivered deletes one chunk of notifications delivered before the cutoff; returns how many. */
  deleteDelivered(cutoffMs: number): Promise<number>;
  between(): Promise<void>;
}

/** pruneDelivered is Outbox.pruneDelivered. */
export async function pruneDeliveredInChunks(cutoffMs: number, steps: DeliveredPruneSteps): Promise<number> {
  const what = 'pruneDelivered';
  steps.assertOpen();
  const cutoff = epochMs(what, 'cutoffMs', cutoffMs);
  let deleted = 0;
  for (;;) {
    steps.assertOpen();
    let changes: number;
    try {
      changes = await steps.deleteDelivered(cutoff);
    } catch (error) {
      throw storeError(
        StoreErrorCode.pruneFailed,
        `pruning delivered notifications failed after ${deleted}: ${(error as Error).message}`,
        error,
      );
    }
    deleted += changes;
    if (changes < PRUNE_CHUNK_ROWS) return deleted;
    await steps.between();
  }
}
