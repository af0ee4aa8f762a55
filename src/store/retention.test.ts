import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppendInput } from '../domain/event.js';
import { createManualClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { markEvaluated } from './contract.js';
import { StoreErrorCode } from './errors.js';
import { startRetention } from './retention.js';
import { openSqliteStore, type SqliteStore } from './sqlite/sqlite-store.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface LogLine {
  level: number;
  msg: string;
  pruned?: number;
  notificationsPruned?: number;
  code?: string;
}

/** A logger whose lines tests can await, so nothing sleeps or polls. */
function captureLogs() {
  const lines: LogLine[] = [];
  const waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  const logger = createLogger('debug', {
    write(chunk: string) {
      const line = JSON.parse(chunk) as LogLine;
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    },
  });
  /** next resolves with the first line matching `match` logged from now on. */
  const next = (match: (line: LogLine) => boolean): Promise<LogLine> =>
    new Promise((resolve) => waiters.push({ match, resolve }));
  return { logger, lines, next };
}

/** settle lets one real event-loop turn pass, so a finished run has scheduled its next timer. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const isPrune = (line: LogLine) => line.msg.startsWith('retention pruned');
const isFailure = (line: LogLine) => line.msg.startsWith('retention prune failed');

function appendOf(keys: string[], receivedAt: number): AppendInput {
  return {
    request: { source: 'trackpilots', event: 'e', receivedAt, body: Buffer.from('{}') },
    events: keys.map((key) => ({
      dedupeKey: key,
      item: {
        source: 'trackpilots',
        event: 'e',
        id: key,
        at: receivedAt,
        receivedAt,
        simulation: false,
        raw: {},
      },
    })),
  };
}

let dir: string;
let store: SqliteStore;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookrelay-retention-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  vi.useRealTimers();
  await store.close();
});

describe('startRetention', () => {
  // Only timeouts are faked: the store's group commit and prune chunks still yield with real setImmediate.
  const fakeTimeouts = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

  it('prunes soon after start and then every interval, logging how many items went', async () => {
    store = await openSqliteStore(join(dir, 'interval.db'));
    await store.events.append(appendOf(['old-1', 'old-2', 'old-3'], T0 - 2 * DAY));
    await store.events.append(appendOf(['recent'], T0 - HOUR));
    await markEvaluated(store);
    const clock = createManualClock(T0);
    const logs = captureLogs();
    fakeTimeouts();
    const stop = startRetention({
      store,
      maxAgeMs: DAY,
      intervalMs: HOUR,
      clock,
      logger: logs.logger,
      firstRunDelayMs: 1_000,
    });

    vi.advanceTimersByTime(999);
    expect(logs.lines.filter(isPrune)).toHaveLength(0);
    const first = logs.next(isPrune);
    vi.advanceTimersByTime(1);
    expect(await first).toMatchObject({ pruned: 3, level: 30 });
    await settle();
    expect((await store.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual(['recent']);

    clock.advance(DAY);
    const second = logs.next(isPrune);
    vi.advanceTimersByTime(HOUR);
    expect(await second).toMatchObject({ pruned: 1 });
    await settle();
    expect(await store.events.readAfter(0, 10)).toEqual([]);

    const third = logs.next(isPrune);
    vi.advanceTimersByTime(HOUR);
    expect(await third).toMatchObject({ pruned: 0, level: 20 });
    await stop();
  });

  it('logs a failed prune with its code, never throws, and tries again next interval', async () => {
    store = await openSqliteStore(join(dir, 'failing.db'));
    await store.close();
    const logs = captureLogs();
    fakeTimeouts();
    const stop = startRetention({
      store,
      maxAgeMs: DAY,
      intervalMs: HOUR,
      clock: createManualClock(T0),
      logger: logs.logger,
      firstRunDelayMs: 10,
    });
    const first = logs.next(isFailure);
    vi.advanceTimersByTime(10);
    expect(await first).toMatchObject({ code: StoreErrorCode.closed, level: 50 });
    await settle();
    const again = logs.next(isFailure);
    vi.advanceTimersByTime(HOUR);
    expect(await again).toMatchObject({ code: StoreErrorCode.closed });
    await stop();
  });

  it('stop waits for a running prune and cancels the runs after it', async () => {
    store = await openSqliteStore(join(dir, 'stop.db'));
    // Several chunks, so the prune is still running (between chunks) when stop is called.
    await store.events.append(
      appendOf(
        Array.from({ length: 2_500 }, (_, i) => `old-${i}`),
        T0 - 2 * DAY,
      ),
    );
    await markEvaluated(store);
    const logs = captureLogs();
    fakeTimeouts();
    const stop = startRetention({
      store,
      maxAgeMs: DAY,
      intervalMs: HOUR,
      clock: createManualClock(T0),
      logger: logs.logger,
      firstRunDelayMs: 10,
    });
    vi.advanceTimersByTime(10);
    expect(logs.lines.filter(isPrune)).toHaveLength(0);
    await stop();
    expect(logs.lines.filter(isPrune)).toEqual([expect.objectContaining({ pruned: 2_500 })]);

    vi.advanceTimersByTime(10 * HOUR);
    await store.events.readAfter(0, 1);
    expect(logs.lines.filter((line) => isPrune(line) || isFailure(line))).toHaveLength(1);
  });

  it('prunes delivered notifications too, then the items only they still held, in one run', async () => {
    store = await openSqliteStore(join(dir, 'outbox.db'));
    await store.events.append(appendOf(['sent', 'waiting', 'fresh'], T0 - 2 * DAY));
    const [sent, waiting] = await store.events.readAfter(0, 10);
    await markEvaluated(store);
    const alert = (id: string) => ({
      id,
      rule: 'r',
      status: 'firing' as const,
      severity: 'info' as const,
      title: id,
      text: id,
      key: 'k',
      at: T0 - 2 * DAY,
      simulation: false,
    });
    const { cursor } = await store.evaluator.load();
    await store.evaluator.commit({
      fromCursor: cursor,
      cursor,
      upserts: [],
      deletes: [],
      notifications: [sent!, waiting!].map((event) => ({
        id: event.dedupeKey,
        destination: 'd',
        alert: alert(event.dedupeKey),
        eventSeq: event.seq,
        createdAt: T0 - 2 * DAY,
        dueAt: T0 - 2 * DAY,
      })),
    });
    await store.outbox.claim({
      now: T0 - 2 * DAY,
      leaseMs: 1_000,
      limitPerDestination: 1,
      destinations: ['d'],
    });
    await store.outbox.recordDelivered('sent', { at: T0 - 2 * DAY, durationMs: 10, outcome: 'delivered' });

    const logs = captureLogs();
    fakeTimeouts();
    const stop = startRetention({
      store,
      maxAgeMs: DAY,
      intervalMs: HOUR,
      clock: createManualClock(T0),
      logger: logs.logger,
      firstRunDelayMs: 10,
    });
    const first = logs.next(isPrune);
    vi.advanceTimersByTime(10);
    expect(await first).toMatchObject({ pruned: 2, notificationsPruned: 1, level: 30 });
    await stop();
    expect((await store.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual(['waiting']);
    expect(await store.outbox.pendingCounts()).toEqual({ d: 1 });
  });

  it('never keeps the process alive (its timer is unref’d)', async () => {
    store = await openSqliteStore(':memory:');
    const timeouts = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    const before = timeouts();
    const stop = startRetention({
      store,
      maxAgeMs: DAY,
      intervalMs: HOUR,
      clock: createManualClock(T0),
      logger: captureLogs().logger,
    });
    expect(timeouts()).toBe(before);
    await stop();
  });

  it('refuses a non-positive age or interval', async () => {
    store = await openSqliteStore(':memory:');
    const base = { store, clock: createManualClock(T0), logger: captureLogs().logger };
    expect(() => startRetention({ ...base, maxAgeMs: DAY, intervalMs: 0 })).toThrow(
      expect.objectContaining({ code: StoreErrorCode.inputInvalid }),
    );
    expect(() => startRetention({ ...base, maxAgeMs: -1, intervalMs: HOUR })).toThrow(
      expect.objectContaining({ code: StoreErrorCode.inputInvalid }),
    );
  });
});
