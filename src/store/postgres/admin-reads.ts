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
import { epochMs, invalidInput, safeInteger } from '../validate.js';
import { type PgContext, readWith } from './context.js';
import { attemptsOf } from './dead-letters.js';
import { likePattern } from './event-log.js';

/*
 * The dashboard's queries on the PostgreSQL engine: the same queries as sqlite/admin-queries.ts, with
 * `$n` parameters and jsonb in place of json_extract.
 */

const MINUTE_MS = 60_000;
const ALERT_ID = "(alert::jsonb ->> 'id')";
const ALERT_RULE = "(alert::jsonb ->> 'rule')";

interface EventRow {
  seq: number;
  request_id: string;
  dedupe_key: string;
  received_at: number;
  item: string;
  has_image: boolean;
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

const EVENT_COLUMNS = 'seq, request_id, dedupe_key, received_at, item, (image IS NOT NULL) AS has_image';
const NOTIFICATION_COLUMNS =
  'seq, id, destination, alert, status, created_at, due_at, attempts, delivered_at, dead_at, dead_reason, event_seq';

function toEvent(row: EventRow): EventSummary {
  return {
    seq: row.seq,
    requestId: row.request_id,
    dedupeKey: row.dedupe_key,
    receivedAt: row.received_at,
    hasImage: row.has_image === true,
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

function optionalString(what: string, name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidInput(what, `${name} must be a string`);
  return value;
}

/** Filters collects WHERE clauses with their `$n` parameters. */
class Filters {
  readonly where: string[] = [];
  readonly params: Array<string | number> = [];
  add(clause: (param: string) => string, value: string | number): void {
    this.params.push(value);
    this.where.push(clause(`$${this.params.length}`));
  }
  sql(): string {
    return this.where.length > 0 ? ` WHERE ${this.where.join(' AND ')}` : '';
  }
  next(value: string | number): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
}

/** createPgAdminReads implements AdminReads. */
export function createPgAdminReads(context: PgContext): AdminReads {
  return {
    async listEvents(query: EventPageQuery) {
      const what = 'admin.listEvents';
      const limit = safeInteger(what, 'limit', query.limit, 0);
      const f = new Filters();
      if (query.beforeSeq !== undefined)
        f.add((p) => `seq < ${p}`, safeInteger(what, 'beforeSeq', query.beforeSeq));
      if (query.afterSeq !== undefined)
        f.add((p) => `seq > ${p}`, safeInteger(what, 'afterSeq', query.afterSeq));
      const source = optionalString(what, 'source', query.source);
      if (source !== undefined) f.add((p) => `source = ${p}`, source);
      const type = optionalString(what, 'type', query.type);
      if (type !== undefined) {
        if (type.includes('*')) f.add((p) => `type LIKE ${p} ESCAPE '\\'`, likePattern(type));
        else f.add((p) => `type = ${p}`, type);
      }
      const user = optionalString(what, 'user', query.user);
      if (user !== undefined) f.add((p) => `user_id = ${p}`, user);
      if (query.receivedFrom !== undefined) {
        f.add((p) => `received_at >= ${p}`, epochMs(what, 'receivedFrom', query.receivedFrom));
      }
      if (query.receivedTo !== undefined) {
        f.add((p) => `received_at < ${p}`, epochMs(what, 'receivedTo', query.receivedTo));
      }
      const sql = `SELECT ${EVENT_COLUMNS} FROM events${f.sql()} ORDER BY seq DESC LIMIT ${f.next(limit)}`;
      const rows = await readWith(
        context,
        what,
        async (db) => (await db.query<EventRow>(sql, f.params)).rows,
      );
      return rows.map(toEvent);
    },

    async getEvent(seq) {
      const what = 'admin.getEvent';
      const wanted = safeInteger(what, 'seq', seq);
      const rows = await readWith(
        context,
        what,
        async (db) =>
          (
            await db.query<EventRow>(
              `SELECT e.seq, e.request_id, e.dedupe_key, e.received_at, e.item,
                      (e.image IS NOT NULL) AS has_image, r.body
               FROM events e LEFT JOIN requests r ON r.id = e.request_id WHERE e.seq = $1`,
              [wanted],
            )
          ).rows,
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      const event = toEvent(row);
      return row.body === null || row.body === undefined ? event : { ...event, body: row.body };
    },

    async listNotifications(query: NotificationQuery) {
      const what = 'admin.listNotifications';
      const limit = safeInteger(what, 'limit', query.limit, 0);
      const f = new Filters();
      if (query.alertId !== undefined) f.add((p) => `${ALERT_ID} = ${p}`, String(query.alertId));
      if (query.eventSeq !== undefined) {
        f.add((p) => `event_seq = ${p}`, safeInteger(what, 'eventSeq', query.eventSeq));
      }
      const rule = optionalString(what, 'rule', query.rule);
      if (rule !== undefined) f.add((p) => `${ALERT_RULE} = ${p}`, rule);
      const destination = optionalString(what, 'destination', query.destination);
      if (destination !== undefined) f.add((p) => `destination = ${p}`, destination);
      if (query.status !== undefined) {
        if (!['pending', 'delivered', 'dead'].includes(query.status)) {
          throw invalidInput(what, 'status must be pending, delivered or dead');
        }
        f.add((p) => `status = ${p}`, query.status);
      }
      if (query.beforeSeq !== undefined)
        f.add((p) => `seq < ${p}`, safeInteger(what, 'beforeSeq', query.beforeSeq));
      if (query.afterSeq !== undefined)
        f.add((p) => `seq > ${p}`, safeInteger(what, 'afterSeq', query.afterSeq));
      if (query.createdFrom !== undefined) {
        f.add((p) => `created_at >= ${p}`, epochMs(what, 'createdFrom', query.createdFrom));
      }
      const sql = `SELECT ${NOTIFICATION_COLUMNS} FROM notifications${f.sql()} ORDER BY seq DESC LIMIT ${f.next(limit)}`;
      return readWith(context, what, async (db) => {
        const views = (await db.query<NotificationRow>(sql, f.params)).rows.map(toNotification);
        if (query.withAttempts) {
          const history = await attemptsOf(
            db,
            views.map((view) => view.seq),
          );
          for (const view of views) view.attempts = history.get(view.seq) ?? [];
        }
        return views;
      });
    },

    async getNotification(id) {
      const what = 'admin.getNotification';
      return readWith(context, what, async (db) => {
        const rows = await db.query<NotificationRow>(
          `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1`,
          [String(id)],
        );
        const row = rows.rows[0];
        if (row === undefined) return undefined;
        const view = toNotification(row);
        view.attempts = (await attemptsOf(db, [view.seq])).get(view.seq) ?? [];
        return view;
      });
    },

    async overview(since) {
      const what = 'admin.overview';
      const from = epochMs(what, 'since', since);
      return readWith(context, what, async (db) => {
        const eventsPerMinute = (
          await db.query<MinuteCount>(
            `SELECT source AS key, (received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, count(*) AS count
             FROM events WHERE received_at >= $1 GROUP BY key, minute ORDER BY minute, source COLLATE "C"`,
            [from],
          )
        ).rows;
        const alertsPerMinute = (
          await db.query<MinuteCount>(
            `SELECT ${ALERT_RULE} AS key, (created_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute,
                    count(DISTINCT ${ALERT_ID}) AS count
             FROM notifications WHERE created_at >= $1 GROUP BY key, minute
             ORDER BY minute, ${ALERT_RULE} COLLATE "C"`,
            [from],
          )
        ).rows;
        const pending = (
          await db.query<{ destination: string; pending: number; oldest: number }>(
            `SELECT destination, count(*) AS pending, min(created_at) AS oldest FROM notifications
             WHERE status = 'pending' GROUP BY destination`,
          )
        ).rows;
        const dead = (
          await db.query<{ destination: string; dead: number }>(
            `SELECT destination, count(*) AS dead FROM notifications WHERE status = 'dead' GROUP BY destination`,
          )
        ).rows;
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
        const progress = (
          await db.query<{ cursor: number; newest: number; oldest: number | null }>(
            `SELECT c.seq AS cursor, coalesce((SELECT max(seq) FROM events), 0) AS newest,
                    (SELECT received_at FROM events WHERE seq > c.seq ORDER BY seq LIMIT 1) AS oldest
             FROM evaluator_cursor c WHERE c.id = 1`,
          )
        ).rows[0];
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
        async (db) =>
          (
            await db.query<{ rule: string; alerts: number; lastAt: number }>(
              `SELECT ${ALERT_RULE} AS rule, count(DISTINCT ${ALERT_ID}) AS alerts, max(created_at) AS "lastAt"
               FROM notifications GROUP BY rule ORDER BY ${ALERT_RULE} COLLATE "C"`,
            )
          ).rows,
      );
    },

    async newestSeqs() {
      return readWith(context, 'admin.newestSeqs', async (db) => {
        const row = (
          await db.query<{ event: number; notification: number }>(
            `SELECT coalesce((SELECT max(seq) FROM events), 0) AS event,
                    coalesce((SELECT max(seq) FROM notifications), 0) AS notification`,
          )
        ).rows[0];
        return { event: row?.event ?? 0, notification: row?.notification ?? 0 };
      });
    },
  };
}
