import type { AppendInput, ReceivedRequest, StoredEvent } from '../../domain/event.js';
import {
  assertCount,
  assertReadAfter,
  type EventRow,
  type RequestRow,
  toReceivedRequest,
  toStoredEvent,
} from '../event-rows.js';
import type { Listeners } from '../lifecycle.js';
import type { AppendResult, EventLog, ListQuery } from '../ports.js';
import { PRUNE_CHUNK_ROWS, pruneEventLog } from '../pruning.js';
import { readWith, type SqliteContext, yieldToLoop } from './context.js';
import { createEventQueries } from './event-queries.js';
import { prepareAppend } from './prepare-append.js';

/**
 * createSqliteEventLog implements EventLog. Appends are checked and serialised first (prepareAppend), so a
 * bad input is rejected alone, then committed in the next write batch (`context.batcher`); reads run on
 * the store's connection (WAL lets them run during a commit on the writer thread); prunes are short
 * IMMEDIATE transactions taken between two batches. `appended` are the onAppend listeners, which the
 * batcher calls after a commit that stored items.
 */
export function createSqliteEventLog(context: SqliteContext, appended: Listeners): EventLog {
  const { db, batcher } = context;
  const queries = createEventQueries(db);
  const readAfterStmt = db.prepare<[number, number], EventRow>(
    'SELECT seq, request_id, dedupe_key, item, image FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const readAfterWithoutImagesStmt = db.prepare<[number, number], EventRow>(
    'SELECT seq, request_id, dedupe_key, item, NULL AS image FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const getRequestStmt = db.prepare<[string], RequestRow>(
    'SELECT id, source, event, received_at, body FROM requests WHERE id = ?',
  );
  // Kept: items the evaluator has not passed (seq > cursor), and items whose screenshot a pending or dead
  // notification may still send. They go at a later prune, once nothing needs them.
  const pruneEvents = db.prepare<[number, number]>(
    `DELETE FROM events WHERE seq IN (
       SELECT e.seq FROM events e
       WHERE e.received_at < ?
         AND e.seq <= (SELECT seq FROM evaluator_cursor WHERE id = 1)
         AND NOT EXISTS (
           SELECT 1 FROM notifications n WHERE n.event_seq = e.seq AND n.status IN ('pending', 'dead'))
       LIMIT ?)`,
  );
  // Kept: requests a stored item refers to (a failed foreign key check would fail the whole chunk), and
  // requests a pending or dead notification forwards as they came (`body: event`).
  const pruneRequests = db.prepare<[number, number]>(
    `DELETE FROM requests WHERE id IN (
       SELECT r.id FROM requests r
       WHERE r.received_at < ?
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.request_id = r.id)
         AND NOT EXISTS (
           SELECT 1 FROM notifications n WHERE n.request_id = r.id AND n.status IN ('pending', 'dead'))
       LIMIT ?)`,
  );
  const pruneEventsTx = db.transaction(
    (cutoffMs: number) => pruneEvents.run(cutoffMs, PRUNE_CHUNK_ROWS).changes,
  );
  const pruneRequestsTx = db.transaction(
    (cutoffMs: number) => pruneRequests.run(cutoffMs, PRUNE_CHUNK_ROWS).changes,
  );

  return {
    async append(input: AppendInput): Promise<AppendResult> {
      context.assertOpen();
      return batcher.append(prepareAppend(input));
    },

    async list(query: ListQuery): Promise<StoredEvent[]> {
      assertCount('list limit', query.limit);
      return readWith(context, 'list', () => queries.list(query)).map(toStoredEvent);
    },

    async get(seq: number): Promise<StoredEvent | undefined> {
      const row = readWith(context, 'get', () => queries.get(seq));
      return row === undefined ? undefined : toStoredEvent(row);
    },

    async readAfter(
      afterSeq: number,
      limit: number,
      options: { images?: boolean } = {},
    ): Promise<StoredEvent[]> {
      assertReadAfter(afterSeq, limit);
      const statement = options.images === false ? readAfterWithoutImagesStmt : readAfterStmt;
      return readWith(context, 'readAfter', () => statement.all(afterSeq, limit)).map(toStoredEvent);
    },

    async getRequest(id: string): Promise<ReceivedRequest | undefined> {
      const row = readWith(context, 'getRequest', () => getRequestStmt.get(id));
      return row === undefined ? undefined : toReceivedRequest(row);
    },

    async pruneOlderThan(cutoffMs: number): Promise<number> {
      // Each chunk is one short transaction taken between two write batches.
      return pruneEventLog(cutoffMs, {
        assertOpen: () => context.assertOpen(),
        deleteEvents: (cutoff) => batcher.exclusive(() => pruneEventsTx.immediate(cutoff)),
        deleteRequests: (cutoff) => batcher.exclusive(() => pruneRequestsTx.immediate(cutoff)),
        // Let pending appends commit between chunks instead of queueing behind the whole prune.
        between: yieldToLoop,
      });
    },

    onAppend(listener: () => void): () => void {
      return appended.add(listener);
    },
  };
}
