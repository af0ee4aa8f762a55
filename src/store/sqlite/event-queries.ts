import type Database from 'better-sqlite3';
import { assertSeq, listWhere } from '../event-rows.js';
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
      const params: unknown[] = [];
      const bind = (value: unknown) => {
        params.push(value);
        return '?';
      };
      const { filter, ascending } = listWhere(query, bind, (type) => `type GLOB ${bind(typeGlob(type))}`);
      const order = ascending ? 'ASC' : 'DESC';
      const rows = prepared(`${COLUMNS}${filter} ORDER BY seq ${order} LIMIT ?`).all(...params, query.limit);
      return order === 'ASC' ? rows.reverse() : rows;
    },
    get(seq) {
      assertSeq('get seq', seq);
      return getStatement.get(seq);
    },
  };
}
