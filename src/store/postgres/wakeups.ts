import pg from 'pg';
import type { Logger } from '../../lib/log.js';
import { clientConfig, quoteIdent } from './pool.js';

/** How often the backstop polls while LISTEN is on (it only covers a notice lost during a reconnect). */
export const BACKSTOP_POLL_MS = 5_000;
/** How often it polls with HOOKRELAY_DB_LISTEN=off: the most a wake-up from another instance waits. */
export const LISTENLESS_POLL_MS = 1_000;

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;

/** WakeupOptions wire the wake-ups of one store. */
export interface WakeupOptions {
  url: string;
  schema?: string;
  statementTimeoutMs: number;
  pool: pg.Pool;
  channel: string;
  /** This store's id in NOTIFY payloads: its own notices are ignored (it woke its listeners already). */
  instanceId: string;
  listen: boolean;
  pollMs?: number;
  logger: Logger;
  onAppend(): void;
  onEnqueue(): void;
}

/**
 * startWakeups feeds the store's onAppend and onEnqueue listeners with what other instances commit:
 * LISTEN on the schema's channel (a dedicated connection, reconnected with backoff; after a reconnect both
 * listeners are woken once, for what may have been missed), and a polling backstop that wakes them only
 * when the newest event or notification seq, or the outbox revision (replays, resumes), changed. With
 * `listen: false` (PgBouncer in transaction mode, where LISTEN does not work) only the poll runs.
 */
export function startWakeups(options: WakeupOptions): { ready: Promise<void>; close(): Promise<void> } {
  const { logger } = options;
  let closed = false;
  let client: pg.Client | undefined;
  let reconnectMs = RECONNECT_MIN_MS;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let last: string | undefined;
  let listening: () => void = () => undefined;
  const listened = new Promise<void>((resolve) => {
    listening = resolve;
  });

  const onNotice = (message: pg.Notification) => {
    const [kind, from] = (message.payload ?? '').split(':');
    if (from === options.instanceId) return;
    if (kind === 'append') options.onAppend();
    else if (kind === 'enqueue') options.onEnqueue();
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const next = new pg.Client(clientConfig(options));
    next.on('error', (error) => {
      logger.warn({ err: error }, 'the LISTEN connection failed; polling until it is back');
    });
    next.on('end', () => {
      if (client === next) client = undefined;
      scheduleReconnect();
    });
    next.on('notification', onNotice);
    try {
      await next.connect();
      await next.query(`LISTEN ${quoteIdent(options.channel)}`);
    } catch (error) {
      logger.warn({ err: error }, 'cannot LISTEN for wake-ups; polling until it can');
      await next.end().catch(() => undefined);
      scheduleReconnect();
      return;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    const reconnected = reconnectMs > RECONNECT_MIN_MS;
    client = next;
    reconnectMs = RECONNECT_MIN_MS;
    listening();
    if (reconnected) {
      options.onAppend();
      options.onEnqueue();
    }
  };

  const scheduleReconnect = () => {
    if (closed || reconnectTimer) return;
    const wait = reconnectMs;
    reconnectMs = Math.min(RECONNECT_MAX_MS, reconnectMs * 2);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connect();
    }, wait);
    reconnectTimer.unref();
  };

  const poll = async () => {
    try {
      const result = await options.pool.query<{ e: number; n: number; r: string | null }>(
        `SELECT (SELECT coalesce(max(seq), 0) FROM events) AS e,
                (SELECT coalesce(max(seq), 0) FROM notifications) AS n,
                (SELECT value FROM meta WHERE key = 'outbox_revision') AS r`,
      );
      const row = result.rows[0];
      if (!row) return;
      const [eventSeq, notificationSeq, revision] = [row.e, row.n, row.r ?? '0'];
      const previous = last?.split('|');
      last = `${eventSeq}|${notificationSeq}|${revision}`;
      if (previous === undefined) return;
      if (String(eventSeq) !== previous[0]) options.onAppend();
      if (String(notificationSeq) !== previous[1] || revision !== previous[2]) options.onEnqueue();
    } catch {
      // The database is down: appends and /readyz say so; the next poll tries again.
    }
  };

  const pollTimer = setInterval(
    () => void poll(),
    options.pollMs ?? (options.listen ? BACKSTOP_POLL_MS : LISTENLESS_POLL_MS),
  );
  pollTimer.unref();
  const polled = poll();
  if (options.listen) void connect();
  else listening();

  return {
    ready: Promise.all([polled, listened]).then(() => undefined),
    async close() {
      closed = true;
      clearInterval(pollTimer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
