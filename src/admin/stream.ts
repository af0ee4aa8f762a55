import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { coerceError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Store } from '../store/ports.js';
import type { AdminService } from './service.js';
import type { EventView, OverviewView } from './view-types.js';

/*
 * GET /api/v1/stream: Server-Sent Events with new events (`event: event`), new alerts (`event: alert`)
 * and, every few seconds, the overview's figures (`event: stats`). One hub serves every client: it wakes
 * on the store's own append and enqueue notifications (no extra work on the ingest path beyond setting a
 * timer), reads what is new at most every FLUSH_MS, and sends the same lines to everyone. A slower poll
 * is the backstop for writes by other processes (the CLI, another instance). With no client connected it
 * holds no listener and no timer.
 */

const FLUSH_MS = 250;
const POLL_MS = 2_000;
const STATS_MS = 5_000;
const KEEPALIVE_MS = 15_000;
/** Most events and alerts sent per flush; a burst beyond it is summed up in the stats. */
const BATCH = 50;

/** StreamEvent is a new stored item as the stream sends it. */
export interface StreamEvent {
  seq: number;
  source: string;
  type: string;
  user?: string;
  person?: string;
  app?: string;
  receivedAt: number;
}

/** StreamAlert is a new alert as the stream sends it (one per alert, whatever its destinations). */
export interface StreamAlert {
  id: string;
  rule: string;
  title: string;
  severity: string;
  status: string;
  destinations: string[];
  createdAt: number;
}

export interface StreamHub {
  /** handle takes over the reply and keeps it open until the client leaves or the hub closes. */
  handle(reply: FastifyReply, headers: Record<string, string>): Promise<void>;
  /** close ends every stream (shutdown) and stops listening. */
  close(): void;
  readonly clients: number;
}

function streamEventOf(event: EventView): StreamEvent {
  const out: StreamEvent = {
    seq: event.seq,
    source: event.item.source,
    type: event.item.event,
    receivedAt: event.receivedAt,
  };
  if (event.item.user !== undefined) out.user = event.item.user;
  if (event.person?.name !== undefined) out.person = event.person.name;
  if (event.item.app?.name !== undefined) out.app = event.item.app.name;
  return out;
}

/** statsOf is the part of the overview the live page updates. */
export function statsOf(overview: OverviewView) {
  return {
    now: overview.now,
    sources: overview.sources,
    rules: overview.rules,
    destinations: overview.destinations.map((d) => ({
      name: d.name,
      pending: d.pending,
      dead: d.dead,
      oldestPendingAt: d.oldestPendingAt ?? null,
      paused: d.paused ?? null,
    })),
    deadLetters: overview.deadLetters,
    evaluator: overview.evaluator,
  };
}

/** createStreamHub builds the hub over a store and the service that formats what it reads. */
export function createStreamHub(options: { store: Store; service: AdminService; logger: Logger }): StreamHub {
  const { store, service, logger } = options;
  const clients = new Set<ServerResponse>();
  let cursor: { event: number; notification: number } | undefined;
  let unsubscribe: Array<() => void> = [];
  let timers: NodeJS.Timeout[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let closed = false;

  const send = (name: string, data: unknown) => {
    const frame = `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of clients) client.write(frame);
  };

  const flush = async () => {
    if (clients.size === 0) return;
    cursor ??= await store.admin.newestSeqs();
    const events = await service.listEvents({ limit: BATCH, afterSeq: cursor.event });
    const notifications = await store.admin.listNotifications({
      limit: BATCH * 4,
      afterSeq: cursor.notification,
    });
    const newestEvent = events.events[0]?.seq;
    if (newestEvent !== undefined) cursor.event = Math.max(cursor.event, newestEvent);
    const newestNotification = notifications[0]?.seq;
    if (newestNotification !== undefined)
      cursor.notification = Math.max(cursor.notification, newestNotification);
    for (const event of [...events.events].reverse()) send('event', streamEventOf(event));
    const alerts = new Map<string, StreamAlert>();
    for (const view of [...notifications].reverse()) {
      const known = alerts.get(view.alert.id);
      if (known) {
        known.destinations.push(view.destination);
        continue;
      }
      alerts.set(view.alert.id, {
        id: view.alert.id,
        rule: view.alert.rule,
        title: view.alert.title,
        severity: view.alert.severity,
        status: view.alert.status,
        destinations: [view.destination],
        createdAt: view.createdAt,
      });
    }
    for (const alert of alerts.values()) send('alert', alert);
  };

  let again = false;
  const run = () => {
    flushTimer = undefined;
    flushing = flush()
      .catch((error: unknown) => logger.warn({ err: coerceError(error) }, 'live stream read failed'))
      .finally(() => {
        flushing = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  };
  function wake(): void {
    if (clients.size === 0) return;
    // A wake-up during a read is served by one more read after it, never lost.
    if (flushing !== undefined) again = true;
    else flushTimer ??= setTimeout(run, FLUSH_MS);
  }

  const sendStats = async () => {
    if (clients.size === 0) return;
    try {
      send('stats', statsOf(await service.overview()));
    } catch (error) {
      logger.warn({ err: coerceError(error) }, 'live stream stats failed');
    }
  };

  const startListening = () => {
    unsubscribe = [store.events.onAppend(wake), store.outbox.onEnqueue(wake)];
    timers = [
      setInterval(wake, POLL_MS),
      setInterval(() => void sendStats(), STATS_MS),
      setInterval(() => {
        for (const client of clients) client.write(': keep-alive\n\n');
      }, KEEPALIVE_MS),
    ];
    for (const timer of timers) timer.unref();
  };

  const stopListening = () => {
    for (const stop of unsubscribe) stop();
    for (const timer of timers) clearInterval(timer);
    if (flushTimer) clearTimeout(flushTimer);
    unsubscribe = [];
    timers = [];
    flushTimer = undefined;
    cursor = undefined;
  };

  return {
    get clients() {
      return clients.size;
    },
    async handle(reply, headers) {
      if (closed) {
        await reply.code(503).send({ error: { code: 'HR_ERR_ADMIN_INTERNAL', message: 'shutting down' } });
        return;
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // The cursor is taken before the client joins, so what it is sent next is what is new from now.
      if (unsubscribe.length === 0) {
        startListening();
        cursor = await store.admin.newestSeqs();
      }
      clients.add(raw);
      raw.write('retry: 3000\n\n');
      try {
        raw.write(`event: stats\ndata: ${JSON.stringify(statsOf(await service.overview()))}\n\n`);
      } catch (error) {
        logger.warn({ err: coerceError(error) }, 'live stream stats failed');
      }
      raw.on('close', () => {
        clients.delete(raw);
        if (clients.size === 0) stopListening();
      });
    },
    close() {
      closed = true;
      for (const client of clients) client.end();
      clients.clear();
      stopListening();
    },
  };
}
