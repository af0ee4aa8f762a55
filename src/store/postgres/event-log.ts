import type pg from 'pg';
import type { AppendInput, ReceivedRequest, StoredEvent } from '../../domain/event.js';
import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';
import {
  assertCount,
  assertReadAfter,
  assertSeq,
  type EventRow,
  listWhere,
  type RequestRow,
  toReceivedRequest,
  toStoredEvent,
} from '../event-rows.js';
import { type BatchLimits, Failed, GroupCommit } from '../group-commit.js';
import type { Listeners } from '../lifecycle.js';
import type { AppendResult, EventLog, ListQuery } from '../ports.js';
import { PRUNE_CHUNK_ROWS, pruneEventLog } from '../pruning.js';
import { prepareAppend } from '../sqlite/prepare-append.js';
import type { PreparedAppend } from '../sqlite/write-types.js';
import { inTransaction, type PgContext, readWith } from './context.js';
import { isDataError } from './pool.js';

/** One batch is one INSERT of unnested arrays: its size bounds the statement's memory, not its text. */
const BATCH_LIMITS: BatchLimits = { maxEntries: 1_000, maxRows: 10_000, maxBytes: 32 * 1024 * 1024 };

/** AppendCounters are what commitStats reports. */
export interface AppendCounters {
  transactions: number;
  appendsCommitted: number;
}

const INSERT_EVENTS = `INSERT INTO events (source, type, dedupe_key, request_id, at, received_at, user_id, item, image)
  SELECT source, type, dedupe_key, request_id, at, received_at, user_id, item, image
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::bytea[])
    WITH ORDINALITY AS u(source, type, dedupe_key, request_id, at, received_at, user_id, item, image, ord)
  ORDER BY ord
  ON CONFLICT (source, dedupe_key) DO NOTHING
  RETURNING request_id`;

const INSERT_REQUESTS = `INSERT INTO requests (id, source, event, received_at, body)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])`;

/**
 * insertAppends writes a batch of appends on `client` (inside a transaction) and returns per append how
 * many items it stored. It first takes the events table's EXCLUSIVE lock (plain reads still run): seqs
 * are handed out and committed one transaction at a time across every instance, so a reader that saw
 * seq n never sees a smaller seq commit later. The unique (source, dedupe_key) makes a concurrent
 * append of the same item, on this instance or another, a duplicate.
 */
async function insertAppends(client: pg.ClientBase, appends: readonly PreparedAppend[], context: PgContext) {
  await client.query('LOCK TABLE events IN EXCLUSIVE MODE');
  const columns: unknown[][] = [[], [], [], [], [], [], [], [], []];
  for (const append of appends) {
    for (const event of append.events) {
      const values = [
        event.source,
        event.type,
        event.dedupeKey,
        append.requestId,
        event.at,
        append.receivedAt,
        event.userId,
        event.itemJson,
        event.image === null ? null : Buffer.from(event.image),
      ];
      for (const [index, value] of values.entries()) columns[index]?.push(value);
    }
  }
  const stored = new Map<string, number>();
  if ((columns[0]?.length ?? 0) > 0) {
    const inserted = await client.query<{ request_id: string }>(INSERT_EVENTS, columns);
    for (const row of inserted.rows) stored.set(row.request_id, (stored.get(row.request_id) ?? 0) + 1);
  }
  const kept = appends.filter((append) => (stored.get(append.requestId) ?? 0) > 0);
  if (kept.length > 0) {
    await client.query(INSERT_REQUESTS, [
      kept.map((a) => a.requestId),
      kept.map((a) => a.source),
      kept.map((a) => a.event),
      kept.map((a) => a.receivedAt),
      kept.map((a) => a.body),
    ]);
    // Delivered at commit, to every instance (the evaluator may run elsewhere).
    await client.query('SELECT pg_notify($1, $2)', [context.channel, context.notice('append')]);
  }
  return appends.map((append) => stored.get(append.requestId) ?? 0);
}

function toResult(append: PreparedAppend, stored: number): AppendResult {
  return { requestId: append.requestId, stored, duplicates: append.events.length - stored };
}

/**
 * createPgEventLog implements EventLog. Appends are checked and serialised first (prepareAppend), then
 * group-committed: every append made while a transaction is in flight joins the next one (one multi-row
 * INSERT … ON CONFLICT DO NOTHING), each answered after that commit. When a batch fails on a data error
 * (a row the database refuses), it is committed once more with a savepoint per append, so the bad one is
 * rejected alone; a connection or server failure rejects the whole batch (`HR_ERR_STORE_WRITE_FAILED`).
 */
