import type pg from 'pg';
import type { AppendInput, ReceivedRequest, StoredEvent } from '../../domain/event.js';
import type { Item } from '../../domain/item.js';
import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';
import { type BatchLimits, Failed, GroupCommit } from '../group-commit.js';
import type { AppendResult, EventLog, ListQuery } from '../ports.js';
import type { Listeners } from '../sqlite/context.js';
import { prepareAppend } from '../sqlite/prepare-append.js';
import type { PreparedAppend } from '../sqlite/write-types.js';
import { inTransaction, type PgContext, readWith } from './context.js';
import { isDataError } from './pool.js';

/** Rows deleted per prune transaction, as in the SQLite engine: appends are never held up for long. */
const PRUNE_CHUNK_ROWS = 1_000;

/** One batch is one INSERT of unnested arrays: its size bounds the statement's memory, not its text. */
const BATCH_LIMITS: BatchLimits = { maxEntries: 1_000, maxRows: 10_000, maxBytes: 32 * 1024 * 1024 };

interface EventRow {
  seq: number;
  request_id: string;
  dedupe_key: string;
  item: string;
  image?: Buffer | null;
}

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
      if (!Number.isSafeInteger(afterSeq)) {
        throw storeError(
          StoreErrorCode.inputInvalid,
          `readAfter afterSeq must be an integer, got ${afterSeq}`,
        );
      }
      assertCount('readAfter limit', limit);
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
            await db.query<{ id: string; source: string; event: string; received_at: number; body: Buffer }>(
              'SELECT id, source, event, received_at, body FROM requests WHERE id = $1',
              [id],
            )
          ).rows,
      );
      const row = rows[0];
      if (!row) return undefined;
      return {
        id: row.id,
        source: row.source,
        event: row.event,
        receivedAt: row.received_at,
        body: row.body,
      };
    },

    async pruneOlderThan(cutoffMs: number): Promise<number> {
      if (!Number.isFinite(cutoffMs)) {
        throw storeError(
          StoreErrorCode.inputInvalid,
          `pruneOlderThan cutoffMs must be a finite number, got ${cutoffMs}`,
        );
      }
      const cutoff = Math.round(cutoffMs);
      let deleted = 0;
      const chunk = async (sql: string): Promise<number> => {
        context.assertOpen();
        try {
          return (await pool.query(sql, [cutoff, PRUNE_CHUNK_ROWS])).rowCount ?? 0;
        } catch (error) {
          throw storeError(
            StoreErrorCode.pruneFailed,
            `pruning the event log failed after ${deleted} item(s): ${(error as Error).message}`,
            error,
          );
        }
      };
      for (;;) {
        const changes = await chunk(PRUNE_EVENTS);
        deleted += changes;
        if (changes < PRUNE_CHUNK_ROWS) break;
      }
      while ((await chunk(PRUNE_REQUESTS)) === PRUNE_CHUNK_ROWS) {
        // next chunk
      }
      return deleted;
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
  assertSeq('list beforeSeq', query.beforeSeq);
  assertSeq('list afterSeq', query.afterSeq);
  if (query.receivedSince !== undefined && !Number.isFinite(query.receivedSince)) {
    throw storeError(
      StoreErrorCode.inputInvalid,
      `list receivedSince must be a finite number, got ${query.receivedSince}`,
    );
  }
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (query.source !== undefined) add((n) => `source = ${n}`, query.source);
  const types = query.type === undefined ? [] : typeof query.type === 'string' ? [query.type] : query.type;
  if (types.length > 0 && !types.includes('*')) {
    const ors = types.map((type) => {
      params.push(type.includes('*') ? likePattern(type) : type);
      const n = `$${params.length}`;
      return type.includes('*') ? `type LIKE ${n} ESCAPE '\\'` : `type = ${n}`;
    });
    where.push(`(${ors.join(' OR ')})`);
  }
  if (query.user !== undefined) add((n) => `user_id = ${n}`, query.user);
  if (query.receivedSince !== undefined) add((n) => `received_at >= ${n}`, Math.ceil(query.receivedSince));
  if (query.beforeSeq !== undefined) add((n) => `seq < ${n}`, query.beforeSeq);
  if (query.afterSeq !== undefined) add((n) => `seq > ${n}`, query.afterSeq);
  const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
  const ascending = query.afterSeq !== undefined && query.beforeSeq === undefined;
  params.push(query.limit);
  return {
    sql: `SELECT ${columns} FROM events${filter} ORDER BY seq ${ascending ? 'ASC' : 'DESC'} LIMIT $${params.length}`,
    params,
    ascending,
  };
}

function assertSeq(what: string, value: number | undefined): void {
  if (value !== undefined && !Number.isSafeInteger(value)) {
    throw storeError(StoreErrorCode.inputInvalid, `${what} must be an integer, got ${value}`);
  }
}

function assertCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw storeError(StoreErrorCode.inputInvalid, `${what} must be a non-negative integer, got ${value}`);
  }
}

function toStoredEvent(row: EventRow): StoredEvent {
  const event: StoredEvent = {
    seq: row.seq,
    requestId: row.request_id,
    dedupeKey: row.dedupe_key,
    item: JSON.parse(row.item) as Item,
  };
  if (row.image !== undefined && row.image !== null) event.image = row.image;
  return event;
}
