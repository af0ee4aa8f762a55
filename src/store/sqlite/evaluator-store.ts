import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';
import type {
  EvaluatorCommitInput,
  EvaluatorCommitResult,
  EvaluatorSnapshot,
  EvaluatorStore,
} from '../ports.js';
import { prepareEvaluatorCommit } from '../validate.js';
import { readWith, type SqliteContext } from './context.js';
import { WRITE_SQL } from './write-steps.js';
import type { EvaluatorStepOutcome } from './write-types.js';

function cursorConflict(stored: number, fromCursor: number) {
  return storeError(
    StoreErrorCode.cursorConflict,
    `the evaluator cursor is at ${stored}, not at ${fromCursor} where this step started; ` +
      'another evaluator moved it or the step was already committed. Nothing was written; reload and retry',
  );
}

interface StateRow {
  key: string;
  value: string;
}

/**
 * createSqliteEvaluatorStore implements EvaluatorStore. `load` reads on the store's connection. A commit is
 * durable when it resolves (`synchronous = FULL`): it rides in the next write batch (write-steps.js
 * `evaluatorStep`; with a database file on the writer thread, so no fsync of its own and none on the event
 * loop), and a failure of the batch's other parts never fails it. `onInserted` runs after a commit that
 * stored at least one notification, outside the transaction.
 */
export function createSqliteEvaluatorStore(context: SqliteContext, onInserted: () => void): EvaluatorStore {
  const { db } = context;
  const readCursor = db.prepare<[], number>(WRITE_SQL.readCursor).pluck();
  const readState = db.prepare<[], StateRow>('SELECT key, value FROM rule_state ORDER BY key');

  const loadTx = db.transaction((): EvaluatorSnapshot => {
    // One read transaction, so the cursor and the state come from the same commit.
    const cursor = readCursor.get() ?? 0;
    const state = readState.all().map((row) => ({ key: row.key, value: JSON.parse(row.value) as unknown }));
    return { cursor, state };
  });

  return {
    async load(): Promise<EvaluatorSnapshot> {
      return readWith(context, 'loading the evaluator state', () => loadTx.deferred());
    },

    async cursor(): Promise<number> {
      return readWith(context, 'reading the evaluator cursor', () => readCursor.get() ?? 0);
    },

    async commit(input: EvaluatorCommitInput): Promise<EvaluatorCommitResult> {
      context.assertOpen();
      const step = prepareEvaluatorCommit(input);
      let outcome: EvaluatorStepOutcome;
      try {
        outcome = await context.batcher.step(step);
      } catch (error) {
        if (error instanceof HookrelayError) throw error;
        throw storeError(
          StoreErrorCode.writeFailed,
          `the evaluator commit failed and wrote nothing: ${(error as Error).message}`,
          error,
        );
      }
      if ('conflict' in outcome) throw cursorConflict(outcome.conflict, step.fromCursor);
      if (outcome.inserted > 0) onInserted();
      return { notificationsInserted: outcome.inserted };
    },
  };
}