export function createPgEventLog(
  context: PgContext,
  appended: Listeners,
): EventLog & { counters: AppendCounters; drain(): Promise<void> } {
  const { pool, health } = context;
  const counters: AppendCounters = { transactions: 0, appendsCommitted: 0 };

  const commit = async (batch: readonly PreparedAppend[]): Promise<Array<AppendResult | Failed>> => {
    try {
      const stored = await inTransaction(pool, (client) => insertAppends(client, batch, context));
      return batch.map((append, index) => toResult(append, stored[index] ?? 0));
    } catch (error) {
      if (batch.length <= 1 || !isDataError(error)) throw error;
    }
    return inTransaction(pool, async (client) => {
      const results: Array<AppendResult | Failed> = [];
      for (const append of batch) {
        await client.query('SAVEPOINT one_append');
        try {
          const [stored = 0] = await insertAppends(client, [append], context);
          await client.query('RELEASE SAVEPOINT one_append');
          results.push(toResult(append, stored));
        } catch (error) {
          if (!isDataError(error)) throw error;
          await client.query('ROLLBACK TO SAVEPOINT one_append');
          results.push(new Failed(error));
        }
      }
      return results;
    });
  };

  const group = new GroupCommit<PreparedAppend, AppendResult>({
    limits: BATCH_LIMITS,
    offLoop: true,
    commit,
    wrapError: (error, count) => {
      if (error instanceof HookrelayError) return error;
      if (isDataError(error)) {
        health.refused(error);
        return storeError(
          StoreErrorCode.inputInvalid,
          `the database refused the append's rows: ${(error as Error).message}`,
          error,
        );
      }
      health.failed(error, count, { appends: true });
      return storeError(
        StoreErrorCode.writeFailed,
        `the append transaction failed; nothing of it was stored: ${(error as Error).message}`,
        error,
      );
    },
    afterCommit: (results) => {
      const done = results.filter((r): r is AppendResult => !(r instanceof Failed));
      if (done.length === 0) return;
      counters.transactions += 1;
      counters.appendsCommitted += done.length;
      health.committed();
      if (done.some((r) => r.stored > 0)) appended.notify();
    },
    onHookError: (error) => context.logger.error({ err: error }, 'after an append commit'),
  });

  const eventColumns = 'seq, request_id, dedupe_key, item';

  return {
    counters,
    drain: () => group.drain(),

    async append(input: AppendInput): Promise<AppendResult> {
      context.assertOpen();
      const prepared = prepareAppend(input);
      return group.submit(prepared, { rows: prepared.events.length + 1, bytes: prepared.bytes });
    },

    async list(query: ListQuery): Promise<StoredEvent[]> {
      assertCount('list limit', query.limit);
      const { sql, params, ascending } = listSql(query, eventColumns);
      const rows = await readWith(
        context,
        'list',
        async (db) => (await db.query<EventRow>(sql, params)).rows,
      );
      return (ascending ? rows.reverse() : rows).map(toStoredEvent);
    },

    async get(seq: number): Promise<StoredEvent | undefined> {
      assertSeq('get seq', seq);
      const rows = await readWith(
        context,
        'get',
        async (db) =>
          (await db.query<EventRow>(`SELECT ${eventColumns} FROM events WHERE seq = $1`, [seq])).rows,
      );
      return rows[0] === undefined ? undefined : toStoredEvent(rows[0]);
    },

    async readAfter(afterSeq: number, limit: number, options: { images?: boolean } = {}) {
      assertReadAfter(afterSeq, limit);
      const image = options.images === false ? 'NULL::bytea AS image' : 'image';
      const rows = await readWith(
        context,
        'readAfter',
        async (db) =>
          (
            await db.query<EventRow>(
              `SELECT ${eventColumns}, ${image} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`,
              [afterSeq, limit],
            )
          ).rows,
      );
      return rows.map(toStoredEvent);
    },

    async getRequest(id: string): Promise<ReceivedRequest | undefined> {
      const rows = await readWith(
        context,
        'getRequest',
        async (db) =>
          (
            await db.query<RequestRow>(
              'SELECT id, source, event, received_at, body FROM requests WHERE id = $1',
              [id],
            )
          ).rows,
      );
      const row = rows[0];
      return row === undefined ? undefined : toReceivedRequest(row);
    },

    async pruneOlderThan(cutoffMs: number): Promise<number> {
      const chunk = async (sql: string, cutoff: number) =>
        (await pool.query(sql, [Math.round(cutoff), PRUNE_CHUNK_ROWS])).rowCount ?? 0;
      return pruneEventLog(cutoffMs, {
        assertOpen: () => context.assertOpen(),
        deleteEvents: (cutoff) => chunk(PRUNE_EVENTS, cutoff),
        deleteRequests: (cutoff) => chunk(PRUNE_REQUESTS, cutoff),
        between: async () => undefined,
      });
    },

    onAppend(listener: () => void): () => void {
      return appended.add(listener);
    },
  };
}

// Kept as in the SQLite engine: items the evaluator has not passed, and items or requests a pending or
// dead notification still names. Each statement is its own short transaction.
const PRUNE_EVENTS = `DELETE FROM events WHERE seq IN (
   SELECT e.seq FROM events e
   WHERE e.received_at < $1
     AND e.seq <= (SELECT seq FROM evaluator_cursor WHERE id = 1)
     AND NOT EXISTS (
       SELECT 1 FROM notifications n WHERE n.event_seq = e.seq AND n.status IN ('pending', 'dead'))
   LIMIT $2)`;
const PRUNE_REQUESTS = `DELETE FROM requests WHERE id IN (
   SELECT r.id FROM requests r
   WHERE r.received_at < $1
     AND NOT EXISTS (SELECT 1 FROM events e WHERE e.request_id = r.id)
     AND NOT EXISTS (
       SELECT 1 FROM notifications n WHERE n.request_id = r.id AND n.status IN ('pending', 'dead'))
   LIMIT $2)`;

/**
 * likePattern turns an event-type pattern of a rule's `on:` (`*` matches any characters) into a LIKE
 * pattern (escape `\`), in which `%` and `_` are made literal.
 */
export function likePattern(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (ch) => `\\${ch}`).replace(/\*/g, '%');
}

function listSql(query: ListQuery, columns: string) {
  const params: unknown[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const { filter, ascending } = listWhere(
    query,
    bind,
    (type) => `type LIKE ${bind(likePattern(type))} ESCAPE '\\'`,
  );
  return {
    sql: `SELECT ${columns} FROM events${filter} ORDER BY seq ${ascending ? 'ASC' : 'DESC'} LIMIT ${bind(query.limit)}`,
    params,
    ascending,
  };
}
