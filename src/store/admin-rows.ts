import type { Alert } from '../domain/alert.js';
import type { Item } from '../domain/item.js';
import type {
  DestinationBacklog,
  EventDetail,
  EventPageQuery,
  EventSummary,
  NotificationQuery,
  NotificationStatus,
  NotificationView,
} from './admin-ports.js';
import type { AttemptOutcome, AttemptRecord } from './ports.js';
import { epochMs, invalidInput, safeInteger } from './validate.js';

/*
 * The dashboard's reads as rows, for both engines: the row shapes, the checks on a page query's
 * filters, and the rows read back as views. The engines differ only in their SQL: how a parameter is
 * written, how an event type is matched, where an alert's id and rule are read from.
 */

/** EventRow is an event as the dashboard reads it (has_image is 0/1 on SQLite, a boolean on PostgreSQL). */
export interface EventRow {
  seq: number;
  request_id: string;
  dedupe_key: string;
  received_at: number;
  item: string;
  has_image: boolean | number;
  body?: Buffer | null;
}

/** NotificationViewRow is a notification as the dashboard reads it. */
export interface NotificationViewRow {
  seq: number;
  id: string;
  destination: string;
  alert: string;
  status: NotificationStatus;
  created_at: number;
  due_at: number;
  attempts: number;
  delivered_at: number | null;
  dead_at: number | null;
  dead_reason: string | null;
  event_seq: number | null;
}

/** AttemptRow is one delivery attempt as both engines store it. */
export interface AttemptRow {
  notification_seq: number;
  at: number;
  duration_ms: number;
  outcome: AttemptOutcome;
  reason: string | null;
  detail: string | null;
}

export const EVENT_SUMMARY_COLUMNS =
  'seq, request_id, dedupe_key, received_at, item, (image IS NOT NULL) AS has_image';
export const NOTIFICATION_VIEW_COLUMNS =
  'seq, id, destination, alert, status, created_at, due_at, attempts, delivered_at, dead_at, dead_reason, event_seq';

export function toEvent(row: EventRow): EventSummary {
  return {
    seq: row.seq,
    requestId: row.request_id,
    dedupeKey: row.dedupe_key,
    receivedAt: row.received_at,
    hasImage: row.has_image === true || row.has_image === 1,
    item: JSON.parse(row.item) as Item,
  };
}

/** toEventWithBody is toEvent plus the request body, when the join found one. */
export function toEventWithBody(row: EventRow): EventDetail {
  const event = toEvent(row);
  return row.body === null || row.body === undefined ? event : { ...event, body: row.body };
}

export function toNotificationView(row: NotificationViewRow): NotificationView {
  const view: NotificationView = {
    seq: row.seq,
    id: row.id,
    destination: row.destination,
    alert: JSON.parse(row.alert) as Alert,
    status: row.status,
    createdAt: row.created_at,
    dueAt: row.due_at,
    attemptCount: row.attempts,
  };
  if (row.delivered_at !== null) view.deliveredAt = row.delivered_at;
  if (row.dead_at !== null) view.deadAt = row.dead_at;
  if (row.dead_reason !== null) view.deadReason = row.dead_reason;
  if (row.event_seq !== null) view.eventSeq = row.event_seq;
  return view;
}

/** toAttempt reads an attempt row back as the AttemptRecord it was written from. */
export function toAttempt(row: Omit<AttemptRow, 'notification_seq'>): AttemptRecord {
  const attempt: AttemptRecord = { at: row.at, durationMs: row.duration_ms, outcome: row.outcome };
  if (row.reason !== null) attempt.reason = row.reason;
  if (row.detail !== null) attempt.detail = row.detail;
  return attempt;
}

function optionalString(what: string, name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidInput(what, `${name} must be a string`);
  return value;
}

/**
 * Filter is one checked WHERE clause of a page query: `clause` writes it around the engine's parameter
 * placeholder (`?` or `$n`), `value` is bound there.
 */
export interface Filter {
  clause: (param: string) => string;
  value: string | number;
}

