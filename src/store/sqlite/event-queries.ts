import type Database from 'better-sqlite3';
import { StoreErrorCode, storeError } from '../errors.js';
import type { ListQuery } from '../ports.js';

/*
 * The event log's read queries for people (`hookrelay events`): filters, cursor paging, one by seq.
 * Each combination of filters is its own statement, prepared once, so SQLite can pick an index for it
 * (an `? IS NULL OR …` clause would defeat every index).
 */

/** EventQueryRow is an events row as these queries return it (never the image bytes). */
export interface EventQueryRow {
  seq: number;
  request_id: string;
  dedupe_key: string;
  item: string;
}

/** EventQueries are the SQLite statements behind `EventLog.list` and `EventLog.get`. */
export interface EventQueries {
  list(query: ListQuery): EventQueryRow[];
  get(seq: number): EventQueryRow | undefined;
}

const COLUMNS = 'SELECT seq, request_id, dedupe_key, item FROM events';

/**
 * typeGlob turns an event-type pattern of a rule's `on:` (`*` matches any characters, dots included)
 * into an SQLite GLOB pattern, in which `?` and `[` would mean something else; they are made literal.
 */
export function typeGlob(pattern: string): string {
  return pattern.replace(/[[?]/g, (ch) => `[${ch}]`);
}

function assertSeq(what: string, value: number | undefined): void {
  if (value !== undefined && !Number.isSafeInteger(value)) {
    throw storeError(StoreErrorCode.inputInvalid, `${what} must be an integer, got ${value}`);
  }
}

/** createEventQueries prepares the read statements on `db` lazily, one per filter combination. */
export function createEventQueries(db: Database.Database): EventQueries {
  const statements = new Map<string, Database.Statement<unknown[], EventQueryRow>>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare<unknown[], EventQueryRow>(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const getStatement = db.prepare<[number], EventQueryRow>(`${COLUMNS} WHERE seq = ?`);

  return {
    list(query) {
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
      if (query.source !== undefined) {
        where.push('source = ?');
        params.push(query.source);
      }
      const types =
        query.type === undefined ? [] : typeof query.type === 'string' ? [query.type] : query.type;
      if (types.length > 0 && !types.includes('*')) {
        where.push(
          `(${types.map((type) => (type.includes('*') ? 'type GLOB ?' : 'type = ?')).join(' OR ')})`,
        );
        params.push(...types.map((type) => (type.includes('*') ? typeGlob(type) : type)));
      }
      if (query.user !== undefined) {
        where.push('user_id = ?');
        params.push(query.user);
      }
      if (query.receivedSince !== undefined) {
        where.push('received_at >= ?');
        params.push(query.receivedSince);
      }
      if (query.beforeSeq !== undefined) {
        where.push('seq < ?');
        params.push(query.beforeSeq);
      }
      if (query.afterSeq !== undefined) {
        where.push('seq > ?');
        params.push(query.afterSeq);
      }
      const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
      // After a cursor the page is the items right after it (oldest first), still returned newest first.
      const order = query.afterSeq !== undefined && query.beforeSeq === undefined ? 'ASC' : 'DESC';
      const rows = prepared(`${COLUMNS}${filter} ORDER BY seq ${order} LIMIT ?`).all(...params, query.limit);
      return order === 'ASC' ? rows.reverse() : rows;
    },
    get(seq) {
      assertSeq('get seq', seq);
      return getStatement.get(seq);
    },
  };
}
