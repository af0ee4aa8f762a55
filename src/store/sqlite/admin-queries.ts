import type Database from 'better-sqlite3';
import type { Alert } from '../../domain/alert.js';
import type { Item } from '../../domain/item.js';
import type {
  AdminReads,
  DestinationBacklog,
  EventPageQuery,
  EventSummary,
  MinuteCount,
  NotificationQuery,
  NotificationStatus,
  NotificationView,
} from '../admin-ports.js';
import type { AttemptOutcome, AttemptRecord } from '../ports.js';
import { epochMs, invalidInput, safeInteger } from '../validate.js';
import { readWith, type SqliteContext } from './context.js';

/*
 * The dashboard's queries on the SQLite engine. Filters are bound parameters; each combination of
 * filters is its own prepared statement (cached), so SQLite can pick an index per combination. An
 * alert's id and rule are read from their own columns (migration 0004), never from the alert's JSON,
 * which SQLite refuses when nested deeper than it parses.
 */

const MINUTE_MS = 60_000;
const ALERT_ID = 'alert_id';
const ALERT_RULE = 'alert_rule';

interface EventRow {
  seq: number;
  request_id: string;
  dedupe_key: string;
  received_at: number;
  item: string;
  has_image: number;
  body?: Buffer | null;
}

interface NotificationRow {
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

interface AttemptRow {
  notification_seq: number;
  at: number;
  duration_ms: number;
  outcome: AttemptOutcome;
  reason: string | null;
  detail: string | null;
}

const EVENT_COLUMNS = 'seq, request_id, dedupe_key, received_at, item, (image IS NOT NULL) AS has_image';
const NOTIFICATION_COLUMNS =
  'seq, id, destination, alert, status, created_at, due_at, attempts, delivered_at, dead_at, dead_reason, event_seq';

function toEvent(row: EventRow): EventSummary {
  return {
    seq: row.seq,
    requestId: row.request_id,
    dedupeKey: row.dedupe_key,
    receivedAt: row.received_at,
    hasImage: row.has_image === 1,
    item: JSON.parse(row.item) as Item,
  };
}

function toNotification(row: NotificationRow): NotificationView {
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

function toAttempt(row: AttemptRow): AttemptRecord {
  const attempt: AttemptRecord = { at: row.at, durationMs: row.duration_ms, outcome: row.outcome };
  if (row.reason !== null) attempt.reason = row.reason;
  if (row.detail !== null) attempt.detail = row.detail;
  return attempt;
}

/**
 * typeGlob turns an event-type filter into a GLOB pattern where only `*` is special (as in a rule's
 * `on:`): `?` and `[` are matched literally by wrapping them in a class.
 */
function typeGlob(pattern: string): string {
  return pattern.replace(/[?[]/g, (char) => `[${char}]`);
}

function optionalString(what: string, name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidInput(what, `${name} must be a string`);
  return value;
}

/** createSqliteAdminReads implements AdminReads on the store's main connection (WAL: reads never wait). */
export function createSqliteAdminReads(context: SqliteContext): AdminReads {
  const { db } = context;
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  const attemptsOf = (seqs: number[]): Map<number, AttemptRecord[]> => {
    const bySeq = new Map<number, AttemptRecord[]>(seqs.map((seq) => [seq, []]));
    if (seqs.length === 0) return bySeq;
    const rows = prepared(
      `SELECT notification_seq, at, duration_ms, outcome, reason, detail FROM notification_attempts
       WHERE notification_seq IN (SELECT value FROM json_each(?)) ORDER BY notification_seq, id`,
    ).all(JSON.stringify(seqs)) as AttemptRow[];
    for (const row of rows) bySeq.get(row.notification_seq)?.push(toAttempt(row));
    return bySeq;
  };

  return {
    async listEvents(query: EventPageQuery) {
      const what = 'admin.listEvents';
      const limit = safeInteger(what, 'limit', query.limit, 0);
      const where: string[] = [];
      const params: Array<string | number> = [];
      const add = (clause: string, value: string | number) => {
        where.push(clause);
        params.push(value);
      };
      if (query.beforeSeq !== undefined) add('seq < ?', safeInteger(what, 'beforeSeq', query.beforeSeq));
      if (query.afterSeq !== undefined) add('seq > ?', safeInteger(what, 'afterSeq', query.afterSeq));
      const source = optionalString(what, 'source', query.source);
      if (source !== undefined) add('source = ?', source);
      const type = optionalString(what, 'type', query.type);
      if (type !== undefined) {
        if (type.includes('*')) add('type GLOB ?', typeGlob(type));
        else add('type = ?', type);
      }
      const user = optionalString(what, 'user', query.user);
      if (user !== undefined) add('user_id = ?', user);
      if (query.receivedFrom !== undefined) {
        add('received_at >= ?', epochMs(what, 'receivedFrom', query.receivedFrom));
      }
      if (query.receivedTo !== undefined)
        add('received_at < ?', epochMs(what, 'receivedTo', query.receivedTo));
      const sql =
        `SELECT ${EVENT_COLUMNS} FROM events` +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
        ' ORDER BY seq DESC LIMIT ?';
      const rows = readWith(context, what, () => prepared(sql).all(...params, limit) as EventRow[]);
      return rows.map(toEvent);
    },

    async getEvent(seq) {
      const what = 'admin.getEvent';
      const wanted = safeInteger(what, 'seq', seq);
      const row = readWith(
        context,
        what,
        () =>
          prepared(
            `SELECT e.seq, e.request_id, e.dedupe_key, e.received_at, e.item,
                    (e.image IS NOT NULL) AS has_image, r.body
             FROM events e LEFT JOIN requests r ON r.id = e.request_id WHERE e.seq = ?`,
          ).get(wanted) as EventRow | undefined,
      );
      if (row === undefined) return undefined;
      const event = toEvent(row);
      return row.body === null || row.body === undefined ? event : { ...event, body: row.body };
    },

    async listNotifications(query: NotificationQuery) {
      const what = 'admin.listNotifications';
      const limit = safeInteger(what, 'limit', query.limit, 0);
      const where: string[] = [];
      const params: Array<string | number> = [];
      const add = (clause: string, value: string | number) => {
        where.push(clause);
        params.push(value);
      };
      if (query.alertId !== undefined) add(`${ALERT_ID} = ?`, String(query.alertId));
      if (query.eventSeq !== undefined) add('event_seq = ?', safeInteger(what, 'eventSeq', query.eventSeq));
      const rule = optionalString(what, 'rule', query.rule);
      if (rule !== undefined) add(`${ALERT_RULE} = ?`, rule);
      const destination = optionalString(what, 'destination', query.destination);
      if (destination !== undefined) add('destination = ?', destination);
      if (query.status !== undefined) {
        if (!['pending', 'delivered', 'dead'].includes(query.status)) {
          throw invalidInput(what, 'status must be pending, delivered or dead');
        }
        add('status = ?', query.status);
      }
      if (query.beforeSeq !== undefined) add('seq < ?', safeInteger(what, 'beforeSeq', query.beforeSeq));
      if (query.afterSeq !== undefined) add('seq > ?', safeInteger(what, 'afterSeq', query.afterSeq));
      if (query.createdFrom !== undefined) {
        add('created_at >= ?', epochMs(what, 'createdFrom', query.createdFrom));
      }
      const sql =
        `SELECT ${NOTIFICATION_COLUMNS} FROM notifications` +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
        ' ORDER BY seq DESC LIMIT ?';
      return readWith(context, what, () => {
        const views = (prepared(sql).all(...params, limit) as NotificationRow[]).map(toNotification);
        if (query.withAttempts) {
          const history = attemptsOf(views.map((view) => view.seq));
          for (const view of views) view.attempts = history.get(view.seq) ?? [];
        }
        return views;
      });
    },

    async getNotification(id) {
      const what = 'admin.getNotification';
      return readWith(context, what, () => {
        const row = prepared(`SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = ?`).get(
          String(id),
        ) as NotificationRow | undefined;
        if (row === undefined) return undefined;
        const view = toNotification(row);
        view.attempts = attemptsOf([view.seq]).get(view.seq) ?? [];
        return view;
      });
    },

    async overview(since) {
      const what = 'admin.overview';
      const from = epochMs(what, 'since', since);
      return readWith(context, what, () => {
        const eventsPerMinute = prepared(
          `SELECT source AS key, (received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, count(*) AS count
           FROM events WHERE received_at >= ? GROUP BY key, minute ORDER BY minute, key`,
        ).all(from) as MinuteCount[];
        const alertsPerMinute = prepared(
          `SELECT ${ALERT_RULE} AS key, (created_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute,
                  count(DISTINCT ${ALERT_ID}) AS count
           FROM notifications WHERE created_at >= ? GROUP BY key, minute ORDER BY minute, key`,
        ).all(from) as MinuteCount[];
        // Two queries, each on its partial index, instead of one OR that would scan the table.
        const pending = prepared(
          `SELECT destination, count(*) AS pending, min(created_at) AS oldest FROM notifications
           WHERE status = 'pending' GROUP BY destination`,
        ).all() as Array<{ destination: string; pending: number; oldest: number }>;
        const dead = prepared(
          `SELECT destination, count(*) AS dead FROM notifications WHERE status = 'dead' GROUP BY destination`,
        ).all() as Array<{ destination: string; dead: number }>;
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
        const progress = prepared(
          `SELECT c.seq AS cursor, coalesce((SELECT max(seq) FROM events), 0) AS newest,
                  (SELECT received_at FROM events WHERE seq > c.seq ORDER BY seq LIMIT 1) AS oldest
           FROM evaluator_cursor c WHERE c.id = 1`,
        ).get() as { cursor: number; newest: number; oldest: number | null } | undefined;
        const evaluator = {
          cursor: progress?.cursor ?? 0,
          newestSeq: progress?.newest ?? 0,
          ...(progress?.oldest != null ? { oldestPendingAt: progress.oldest } : {}),
        };
        return {
          eventsPerMinute,
          alertsPerMinute,
          backlog: [...backlog.values()].sort((a, b) => a.destination.localeCompare(b.destination)),
          evaluator,
        };
      });
    },

    async ruleActivity() {
      return readWith(
        context,
        'admin.ruleActivity',
        () =>
          prepared(
            `SELECT ${ALERT_RULE} AS rule, count(DISTINCT ${ALERT_ID}) AS alerts, max(created_at) AS lastAt
             FROM notifications GROUP BY rule ORDER BY rule`,
          ).all() as Array<{ rule: string; alerts: number; lastAt: number }>,
      );
    },

    async newestSeqs() {
      return readWith(context, 'admin.newestSeqs', () => {
        const row = prepared(
          `SELECT coalesce((SELECT max(seq) FROM events), 0) AS event,
                  coalesce((SELECT max(seq) FROM notifications), 0) AS notification`,
        ).get() as { event: number; notification: number };
        return { event: row.event, notification: row.notification };
      });
    },
  };
}