/** eventFilters checks an events page query; `typeMatch` writes the engine's wildcard match of a type. */
export function eventFilters(
  what: string,
  query: EventPageQuery,
  typeMatch: (pattern: string) => Filter,
): Filter[] {
  const filters: Filter[] = [];
  const add = (clause: (param: string) => string, value: string | number) => {
    filters.push({ clause, value });
  };
  if (query.beforeSeq !== undefined)
    add((p) => `seq < ${p}`, safeInteger(what, 'beforeSeq', query.beforeSeq));
  if (query.afterSeq !== undefined) add((p) => `seq > ${p}`, safeInteger(what, 'afterSeq', query.afterSeq));
  const source = optionalString(what, 'source', query.source);
  if (source !== undefined) add((p) => `source = ${p}`, source);
  const type = optionalString(what, 'type', query.type);
  if (type !== undefined) {
    if (type.includes('*')) filters.push(typeMatch(type));
    else add((p) => `type = ${p}`, type);
  }
  const user = optionalString(what, 'user', query.user);
  if (user !== undefined) add((p) => `user_id = ${p}`, user);
  if (query.receivedFrom !== undefined) {
    add((p) => `received_at >= ${p}`, epochMs(what, 'receivedFrom', query.receivedFrom));
  }
  if (query.receivedTo !== undefined) {
    add((p) => `received_at < ${p}`, epochMs(what, 'receivedTo', query.receivedTo));
  }
  return filters;
}

/** notificationFilters checks a notifications page query; `alert` names the engine's id and rule expressions. */
export function notificationFilters(
  what: string,
  query: NotificationQuery,
  alert: { id: string; rule: string },
): Filter[] {
  const filters: Filter[] = [];
  const add = (clause: (param: string) => string, value: string | number) => {
    filters.push({ clause, value });
  };
  if (query.alertId !== undefined) add((p) => `${alert.id} = ${p}`, String(query.alertId));
  if (query.eventSeq !== undefined) {
    add((p) => `event_seq = ${p}`, safeInteger(what, 'eventSeq', query.eventSeq));
  }
  const rule = optionalString(what, 'rule', query.rule);
  if (rule !== undefined) add((p) => `${alert.rule} = ${p}`, rule);
  const destination = optionalString(what, 'destination', query.destination);
  if (destination !== undefined) add((p) => `destination = ${p}`, destination);
  if (query.status !== undefined) {
    if (!['pending', 'delivered', 'dead'].includes(query.status)) {
      throw invalidInput(what, 'status must be pending, delivered or dead');
    }
    add((p) => `status = ${p}`, query.status);
  }
  if (query.beforeSeq !== undefined)
    add((p) => `seq < ${p}`, safeInteger(what, 'beforeSeq', query.beforeSeq));
  if (query.afterSeq !== undefined) add((p) => `seq > ${p}`, safeInteger(what, 'afterSeq', query.afterSeq));
  if (query.createdFrom !== undefined) {
    add((p) => `created_at >= ${p}`, epochMs(what, 'createdFrom', query.createdFrom));
  }
  return filters;
}

/** toBacklog joins the per-destination pending and dead counts, sorted by destination. */
export function toBacklog(
  pending: ReadonlyArray<{ destination: string; pending: number; oldest: number }>,
  dead: ReadonlyArray<{ destination: string; dead: number }>,
): DestinationBacklog[] {
  const backlog = new Map<string, DestinationBacklog>();
  for (const row of pending) {
    backlog.set(row.destination, {
      destination: row.destination,
      pending: row.pending,
      oldestPendingAt: row.oldest,
      dead: 0,
    });
  }
  for (const row of dead) {
    const entry = backlog.get(row.destination);
    if (entry) entry.dead = row.dead;
    else backlog.set(row.destination, { destination: row.destination, pending: 0, dead: row.dead });
  }
  return [...backlog.values()].sort((a, b) => a.destination.localeCompare(b.destination));
}

/** EVALUATOR_PROGRESS_SQL reads the evaluator's cursor, the newest event and the oldest one not yet read. */
export const EVALUATOR_PROGRESS_SQL = `SELECT c.seq AS cursor, coalesce((SELECT max(seq) FROM events), 0) AS newest,
       (SELECT received_at FROM events WHERE seq > c.seq ORDER BY seq LIMIT 1) AS oldest
FROM evaluator_cursor c WHERE c.id = 1`;

export interface ProgressRow {
  cursor: number;
  newest: number;
  oldest: number | null;
}

export function toEvaluatorProgress(progress: ProgressRow | undefined): {
  cursor: number;
  newestSeq: number;
  oldestPendingAt?: number;
} {
  return {
    cursor: progress?.cursor ?? 0,
    newestSeq: progress?.newest ?? 0,
    ...(progress?.oldest != null ? { oldestPendingAt: progress.oldest } : {}),
  };
}
