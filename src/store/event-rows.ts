import type { ReceivedRequest, StoredEvent } from '../domain/event.js';
import type { Item } from '../domain/item.js';
import { StoreErrorCode, storeError } from './errors.js';
import type { ListQuery } from './ports.js';

/*
 * The event log's rows and read checks, for both engines: an events and a requests row read back, the
 * checks on list/get/readAfter arguments, and a list query's WHERE clause. The engines differ only in
 * their SQL: how a parameter is written and how a wildcard event type is matched.
 */

/** EventRow is an events row as the evaluator and `hookrelay events` read it. */
export interface EventRow {
  seq: number;
  request_id: string;
  dedupe_key: string;
  item: string;
  image?: Buffer | null;
}

/** RequestRow is a requests row. */
export interface RequestRow {
  id: string;
  source: string;
  event: string;
  received_at: number;
  body: Buffer;
}

export function toStoredEvent(row: EventRow): StoredEvent {
  const event: StoredEvent = {
    seq: row.seq,
    requestId: row.request_id,
    dedupeKey: row.dedupe_key,
    item: JSON.parse(row.item) as Item,
  };
  if (row.image !== undefined && row.image !== null) event.image = row.image;
  return event;
}

export function toReceivedRequest(row: RequestRow): ReceivedRequest {
  return {
    id: row.id,
    source: row.source,
    event: row.event,
    receivedAt: row.received_at,
    body: row.body,
  };
}

export function assertSeq(what: string, value: number | undefined): void {
  if (value !== undefined && !Number.isSafeInteger(value)) {
    throw storeError(StoreErrorCode.inputInvalid, `${what} must be an integer, got ${value}`);
  }
}

export function assertCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw storeError(StoreErrorCode.inputInvalid, `${what} must be a non-negative integer, got ${value}`);
  }
}

/** assertReadAfter checks EventLog.readAfter's arguments. */
export function assertReadAfter(afterSeq: number, limit: number): void {
  if (!Number.isSafeInteger(afterSeq)) {
    throw storeError(StoreErrorCode.inputInvalid, `readAfter afterSeq must be an integer, got ${afterSeq}`);
  }
  assertCount('readAfter limit', limit);
}

/**
 * listWhere checks a list query and writes its WHERE clause (empty without filters). `bind` records a
 * value and returns its placeholder (`?` or `$n`); `typeMatch` writes the engine's wildcard match of a
 * type pattern. `ascending`: after a cursor the page is the items right after it (oldest first); the
 * caller still returns it newest first.
 */
export function listWhere(
  query: ListQuery,
  bind: (value: unknown) => string,
  typeMatch: (pattern: string) => string,
): { filter: string; ascending: boolean } {
  assertSeq('list beforeSeq', query.beforeSeq);
  assertSeq('list afterSeq', query.afterSeq);
  if (query.receivedSince !== undefined && !Number.isFinite(query.receivedSince)) {
    throw storeError(
      StoreErrorCode.inputInvalid,
      `list receivedSince must be a finite number, got ${query.receivedSince}`,
    );
  }
  const where: string[] = [];
  if (query.source !== undefined) where.push(`source = ${bind(query.source)}`);
  const types = query.type === undefined ? [] : typeof query.type === 'string' ? [query.type] : query.type;
  if (types.length > 0 && !types.includes('*')) {
    const ors = types.map((type) => (type.includes('*') ? typeMatch(type) : `type = ${bind(type)}`));
    where.push(`(${ors.join(' OR ')})`);
  }
  if (query.user !== undefined) where.push(`user_id = ${bind(query.user)}`);
  // received_at is a whole number of ms: `>= x` keeps the same rows as `>= ceil(x)`.
  if (query.receivedSince !== undefined) {
    where.push(`received_at >= ${bind(Math.ceil(query.receivedSince))}`);
  }
  if (query.beforeSeq !== undefined) where.push(`seq < ${bind(query.beforeSeq)}`);
  if (query.afterSeq !== undefined) where.push(`seq > ${bind(query.afterSeq)}`);
  return {
    filter: where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`,
    ascending: query.afterSeq !== undefined && query.beforeSeq === undefined,
  };
}
