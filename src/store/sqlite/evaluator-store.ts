import { StoreErrorCode, storeError } from '../errors.js';
import type {
  EvaluatorCommitInput,
  EvaluatorCommitResult,
  EvaluatorSnapshot,
  EvaluatorStore,
} from '../ports.js';
import { type PreparedCommit, prepareEvaluatorCommit } from '../validate.js';
import { readWith, type SqliteContext, writeWith } from './context.js';

interface StateRow {
  key: string;
  value: string;
}

/**
 * createSqliteEvaluatorStore implements EvaluatorStore on the store's connection. A commit is one IMMEDIATE
 * transaction (the connection runs `synchronous = FULL`, so it is durable when it returns); `onInserted`
 * runs after a commit that stored at least one notification, outside the transaction.
 */
export function createSqliteEvaluatorStore(context: SqliteContext, onInserted: () => void): EvaluatorStore {
  const { db } = context;
  const readCursor = db.prepare<[], number>('SELECT seq FROM evaluator_cursor WHERE id = 1').pluck();
  const writeCursor = db.prepare<[number]>('UPDATE evaluator_cursor SET seq = ? WHERE id = 1');
  const readState = db.prepare<[], StateRow>('SELECT key, value FROM rule_state ORDER BY key');
  const upsertState = db.prepare<[string, string]>(
    'INSERT INTO rule_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const deleteState = db.prepare<[string]>('DELETE FROM rule_state WHERE key = ?');
  const insertNotification = db.prepare<
    [string, string, string, string | null, number | null, number, number, number]
  >(
    `INSERT INTO notifications (id, destination, alert, request_id, event_seq, created_at, order_key, due_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO NOTHING`,
  );

  const loadTx = db.transaction((): EvaluatorSnapshot => {
    // One read transaction, so the cursor and the state come from the same commit.
    const cursor = readCursor.get() ?? 0;
    const state = readState.all().map((row) => ({ key: row.key, value: JSON.parse(row.value) as unknown }));
    return { cursor, state };
  });

  const commitTx = db.transaction((step: PreparedCommit): number => {
    // Read under the write lock (IMMEDIATE): a second evaluator cannot move the cursor in between.
    const stored = readCursor.get() ?? 0;
    if (stored !== step.fromCursor) {
      throw storeError(
        StoreErrorCode.cursorConflict,
        `the evaluator cursor is at ${stored}, not at ${step.fromCursor} where this step started; ` +
          'another evaluator moved it or the step was already committed. Nothing was written; reload and retry',
      );
    }
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
      const notificationsInserted = writeWith(context, 'the evaluator commit', commitTx, step);
      if (notificationsInserted > 0) onInserted();
      return { notificationsInserted };
    },
  };
}
