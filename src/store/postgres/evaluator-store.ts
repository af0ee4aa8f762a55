import { StoreErrorCode, storeError } from '../errors.js';
import type {
  EvaluatorCommitInput,
  EvaluatorCommitResult,
  EvaluatorFence,
  EvaluatorSnapshot,
  EvaluatorStore,
} from '../ports.js';
import { invalidInput, nonEmptyString, prepareEvaluatorCommit, safeInteger } from '../validate.js';
import { inTransactionAs, type PgContext, readWith, writeWith } from './context.js';

function checkFence(fence: EvaluatorFence | undefined): EvaluatorFence | undefined {
  if (fence === undefined) return undefined;
  const what = 'evaluator commit';
  if (typeof fence !== 'object' || fence === null) throw invalidInput(what, 'fence must be an object');
  if (!nonEmptyString(fence.lease)) throw invalidInput(what, 'fence.lease must be a non-empty string');
  if (!nonEmptyString(fence.holder)) throw invalidInput(what, 'fence.holder must be a non-empty string');
  return { lease: fence.lease, holder: fence.holder, term: safeInteger(what, 'fence.term', fence.term) };
}

const INSERT_NOTIFICATIONS = `INSERT INTO notifications
    (id, destination, alert, request_id, event_seq, created_at, order_key, due_at)
  SELECT id, destination, alert, request_id, event_seq, created_at, order_key, due_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
    WITH ORDINALITY AS u(id, destination, alert, request_id, event_seq, created_at, order_key, due_at, ord)
  ORDER BY ord
  ON CONFLICT (id) DO NOTHING`;

/**
 * createPgEvaluatorStore implements EvaluatorStore. A commit is one transaction: the fence (when given)
 * is read FOR SHARE first, so an election that would change it waits for this commit or makes it fail;
 * then the cursor row is locked (FOR UPDATE) and compared with `fromCursor`, so two evaluators can never
 * both commit from the same cursor. A NOTIFY in the same transaction wakes delivery on every instance
 * when notifications were stored; `onInserted` wakes this process's listeners.
 */
export function createPgEvaluatorStore(context: PgContext, onInserted: () => void): EvaluatorStore {
  return {
    async load(): Promise<EvaluatorSnapshot> {
      return readWith(context, 'loading the evaluator state', (pool) =>
        // One snapshot, so the cursor and the state come from the same commit.
        inTransactionAs(pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
          const cursor = await client.query<{ seq: number }>('SELECT seq FROM evaluator_cursor WHERE id = 1');
          const state = await client.query<{ key: string; value: string }>(
            'SELECT key, value FROM rule_state ORDER BY key COLLATE "C"',
          );
          return {
            cursor: cursor.rows[0]?.seq ?? 0,
            state: state.rows.map((row) => ({ key: row.key, value: JSON.parse(row.value) as unknown })),
          };
        }),
      );
    },

    async cursor(): Promise<number> {
      return readWith(context, 'reading the evaluator cursor', async (pool) => {
        const found = await pool.query<{ seq: number }>('SELECT seq FROM evaluator_cursor WHERE id = 1');
        return found.rows[0]?.seq ?? 0;
      });
    },

    async commit(input: EvaluatorCommitInput): Promise<EvaluatorCommitResult> {
      context.assertOpen();
      const step = prepareEvaluatorCommit(input);
      const fence = checkFence(input.fence);
      // Last value wins for a key given twice, as one upsert after another would leave it.
      const upserts = new Map(step.upserts.map((entry) => [entry.key, entry.json]));
      const inserted = await writeWith(context, 'the evaluator commit', async (client) => {
        if (fence) {
          const lease = await client.query<{ holder: string; term: number }>(
            'SELECT holder, term FROM hookrelay_leases WHERE name = $1 AND expires_at > now() FOR SHARE',
            [fence.lease],
          );
          const row = lease.rows[0];
          if (!row || row.holder !== fence.holder || row.term !== fence.term) {
            throw storeError(
              StoreErrorCode.fenced,
              `the evaluator lease "${fence.lease}" is no longer held by ${fence.holder} at term ${fence.term} ` +
                `(${row ? `held by ${row.holder} at term ${row.term}` : 'expired or never taken'}); nothing was written`,
            );
          }
        }
        const cursor = await client.query<{ seq: number }>(
          'SELECT seq FROM evaluator_cursor WHERE id = 1 FOR UPDATE',
        );
        const stored = cursor.rows[0]?.seq ?? 0;
        if (stored !== step.fromCursor) {
          throw storeError(
            StoreErrorCode.cursorConflict,
            `the evaluator cursor is at ${stored}, not at ${step.fromCursor} where this step started; ` +
              'another evaluator moved it or the step was already committed. Nothing was written; reload and retry',
          );
        }
        if (step.deletes.length > 0) {
          await client.query('DELETE FROM rule_state WHERE key = ANY($1::text[])', [step.deletes]);
        }
        if (upserts.size > 0) {
          await client.query(
            `INSERT INTO rule_state (key, value) SELECT * FROM unnest($1::text[], $2::text[])
             ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
            [[...upserts.keys()], [...upserts.values()]],
          );
        }
        let count = 0;
        if (step.notifications.length > 0) {
          const n = step.notifications;
          const result = await client.query(INSERT_NOTIFICATIONS, [
            n.map((x) => x.id),
            n.map((x) => x.destination),
            n.map((x) => x.alertJson),
            n.map((x) => x.requestId),
            n.map((x) => x.eventSeq),
            n.map((x) => x.createdAt),
            n.map((x) => x.orderKey),
            n.map((x) => x.dueAt),
          ]);
          count = result.rowCount ?? 0;
        }
        if (step.cursor !== stored) {
          await client.query('UPDATE evaluator_cursor SET seq = $1 WHERE id = 1', [step.cursor]);
        }
        if (count > 0)
          await client.query('SELECT pg_notify($1, $2)', [context.channel, context.notice('enqueue')]);
        return count;
      });
      if (inserted > 0) onInserted();
      return { notificationsInserted: inserted };
    },
  };
}
