import type { AdminReads, EventPageQuery, MinuteCount, NotificationQuery } from '../admin-ports.js';
import {
  EVALUATOR_PROGRESS_SQL,
  EVENT_SUMMARY_COLUMNS,
  type EventRow,
  eventFilters,
  type Filter,
  NOTIFICATION_VIEW_COLUMNS,
  type NotificationViewRow,
  notificationFilters,
  type ProgressRow,
  toBacklog,
  toEvaluatorProgress,
  toEvent,
  toEventWithBody,
  toNotificationView,
} from '../admin-rows.js';
import { epochMs, safeInteger } from '../validate.js';
import { type PgContext, readWith } from './context.js';
import { attemptsOf } from './dead-letters.js';
import { likePattern } from './event-log.js';

/*
 * The dashboard's queries on the PostgreSQL engine: the same queries as sqlite/admin-queries.ts, with
 * `$n` parameters and jsonb in place of json_extract. Rows, filter checks and mapping: admin-rows.ts.
 */

const MINUTE_MS = 60_000;
const ALERT_ID = "(alert::jsonb ->> 'id')";
const ALERT_RULE = "(alert::jsonb ->> 'rule')";

/** Filters collects WHERE clauses with their `$n` parameters. */
class Filters {
  readonly where: string[] = [];
  readonly params: Array<string | number> = [];
  constructor(filters: Filter[]) {
    for (const { clause, value } of filters) {
      this.params.push(value);
      this.where.push(clause(`$${this.params.length}`));
    }
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
      const f = new Filters(
        eventFilters(what, query, (type) => ({
          clause: (p) => `type LIKE ${p} ESCAPE '\\'`,
          value: likePattern(type),
        })),
      );
      const sql = `SELECT ${EVENT_SUMMARY_COLUMNS} FROM events${f.sql()} ORDER BY seq DESC LIMIT ${f.next(limit)}`;
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
      return toEventWithBody(row);
    },

    async listNotifications(query: NotificationQuery) {
      const what = 'admin.listNotifications';
      const limit = safeInteger(what, 'limit', query.limit, 0);
      const f = new Filters(notificationFilters(what, query, { id: ALERT_ID, rule: ALERT_RULE }));
      const sql = `SELECT ${NOTIFICATION_VIEW_COLUMNS} FROM notifications${f.sql()} ORDER BY seq DESC LIMIT ${f.next(limit)}`;
      return readWith(context, what, async (db) => {
        const views = (await db.query<NotificationViewRow>(sql, f.params)).rows.map(toNotificationView);
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
        const rows = await db.query<NotificationViewRow>(
          `SELECT ${NOTIFICATION_VIEW_COLUMNS} FROM notifications WHERE id = $1`,
          [String(id)],
        );
        const row = rows.rows[0];
        if (row === undefined) return undefined;
        const view = toNotificationView(row);
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
        const progress = (await db.query<ProgressRow>(EVALUATOR_PROGRESS_SQL)).rows[0];
        return {
          eventsPerMinute,
          alertsPerMinute,
          backlog: toBacklog(pending, dead),
          evaluator: toEvaluatorProgress(progress),
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
