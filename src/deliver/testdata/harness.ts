/**
 * Test helpers for the deliver stage: a SQLite file store in a temp directory, notifications enqueued the
 * way the evaluator does it, a monitor that waits for DeliveryEvents, and a logger whose lines are kept.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Alert } from '../../domain/alert.js';
import { createLogger, type Logger } from '../../lib/log.js';
import type { NewNotification } from '../../store/ports.js';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { DeliveryEvent } from '../deliverer.js';

/** Fixed start of every manual clock (2026-03-02T10:15:00.000Z). */
export const T0 = Date.UTC(2026, 2, 2, 10, 15, 0);

/** TempStore is a SQLite file store that removes its directory on close. */
export interface TempStore {
  store: SqliteStore;
  /** The database file, for a second connection (the CLI). */
  path: string;
  close(): Promise<void>;
}

/** openTempStore opens a fresh SQLite file store in its own temp directory. */
export async function openTempStore(): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-deliver-'));
  const path = join(dir, 'hookrelay.db');
  const store = await openSqliteStore(path);
  return {
    store,
    path,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** testAlert is a complete alert whose title names `id`, so a receiver can tell them apart. */
export function testAlert(id: string, overrides: Partial<Alert> = {}): Alert {
  return {
    id,
    rule: 'went-quiet',
    status: 'firing',
    severity: 'warning',
    title: `alert ${id}`,
    text: `text of ${id}`,
    key: 'user-ada',
    user: 'user-ada',
    at: T0,
    simulation: false,
    ...overrides,
  };
}

/**
 * enqueue writes notifications the way the evaluator does (one commit, the cursor unchanged), one per id,
 * created 1 ms apart in the order given so the queue order is the order of `ids`.
 */
export async function enqueue(
  store: SqliteStore,
  destination: string,
  ids: string[],
  extra: Partial<NewNotification> = {},
): Promise<void> {
  const { cursor } = await store.evaluator.load();
  await store.evaluator.commit({
    fromCursor: cursor,
    cursor,
    upserts: [],
    deletes: [],
    notifications: ids.map((id, index) => ({
      id,
      destination,
      alert: testAlert(id),
      createdAt: T0 + index,
      dueAt: T0,
      ...extra,
    })),
  });
}

/** EventMonitor keeps every DeliveryEvent and lets a test wait for one instead of sleeping. */
export interface EventMonitor {
  readonly events: DeliveryEvent[];
  listener: (event: DeliveryEvent) => void;
  /** until resolves with the first event (past or future) that matches, or rejects after `timeoutMs`. */
  until(match: (event: DeliveryEvent) => boolean, timeoutMs?: number): Promise<DeliveryEvent>;
  /** count resolves once `n` events match. */
  count(match: (event: DeliveryEvent) => boolean, n: number, timeoutMs?: number): Promise<void>;
  /** of lists the events of one type. */
  of<T extends DeliveryEvent['type']>(type: T): Extract<DeliveryEvent, { type: T }>[];
}

/** createEventMonitor returns an empty monitor; pass `listener` as the deliverer's onEvent. */
export function createEventMonitor(): EventMonitor {
  const events: DeliveryEvent[] = [];
  const waiters = new Set<() => void>();
  const waitFor = (check: () => boolean, what: string, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const attempt = () => {
        if (!check()) return;
        clearTimeout(timer);
        waiters.delete(attempt);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(attempt);
        const seen = events
          .map((event) =>
            event.type === 'deliver:error' ? `${event.type} (${event.error.message})` : event.type,
          )
          .join(', ');
        reject(new Error(`timed out waiting for ${what}; events so far: ${seen || 'none'}`));
      }, timeoutMs);
      waiters.add(attempt);
      attempt();
    });
  return {
    events,
    listener: (event) => {
      events.push(event);
      for (const wake of [...waiters]) wake();
    },
    async until(match, timeoutMs = 5_000) {
      await waitFor(() => events.some(match), 'an event', timeoutMs);
      return events.find(match) as DeliveryEvent;
    },
    count: (match, n, timeoutMs = 5_000) =>
      waitFor(() => events.filter(match).length >= n, `${n} events`, timeoutMs),
    of: <T extends DeliveryEvent['type']>(type: T) =>
      events.filter((event): event is Extract<DeliveryEvent, { type: T }> => event.type === type),
  };
}

/** CapturedLogger is a real pino logger whose JSON lines are kept for assertions. */
export interface CapturedLogger {
  logger: Logger;
  lines(): Array<{ level: number; msg: string } & Record<string, unknown>>;
}

/** captureLogger returns a debug-level logger writing into memory. */
export function captureLogger(): CapturedLogger {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger('debug', stream);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { level: number; msg: string } & Record<string, unknown>),
  };
}
