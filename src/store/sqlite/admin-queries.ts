import type Database from 'better-sqlite3';
import type { AdminReads, EventPageQuery, MinuteCount, NotificationQuery } from '../admin-ports.js';
import {
  type AttemptRow,
  EVALUATOR_PROGRESS_SQL,
  EVENT_SUMMARY_COLUMNS,
  type EventRow,
  eventFilters,
  type Filter,
  NOTIFICATION_VIEW_COLUMNS,
  type NotificationViewRow,
  notificationFilters,
  type ProgressRow,
  toAttempt,
  toBacklog,
  toEvaluatorProgress,
  toEvent,
  toEventWithBody,
  toNotificationView,
} from '../admin-rows.js';
import type { AttemptRecord } from '../ports.js';
import { epochMs, safeInteger } from '../validate.js';
import { readWith, type SqliteContext } from './context.js';
import { typeGlob } from './event-queries.js';

/*
 * The dashboard's queries on the SQLite engine. Filters are bound parameters; each combination of
 * filters is its own prepared statement (cached), so SQLite can pick an index per combination. An
 * alert's id and rule are read from their own columns (migration 0004), never from the alert's JSON,
 * which SQLite refuses when nested deeper than it parses. Rows, filter checks and mapping: admin-rows.ts.
 */

const MINUTE_MS = 60_000;
const ALERT_ID = 'alert_id';
const ALERT_RULE = 'alert_rule';

/** whereOf writes checked filters as `?` clauses, with their values in order. */
function whereOf(filters: Filter[]): { where: string; params: Array<string | number> } {
  const where = filters.map((filter) => filter.clause('?'));
  return {
    where: where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '',
    params: filters.map((filter) => filter.value),
  };
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
      const { where, params } = whereOf(
        eventFilters(what, query, (type) => ({ clause: (p) => `type GLOB ${p}`, value: typeGlob(type) })),
      );
      const sql = `SELECT ${EVENT_SUMMARY_COLUMNS} FROM events${where} ORDER BY seq DESC LIMIT ?`;
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
      return toEventWithBody(row);
    },

    async listNotifications(query: NotificationQuery) {
      const what = 'admin.listNotifications';
      const limit = safeInteger(what, 'limit', query.limit, 0);
      const { where, params } = whereOf(notificationFilters(what, query, { id: ALERT_ID, rule: ALERT_RULE }));
      const sql = `SELECT ${NOTIFICATION_VIEW_COLUMNS} FROM notifications${where} ORDER BY seq DESC LIMIT ?`;
      return readWith(context, what, () => {
        const views = (prepared(sql).all(...params, limit) as NotificationViewRow[]).map(toNotificationView);
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
        const row = prepared(`SELECT ${NOTIFICATION_VIEW_COLUMNS} FROM notifications WHERE id = ?`).get(
          String(id),
        ) as NotificationViewRow | undefined;
        if (row === undefined) return undefined;
        const view = toNotificationView(row);
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
        const progress = prepared(EVALUATOR_PROGRESS_SQL).get() as ProgressRow | undefined;
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
