import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';
import type {
  EvaluatorCommitInput,
  EvaluatorCommitResult,
  EvaluatorSnapshot,
  EvaluatorStore,
} from '../ports.js';
import { type PreparedCommit, prepareEvaluatorCommit } from '../validate.js';
import type { EvaluatorStepOutcome } from './append-worker.js';
import { readWith, type SqliteContext, writeWith } from './context.js';

/** The evaluator's write statements, shared with the append worker (append-worker.ts), which runs them too. */
export const EVALUATOR_SQL = {
  readCursor: 'SELECT seq FROM evaluator_cursor WHERE id = 1',
  writeCursor: 'UPDATE evaluator_cursor SET seq = ? WHERE id = 1',
  upsertState:
    'INSERT INTO rule_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  deleteState: 'DELETE FROM rule_state WHERE key = ?',
  insertNotification: `INSERT INTO notifications (id, destination, alert, request_id, event_seq, created_at, order_key, due_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO NOTHING`,
} as const;

/** commitOnWorker commits a step with the next append batch; its errors are those writeWith gives. */
async function commitOnWorker(
  commitStep: (step: PreparedCommit) => Promise<EvaluatorStepOutcome>,
  step: PreparedCommit,
): Promise<number> {
  let outcome: EvaluatorStepOutcome;
  try {
    outcome = await commitStep(step);
  } catch (error) {
    if (error instanceof HookrelayError) throw error;
    throw storeError(
      StoreErrorCode.writeFailed,
      `the evaluator commit failed and wrote nothing: ${(error as Error).message}`,
      error,
    );
  }
  if ('conflict' in outcome) throw cursorConflict(outcome.conflict, step.fromCursor);
  return outcome.inserted;
}

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
 * durable when it resolves (`synchronous = FULL`). With a database file it rides in the append worker's
 * next batch transaction (`context.commitStep`: no fsync of its own, none on the event loop; a failure of
 * the batch's appends never fails it); with `:memory:` it is one IMMEDIATE transaction on the store's
 * connection, in its turn between append batches. `onInserted` runs after a commit that stored at least
 * one notification, outside the transaction.
 */
export function createSqliteEvaluatorStore(context: SqliteContext, onInserted: () => void): EvaluatorStore {
  const { db } = context;
  const readCursor = db.prepare<[], number>(EVALUATOR_SQL.readCursor).pluck();
  const writeCursor = db.prepare<[number]>(EVALUATOR_SQL.writeCursor);
  const readState = db.prepare<[], StateRow>('SELECT key, value FROM rule_state ORDER BY key');
  const upsertState = db.prepare<[string, string]>(EVALUATOR_SQL.upsertState);
  const deleteState = db.prepare<[string]>(EVALUATOR_SQL.deleteState);
  const insertNotification = db.prepare<
    [string, string, string, string | null, number | null, number, number, number]
  >(EVALUATOR_SQL.insertNotification);

  const loadTx = db.transaction((): EvaluatorSnapshot => {
    // One read transaction, so the cursor and the state come from the same commit.
    const cursor = readCursor.get() ?? 0;
    const state = readState.all().map((row) => ({ key: row.key, value: JSON.parse(row.value) as unknown }));
    return { cursor, state };
  });

  const commitTx = db.transaction((step: PreparedCommit): number => {
    // Read under the write lock (IMMEDIATE): a second evaluator cannot move the cursor in between.
    const stored = readCursor.get() ?? 0;
    if (stored !== step.fromCursor) throw cursorConflict(stored, step.fromCursor);
    for (const key of step.deletes) deleteState.run(key);
    for (const entry of step.upserts) upsertState.run(entry.key, entry.json);
    let inserted = 0;
    for (const n of step.notifications) {
      inserted += insertNotification.run(
        n.id,
        n.destination,
        n.alertJson,
        n.requestId,
        n.eventSeq,
        n.createdAt,
        n.orderKey,
        n.dueAt,
      ).changes;
    }
    writeCursor.run(step.cursor);
    return inserted;
  });

  return {
    async load(): Promise<EvaluatorSnapshot> {
      return readWith(context, 'loading the evaluator state', () => loadTx.deferred());
    },

    async commit(input: EvaluatorCommitInput): Promise<EvaluatorCommitResult> {
      context.assertOpen();
      const step = prepareEvaluatorCommit(input);
      const notificationsInserted = context.commitStep
        ? await commitOnWorker(context.commitStep, step)
        : await writeWith(context, 'the evaluator commit', commitTx, step);
      if (notificationsInserted > 0) onInserted();
      return { notificationsInserted };
    },
  };
}
