import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppendInput } from '../../domain/event.js';
import type { Item } from '../../domain/item.js';
import {
  describeEvaluatorContract,
  describeEventLogContract,
  describeEventQueryContract,
  describeOutboxContract,
  markEvaluated,
} from '../contract.js';
import { StoreErrorCode } from '../errors.js';
import { DEFAULT_DATABASE_URL, defaultDatabaseUrl, openStore, parseDatabaseUrl } from '../open.js';
import { describePacingContract } from '../pacing-contract.js';
import type { AppendResult, EvaluatorCommitInput, NewNotification, Store } from '../ports.js';
import { applyMigrations, MIGRATIONS, type Migration, readUserVersion } from './migrations.js';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

let dir: string;
let counter = 0;
const tempPath = (name = 'store'): string => join(dir, `${name}-${++counter}.db`);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookrelay-store-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describeEventLogContract('sqlite (file)', () => openSqliteStore(tempPath()));
describeEventLogContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));
describeEventQueryContract('sqlite (file)', () => openSqliteStore(tempPath()));
describeEvaluatorContract('sqlite (file)', () => openSqliteStore(tempPath()));
// :memory: commits on the main connection, a file through the writer thread: both paths pass the contract.
describeEvaluatorContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));
describeOutboxContract('sqlite (file)', () => openSqliteStore(tempPath()));
describeOutboxContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));
// Two stores on one file, as two processes on one database.
describePacingContract('sqlite (file)', async () => {
  const path = tempPath();
  return [await openSqliteStore(path), await openSqliteStore(path)];
});

function item(id: string, overrides: Partial<Item> = {}): Item {
  return {
    source: 'trackpilots',
    event: 'desktop.app_tracking.captured',
    id,
    at: T0,
    receivedAt: T0,
    simulation: false,
    raw: { id },
    ...overrides,
  };
}

function appendOf(keys: string[], receivedAt = T0): AppendInput {
  return {
    request: {
      source: 'trackpilots',
      event: 'desktop.app_tracking.captured',
      receivedAt,
      body: Buffer.from('{}'),
    },
    events: keys.map((key) => ({ dedupeKey: key, item: item(key, { receivedAt }) })),
  };
}

describe('openSqliteStore', () => {
  const opened: Store[] = [];
  const open = async (path: string): Promise<SqliteStore> => {
    const store = await openSqliteStore(path);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  it('runs in WAL mode with synchronous FULL, foreign keys and a busy timeout', async () => {
    const store = await open(tempPath());
    expect(store.settings).toEqual({
      journalMode: 'wal',
      synchronous: 2,
      busyTimeoutMs: 5_000,
      foreignKeys: true,
      schemaVersion: MIGRATIONS.length,
    });
  });

  it('creates missing parent directories', async () => {
    const path = join(dir, 'nested', 'deeper', 'hookrelay.db');
    const store = await open(path);
    await store.events.append(appendOf(['a']));
    expect(existsSync(path)).toBe(true);
  });

  it('commits 200 concurrent appends in far fewer than 200 transactions', async () => {
    const store = await open(tempPath());
    const before = store.stats().transactions;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.events.append(appendOf([`k${i}`]))),
    );
    expect(results.every((r) => r.stored === 1 && r.duplicates === 0)).toBe(true);
    expect(store.stats().transactions - before).toBeLessThanOrEqual(2);
    expect(store.stats()).toMatchObject({ appendsCommitted: 200, itemsStored: 200, failedTransactions: 0 });
    expect(await store.events.readAfter(0, 1_000)).toHaveLength(200);
  });

  it('caps a batch at 1,000 appends and commits them in call order', async () => {
    const store = await open(tempPath());
    const results = await Promise.all(
      Array.from({ length: 2_500 }, (_, i) => store.events.append(appendOf([`k${i}`]))),
    );
    expect(store.stats().transactions).toBe(3);
    const all = await store.events.readAfter(0, 10_000);
    const seqByRequest = new Map(all.map((e) => [e.requestId, e.seq]));
    const seqs = results.map((r) => seqByRequest.get(r.requestId)!);
    for (let i = 1; i < seqs.length; i += 1) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
  });

  it('keeps acknowledged appends when the process dies right after (files copied without closing)', async () => {
    const path = tempPath('crash');
    const store = await open(path);
    const result = await store.events.append(appendOf(['durable-1', 'durable-2']));
    // What is on disk now is all a crash would leave: the main file plus the WAL, no clean close.
    const copy = tempPath('crash-copy');
    copyFileSync(path, copy);
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
    const reopened = await open(copy);
    expect((await reopened.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual([
      'durable-1',
      'durable-2',
    ]);
    expect(await reopened.events.getRequest(result.requestId)).toBeDefined();
  });

  it('keeps everything across close and re-open, and dedupes against what was stored before', async () => {
    const path = tempPath('reopen');
    const first = await openSqliteStore(path);
    await first.events.append(appendOf(['a', 'b']));
    await first.close();
    const second = await open(path);
    expect(await second.events.append(appendOf(['b', 'c']))).toMatchObject({ stored: 1, duplicates: 1 });
    expect((await second.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual(['a', 'b', 'c']);
  });

  it('stores the item JSON without person or image bytes', async () => {
    const path = tempPath();
    const store = await open(path);
    const image = Buffer.alloc(50_000, 0xab);
    await store.events.append({
      request: appendOf([]).request,
      events: [
        {
          dedupeKey: 's1',
          item: item('s1', {
            person: { id: 'u1', name: 'Ada' },
            screenshot: { id: 's1', image: { kind: 'bytes', mime: 'image/jpeg', size: image.length } },
          }),
          image,
        },
      ],
    });
    const raw = new Database(path, { readonly: true });
    try {
      const row = raw.prepare('SELECT item, length(image) AS imageLength FROM events').get() as {
        item: string;
        imageLength: number;
      };
      expect(row.imageLength).toBe(50_000);
      expect(row.item.length).toBeLessThan(1_000);
      expect(JSON.parse(row.item)).not.toHaveProperty('person');
    } finally {
      raw.close();
    }
  });

  it('rejects only the append whose rows the database refuses (HR_ERR_STORE_INPUT_INVALID); its batch commits', async () => {
    const path = tempPath('fail');
    const store = await open(path);
    let notified = 0;
    store.events.onAppend(() => {
      notified += 1;
    });
    // A row refused by SQLite itself, which no check before the batch foresees: a trigger that aborts on one key.
    const other = new Database(path);
    other.exec(
      `CREATE TRIGGER fail_on_boom BEFORE INSERT ON events WHEN NEW.dedupe_key = 'boom'
       BEGIN SELECT RAISE(ABORT, 'boom rejected'); END`,
    );
    const settled = await Promise.allSettled([
      store.events.append(appendOf(['ok-1'])),
      store.events.append(appendOf(['boom'])),
      store.events.append(appendOf(['ok-2'])),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = settled[1] as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: StoreErrorCode.inputInvalid });
    expect(((refused.reason as Error).cause as Error).message).toContain('boom rejected');
    expect((await store.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual(['ok-1', 'ok-2']);
    // One transaction carried the two: the failed first try is retried once, not member by member.
    expect(store.stats()).toMatchObject({ transactions: 1, appendsCommitted: 2, failedTransactions: 0 });
    expect(notified).toBe(1);

    other.exec('DROP TRIGGER fail_on_boom');
    other.close();
    expect(await store.events.append(appendOf(['boom']))).toMatchObject({ stored: 1 });
    expect(await store.checkWritable()).toBe(true);
    expect(notified).toBe(2);
  });

  it('refuses a time outside the safe integer range before the batch, naming the field', async () => {
    const store = await open(tempPath('range'));
    const cases: Array<[string, (input: AppendInput) => void]> = [
      ['events[0].item.at', (input) => (input.events[0]!.item.at = 1e19)],
      ['events[0].item.at', (input) => (input.events[0]!.item.at = -1e19)],
      ['request.receivedAt', (input) => (input.request.receivedAt = 2 ** 60)],
    ];
    for (const [field, spoil] of cases) {
      const input = appendOf(['x']);
      spoil(input);
      const failure = await store.events.append(input).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: StoreErrorCode.inputInvalid });
      expect((failure as Error).message).toContain(`${field} must be an epoch ms within`);
    }
    // Refused before any transaction: nothing was tried, nothing rolled back.
    expect(store.stats()).toMatchObject({ transactions: 0, failedTransactions: 0 });
  });

  it('lets appends commit between prune chunks', async () => {
    const store = await open(tempPath('prune'));
    const keys = Array.from({ length: 2_500 }, (_, i) => `old-${i}`);
    await store.events.append(appendOf(keys, T0 - 86_400_000));
    await markEvaluated(store);
    const order: string[] = [];
    const prune = store.events.pruneOlderThan(T0).then((n) => {
      order.push('prune');
      return n;
    });
    const append = store.events.append(appendOf(['new'])).then(() => {
      order.push('append');
    });
    await Promise.all([prune, append]);
    expect(await prune).toBe(2_500);
    expect(order).toEqual(['append', 'prune']);
    expect((await store.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual(['new']);
  });

  it('refuses a file that is not a SQLite database with HR_ERR_STORE_OPEN_FAILED', async () => {
    const path = tempPath('garbage');
    writeFileSync(path, 'this is not a database, just text long enough to have a header '.repeat(20));
    await expect(openSqliteStore(path)).rejects.toMatchObject({ code: StoreErrorCode.openFailed });
  });
});

describe('SQLite writer thread (group commit off the event loop)', () => {
  const opened: Store[] = [];
  const lockers: Database.Database[] = [];
  afterEach(async () => {
    for (const locker of lockers.splice(0)) {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    }
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  const open = async (path: string, workers: Worker[] = []): Promise<SqliteStore> => {
    const store = await openSqliteStore(path, { onWriterThread: (worker) => workers.push(worker) });
    opened.push(store);
    return store;
  };
  /** Another connection that holds the write lock, as another process would, until it is rolled back. */
  const holdWriteLock = (path: string): Database.Database => {
    const locker = new Database(path);
    lockers.push(locker);
    locker.exec('BEGIN IMMEDIATE');
    return locker;
  };
  const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('keeps the event loop running while an append batch waits for the write lock', async () => {
    const path = tempPath('loop');
    const store = await open(path);
    const locker = holdWriteLock(path);
    let settled = false;
    const append = store.events.append(appendOf(['a'])).finally(() => {
      settled = true;
    });
    // The worker waits on the lock (busy_timeout); timers still fire here, so the loop is free.
    await tick(100);
    expect(settled).toBe(false);
    locker.exec('ROLLBACK');
    expect(await append).toMatchObject({ stored: 1, duplicates: 0 });
  });

  it('sends whatever arrived during a commit as the next batch: batch size follows commit latency', async () => {
    const path = tempPath('adaptive');
    const store = await open(path);
    const locker = holdWriteLock(path);
    const first = store.events.append(appendOf(['first']));
    await tick(50);
    // 500 appends arrive, one per turn of the loop, while the first batch cannot commit.
    const later: Promise<AppendResult>[] = [];
    for (let i = 0; i < 500; i += 1) {
      later.push(store.events.append(appendOf([`later-${i}`])));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(store.stats().transactions).toBe(0);
    locker.exec('ROLLBACK');
    await first;
    const results = await Promise.all(later);
    expect(results.every((r) => r.stored === 1 && r.duplicates === 0)).toBe(true);
    // The first batch alone, then all 500 in one transaction.
    expect(store.stats()).toMatchObject({ transactions: 2, appendsCommitted: 501, itemsStored: 501 });
    const seqs = (await store.events.readAfter(0, 1_000)).map((e) => e.dedupeKey);
    expect(seqs).toEqual(['first', ...Array.from({ length: 500 }, (_, i) => `later-${i}`)]);
  });

  it('commits an evaluator step with the next batch and outbox writes between batches, never blocking', async () => {
    const path = tempPath('turns');
    const store = await open(path);
    const locker = holdWriteLock(path);
    const order: string[] = [];
    const append = store.events.append(appendOf(['a'])).then(() => order.push('append'));
    await tick(20);
    const commit = store.evaluator
      .commit({ fromCursor: 0, cursor: 0, upserts: [{ key: 'k', value: 1 }], deletes: [], notifications: [] })
      .then(() => order.push('commit'));
    const pause = store.deadLetters
      .pauseDestination('team-slack', { reason: 'bad token', at: T0 })
      .then(() => order.push('pause'));
    const next = store.events.append(appendOf(['b'])).then(() => order.push('next append'));
    await tick(50);
    expect(order).toEqual([]);
    locker.exec('ROLLBACK');
    await Promise.all([append, commit, pause, next]);
    // The outbox write ran on the main connection between the batches; the evaluator step rode with 'b'.
    expect(order.slice(0, 2)).toEqual(['append', 'pause']);
    expect(order.slice(2).sort()).toEqual(['commit', 'next append']);
    expect(store.stats().transactions).toBe(2);
    expect(await store.evaluator.load()).toEqual({ cursor: 0, state: [{ key: 'k', value: 1 }] });
    expect(await store.deadLetters.listPausedDestinations()).toMatchObject([{ destination: 'team-slack' }]);
  });

  it('isolates the parts of a shared transaction: failed appends never fail an evaluator step, nor the reverse', async () => {
    const path = tempPath('isolation');
    const store = await open(path);
    const other = new Database(path);
    lockers.push(other);
    other.exec(
      `CREATE TRIGGER fail_on_boom BEFORE INSERT ON events WHEN NEW.dedupe_key = 'boom'
       BEGIN SELECT RAISE(ABORT, 'boom rejected'); END;
       CREATE TRIGGER fail_on_bad_state BEFORE INSERT ON rule_state WHEN NEW.key = 'bad'
       BEGIN SELECT RAISE(ABORT, 'bad state rejected'); END`,
    );
    const step = (fromCursor: number, key: string) =>
      store.evaluator.commit({
        fromCursor,
        cursor: fromCursor,
        upserts: [{ key, value: 1 }],
        deletes: [],
        notifications: [],
      });

    // One batch in flight holds the next writes back, so each pair below shares one transaction.
    const locker = holdWriteLock(path);
    const first = store.events.append(appendOf(['first']));
    await tick(20);
    const boom = store.events.append(appendOf(['boom']));
    const good = step(0, 'good');
    await tick(20);
    locker.exec('ROLLBACK');
    await first;
    await expect(boom).rejects.toMatchObject({ code: StoreErrorCode.inputInvalid });
    expect(await good).toEqual({ notificationsInserted: 0 });

    locker.exec('BEGIN IMMEDIATE');
    const second = store.events.append(appendOf(['second']));
    await tick(20);
    const fine = store.events.append(appendOf(['fine']));
    const bad = step(0, 'bad');
    await tick(20);
    locker.exec('ROLLBACK');
    await second;
    expect(await fine).toMatchObject({ stored: 1 });
    await expect(bad).rejects.toMatchObject({ code: StoreErrorCode.writeFailed });

    expect((await store.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual([
      'first',
      'second',
      'fine',
    ]);
    expect(await store.evaluator.load()).toEqual({ cursor: 0, state: [{ key: 'good', value: 1 }] });
  });

  /** enqueueAll stores one notification per id for team-slack and claims them all (leased for a minute). */
  const enqueueAndClaim = async (store: Store, ids: string[]): Promise<void> => {
    await store.evaluator.commit({
      fromCursor: 0,
      cursor: 0,
      upserts: [],
      deletes: [],
      notifications: ids.map((id) => notification(id)),
    });
    const claimed = await store.outbox.claim({
      now: T0,
      leaseMs: 60_000,
      limitPerDestination: ids.length,
      destinations: ['team-slack'],
    });
    expect(claimed.map((n) => n.id)).toEqual(ids);
  };
  const deliveredAt = (at: number, detail?: string) => ({
    at,
    durationMs: 1,
    outcome: 'delivered' as const,
    ...(detail === undefined ? {} : { detail }),
  });

  it('commits outbox writes made during a commit together with the next batch, in one transaction', async () => {
    const path = tempPath('outbox-batch');
    const store = await open(path);
    const ids = Array.from({ length: 50 }, (_, i) => `n-${i}`);
    await enqueueAndClaim(store, [...ids, 'next']);
    const before = store.stats();
    const locker = holdWriteLock(path);
    const first = store.events.append(appendOf(['first']));
    await tick(20);
    // While that batch waits for the lock: 50 transitions, a claim and an append, none blocking the loop.
    const recorded = ids.map((id, i) => store.outbox.recordDelivered(id, deliveredAt(T0 + i)));
    const claim = store.outbox.claim({
      now: T0,
      leaseMs: 1,
      limitPerDestination: 10,
      destinations: ['team-slack'],
    });
    const second = store.events.append(appendOf(['second']));
    await tick(20);
    expect(store.stats().outboxWrites).toBe(before.outboxWrites);
    locker.exec('ROLLBACK');
    await first;
    expect(await Promise.all(recorded)).toEqual(ids.map(() => true));
    // Applied after the transitions made before it: 'next' is the only pending row, and still leased.
    expect(await claim).toEqual([]);
    expect(await second).toMatchObject({ stored: 1 });
    expect(store.stats()).toMatchObject({
      transactions: before.transactions + 2,
      outboxWrites: before.outboxWrites + 51,
      outboxTransactions: before.outboxTransactions + 1,
    });
    expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 1 });
  });

  it('isolates an outbox write that fails in a shared transaction: the others commit', async () => {
    const path = tempPath('outbox-isolation');
    const store = await open(path);
    await enqueueAndClaim(store, ['a', 'b']);
    const other = new Database(path);
    lockers.push(other);
    other.exec(
      `CREATE TRIGGER fail_on_boom BEFORE INSERT ON notification_attempts WHEN NEW.detail = 'boom'
       BEGIN SELECT RAISE(ABORT, 'boom rejected'); END`,
    );
    const locker = holdWriteLock(path);
    const first = store.events.append(appendOf(['first']));
    await tick(20);
    const boom = store.outbox.recordDelivered('a', deliveredAt(T0, 'boom'));
    const fine = store.outbox.recordDelivered('b', deliveredAt(T0));
    const append = store.events.append(appendOf(['second']));
    await tick(20);
    locker.exec('ROLLBACK');
    await first;
    await expect(boom).rejects.toMatchObject({ code: StoreErrorCode.writeFailed });
    expect(await fine).toBe(true);
    expect(await append).toMatchObject({ stored: 1 });
    // 'a' is untouched: still pending, and its failed attempt is not in its history.
    expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 1 });
    expect(await store.outbox.recordDelivered('a', deliveredAt(T0 + 1))).toBe(true);
  });

  it('is not writable after a failed append, even once a probe could write, until an append commits', async () => {
    const path = tempPath('readiness');
    const store = await openSqliteStore(path, { busyTimeoutMs: 50 });
    opened.push(store);
    const locker = holdWriteLock(path);
    await expect(store.events.append(appendOf(['lost']))).rejects.toMatchObject({
      code: StoreErrorCode.writeFailed,
    });
    locker.exec('ROLLBACK');
    // The lock is free and a probe write would commit, but the last append failed moments ago.
    expect(await store.checkWritable()).toBe(false);
    expect(await store.events.append(appendOf(['kept']))).toMatchObject({ stored: 1 });
    expect(await store.checkWritable()).toBe(true);
  });

  it('rejects every append with HR_ERR_STORE_WRITE_FAILED when the disk is full for all of them', async () => {
    const path = tempPath('full');
    await (await openSqliteStore(path)).close();
    const raw = new Database(path, { readonly: true });
    const pages = Number(raw.pragma('page_count', { simple: true }));
    raw.close();
    const store = await openSqliteStore(path, { maxPageCount: pages });
    opened.push(store);
    const big = (key: string): AppendInput => ({
      ...appendOf([key]),
      request: { ...appendOf([key]).request, body: Buffer.alloc(100_000, 0x7b) },
    });
    const settled = await Promise.allSettled([store.events.append(big('a')), store.events.append(big('b'))]);
    for (const s of settled) {
      expect(s).toMatchObject({ status: 'rejected', reason: { code: StoreErrorCode.writeFailed } });
      expect(((s as PromiseRejectedResult).reason as Error).message).toContain('database or disk is full');
    }
    expect(store.stats()).toMatchObject({ transactions: 0, failedTransactions: 1 });
    expect(await store.checkWritable()).toBe(false);
  });

  it('acknowledges nothing once its file is deleted: the batch that found it and every write after fail', async () => {
    const path = tempPath('deleted');
    const store = await open(path);
    expect(await store.events.append(appendOf(['before']))).toMatchObject({ stored: 1 });
    rmSync(path);
    const lost = { code: StoreErrorCode.fileLost };
    const found = await store.events.append(appendOf(['after'])).catch((error: unknown) => error);
    expect(found).toMatchObject(lost);
    expect((found as Error).message).toContain(`the database file ${path} was deleted`);
    await expect(store.events.append(appendOf(['later']))).rejects.toMatchObject(lost);
    await expect(
      store.evaluator.commit({ fromCursor: 0, cursor: 0, upserts: [], deletes: [], notifications: [] }),
    ).rejects.toMatchObject(lost);
    await expect(store.deadLetters.pauseDestination('d', { reason: 'r', at: T0 })).rejects.toMatchObject(
      lost,
    );
    expect(await store.checkWritable()).toBe(false);
  });

  it('notices a file replaced under it at the next write on the main connection (a readiness probe)', async () => {
    const path = tempPath('replaced');
    const store = await open(path);
    await store.events.append(appendOf(['before']));
    // Moved away and a copy put in its place: the path names another file now.
    renameSync(path, `${path}.moved`);
    copyFileSync(`${path}.moved`, path);
    expect(await store.checkWritable()).toBe(false);
    const failure = await store.events.append(appendOf(['after'])).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: StoreErrorCode.fileLost });
    expect((failure as Error).message).toContain('was replaced by another file');
  });

  it('fails every part of a batch at once when the database stays busy, instead of waiting again per part', async () => {
    const path = tempPath('busy');
    const store = await openSqliteStore(path, { busyTimeoutMs: 100 });
    opened.push(store);
    const ids = Array.from({ length: 20 }, (_, i) => `n-${i}`);
    await enqueueAndClaim(store, ids);
    const locker = holdWriteLock(path);
    const first = store.events.append(appendOf(['first'])).catch((error: unknown) => error);
    await tick(20);
    const parts = [
      store.events.append(appendOf(['second'])),
      ...ids.map((id) => store.outbox.recordDelivered(id, deliveredAt(T0))),
    ].map((part) => part.catch((error: unknown) => error));
    // Retried part by part (100 ms each), the parts after the first ten would find the lock free.
    await tick(1_000);
    locker.exec('ROLLBACK');
    expect(await first).toMatchObject({ code: StoreErrorCode.writeFailed });
    const results = await Promise.all(parts);
    expect(results).toEqual(results.map(() => expect.objectContaining({ code: StoreErrorCode.writeFailed })));
    expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 20 });
  });

  it('rejects the batch in flight when the writer thread dies, restarts it, and stays usable', async () => {
    const path = tempPath('worker-crash');
    const workers: Worker[] = [];
    const store = await open(path, workers);
    expect(workers).toHaveLength(1);
    const locker = holdWriteLock(path);
    const doomed = store.events.append(appendOf(['doomed']));
    await tick(50);
    const exited = workers[0]!.terminate();
    locker.exec('ROLLBACK');
    await exited;
    await expect(doomed).rejects.toMatchObject({ code: StoreErrorCode.writeFailed });
    expect(store.stats().failedTransactions).toBe(1);

    // The sender retries: stored now (or counted as a duplicate had the dead worker committed it).
    const retried = await store.events.append(appendOf(['doomed']));
    expect(retried.stored + retried.duplicates).toBe(1);
    expect(await store.events.append(appendOf(['after']))).toMatchObject({ stored: 1 });
    expect(store.stats().writerRestarts).toBe(1);
    expect(workers).toHaveLength(2);
    expect((await store.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual(['doomed', 'after']);
    expect(await store.checkWritable()).toBe(true);
  });

  it('gives up loudly after repeated crashes: appends reject at once and checkWritable says false', async () => {
    const path = tempPath('worker-broken');
    const workers: Worker[] = [];
    const store = await open(path, workers);
    for (let crash = 1; crash <= 4; crash += 1) {
      await workers[workers.length - 1]!.terminate();
      // An append waits for the restarted worker; after the fourth crash within a minute there is none.
      const result = store.events.append(appendOf([`after-crash-${crash}`]));
      if (crash <= 3) expect(await result).toMatchObject({ stored: 1 });
      else await expect(result).rejects.toMatchObject({ code: StoreErrorCode.writeFailed });
    }
    expect(store.stats().writerRestarts).toBe(3);
    await expect(store.events.append(appendOf(['x']))).rejects.toMatchObject({
      code: StoreErrorCode.writeFailed,
    });
    expect(await store.checkWritable()).toBe(false);
    // Reads still work: what was acknowledged stays visible.
    expect(await store.events.readAfter(0, 10)).toHaveLength(3);
  });

  it('closes the writer thread with the store, after committing what was pending', async () => {
    const path = tempPath('worker-close');
    const workers: Worker[] = [];
    const store = await open(path, workers);
    let exitCode: number | undefined;
    workers[0]!.once('exit', (code) => {
      exitCode = code;
    });
    const pending = store.events.append(appendOf(['p']));
    await store.close();
    expect(await pending).toMatchObject({ stored: 1 });
    expect(exitCode).toBe(0);
    const reopened = await open(path);
    expect((await reopened.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual(['p']);
  });
});

describe('SQLite migrations', () => {
  it('record the schema version in user_version', async () => {
    const path = tempPath('migrate');
    const store = await openSqliteStore(path);
    await store.close();
    const raw = new Database(path, { readonly: true });
    try {
      expect(readUserVersion(raw)).toBe(MIGRATIONS.length);
      const tables = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      expect(tables).toEqual(
        expect.arrayContaining([
          'events',
          'meta',
          'requests',
          'evaluator_cursor',
          'rule_state',
          'notifications',
          'notification_attempts',
          'paused_destinations',
        ]),
      );
    } finally {
      raw.close();
    }
  });

  it('upgrade a version-1 database in place: its log is kept and the evaluator starts at cursor 0', async () => {
    const path = tempPath('upgrade');
    const raw = new Database(path);
    expect(applyMigrations(raw, MIGRATIONS.slice(0, 1))).toBe(1);
    raw.exec(
      `INSERT INTO requests (id, source, event, received_at, body) VALUES ('r1', 'trackpilots', 'e', ${T0}, x'7b7d');
       INSERT INTO events (source, type, dedupe_key, request_id, at, received_at, item)
       VALUES ('trackpilots', 'e', 'k1', 'r1', ${T0}, ${T0}, '${JSON.stringify(item('k1'))}');`,
    );
    raw.close();
    const store = await openSqliteStore(path);
    try {
      expect(store.settings.schemaVersion).toBe(MIGRATIONS.length);
      expect((await store.events.readAfter(0, 10)).map((e) => e.dedupeKey)).toEqual(['k1']);
      expect(await store.evaluator.load()).toEqual({ cursor: 0, state: [] });
      // Not evaluated yet, so retention keeps it however old it is.
      expect(await store.events.pruneOlderThan(T0 + 1)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('refuse a database written by a newer version and leave it untouched', async () => {
    const path = tempPath('ahead');
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    const before = readFileSync(path);
    await expect(openSqliteStore(path)).rejects.toMatchObject({ code: StoreErrorCode.migrationAhead });
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('run only the steps a database has not run, each once', () => {
    const db = new Database(':memory:');
    try {
      const steps: Migration[] = [
        { name: 'one', sql: 'CREATE TABLE one (x INTEGER)' },
        { name: 'two', sql: 'CREATE TABLE two (x INTEGER)' },
      ];
      expect(applyMigrations(db, steps.slice(0, 1))).toBe(1);
      expect(applyMigrations(db, steps)).toBe(2);
      expect(applyMigrations(db, steps)).toBe(2);
      expect(() => applyMigrations(db, steps.slice(0, 1))).toThrow(
        expect.objectContaining({ code: StoreErrorCode.migrationAhead }),
      );
    } finally {
      db.close();
    }
  });

  it('roll a failed step back whole and keep the version', () => {
    const db = new Database(':memory:');
    try {
      const steps: Migration[] = [
        { name: 'one', sql: 'CREATE TABLE one (x INTEGER)' },
        { name: 'broken', sql: 'CREATE TABLE half (x INTEGER); CREATE TABLE one (x INTEGER);' },
      ];
      expect(() => applyMigrations(db, steps)).toThrow(
        expect.objectContaining({ code: StoreErrorCode.migrationFailed }),
      );
      expect(readUserVersion(db)).toBe(1);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });
});

describe('openStore and the database URL', () => {
  const cwd = '/srv/hookrelay';
  it.each([
    ['sqlite:./data/hookrelay.db', '/srv/hookrelay/data/hookrelay.db'],
    ['sqlite:data/x.db', '/srv/hookrelay/data/x.db'],
    ['sqlite:/var/lib/hookrelay.db', '/var/lib/hookrelay.db'],
    ['sqlite:///var/lib/hookrelay.db', '/var/lib/hookrelay.db'],
    ['SQLITE:/var/lib/hookrelay.db', '/var/lib/hookrelay.db'],
    ['sqlite::memory:', ':memory:'],
    [':memory:', ':memory:'],
    ['./data/hookrelay.db', '/srv/hookrelay/data/hookrelay.db'],
    ['/abs/hookrelay.db', '/abs/hookrelay.db'],
    ['  sqlite:/padded.db  ', '/padded.db'],
  ])('%s → sqlite %s', (url, path) => {
    expect(parseDatabaseUrl(url, cwd)).toEqual({ engine: 'sqlite', path });
  });

  it.each(['postgres://hookrelay:pw@db/hookrelay', 'postgresql://db/hookrelay'])('%s → postgres', (url) => {
    expect(parseDatabaseUrl(url, cwd)).toEqual({ engine: 'postgres', url });
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['sqlite:', 'no file path'],
    ['mysql://root:hunter2-secret@db/x', 'unsupported database URL scheme "mysql:"'],
    ['sqlite://admin:hunter2-secret@host/x.db', 'must not name a host'],
    ['file:/tmp/x.db', 'unsupported database URL scheme "file:"'],
  ])('%j is refused with HR_ERR_STORE_URL_INVALID naming the accepted forms', (url, fragment) => {
    let caught: unknown;
    try {
      parseDatabaseUrl(url, cwd);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: StoreErrorCode.urlInvalid });
    const message = (caught as Error).message;
    expect(message).toContain(fragment);
    expect(message).toContain('sqlite::memory:');
    expect(message).not.toContain('hunter2-secret');
  });

  it('hands a PostgreSQL URL to that engine: one it cannot reach fails to open, never echoing its password', async () => {
    // Port 1 on this machine refuses at once: the engine was selected and tried to connect.
    const url = 'postgres://hookrelay:s3cr3t-Pa55@127.0.0.1:1/hookrelay?sslmode=disable';
    let caught: unknown;
    try {
      await openStore(url);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: StoreErrorCode.openFailed });
    expect((caught as Error).message).toMatch(/cannot open the PostgreSQL database/);
    const everything = `${String(caught)} ${JSON.stringify(caught)} ${(caught as Error).stack}`;
    expect(everything).not.toContain('s3cr3t-Pa55');
    await expect(openStore('postgresql://u:s3cr3t-Pa55@127.0.0.1:1/d')).rejects.toMatchObject({
      code: StoreErrorCode.openFailed,
    });
  });

  it('opens a SQLite store from a URL, relative to the given cwd', async () => {
    const memory = await openStore('sqlite::memory:');
    expect(memory.engine).toBe('sqlite');
    expect(await memory.events.append(appendOf(['a']))).toMatchObject({ stored: 1 });
    await memory.close();

    const file = await openStore('sqlite:./url/hookrelay.db', { cwd: dir });
    await file.close();
    expect(existsSync(join(dir, 'url', 'hookrelay.db'))).toBe(true);
  });

  it('defaults to HOOKRELAY_DB, else sqlite:./data/hookrelay.db', () => {
    expect(DEFAULT_DATABASE_URL).toBe('sqlite:./data/hookrelay.db');
    expect(defaultDatabaseUrl({})).toBe('sqlite:./data/hookrelay.db');
    expect(defaultDatabaseUrl({ HOOKRELAY_DB: '  ' })).toBe('sqlite:./data/hookrelay.db');
    expect(defaultDatabaseUrl({ HOOKRELAY_DB: 'sqlite:/x.db' })).toBe('sqlite:/x.db');
  });
});

const CRASH_SCRIPT = fileURLToPath(new URL('../testdata/crash-mid-commit.mjs', import.meta.url));

function notification(id: string, eventSeq?: number): NewNotification {
  return {
    id,
    destination: 'team-slack',
    alert: {
      id,
      rule: 'r',
      status: 'firing',
      severity: 'warning',
      title: id,
      text: id,
      key: 'k',
      at: T0,
      simulation: false,
    },
    createdAt: T0,
    dueAt: T0,
    ...(eventSeq === undefined ? {} : { eventSeq }),
  };
}

/** The evaluator step for one item: a counter in the state and one notification per item. */
function stepFor(fromCursor: number, seq: number, count: number): EvaluatorCommitInput {
  return {
    fromCursor,
    cursor: seq,
    upserts: [{ key: 'count', value: count }],
    deletes: [],
    notifications: [notification(`n-${seq}`, seq)],
  };
}

/** Runs the crash script on `path` and resolves with what it printed and how it ended. */
function crashMidCommit(path: string): Promise<{ signal: string | null; report: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CRASH_SCRIPT, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let report = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      report += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (errors) reject(new Error(`the crash script failed: ${errors}`));
      else resolve({ signal, report });
    });
  });
}

function copyWithoutClosing(path: string, copy: string): void {
  copyFileSync(path, copy);
  if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
}

describe('SQLite evaluator commits and the outbox', () => {
  const opened: Store[] = [];
  const open = async (path: string): Promise<SqliteStore> => {
    const store = await openSqliteStore(path);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  it('keeps a committed evaluation across a crash; one killed before COMMIT leaves no trace', async () => {
    const path = tempPath('eval-crash');
    const store = await open(path);
    await store.events.append(appendOf(['a', 'b']));
    const [a, b] = await store.events.readAfter(0, 10);
    expect(await store.evaluator.commit(stepFor(0, a!.seq, 1))).toEqual({ notificationsInserted: 1 });
    const committed = await store.evaluator.load();

    // Durable at resolve: the files as a crash right now would leave them hold the step.
    const copy = tempPath('eval-crash-copy');
    copyWithoutClosing(path, copy);
    const afterCrash = await open(copy);
    expect(await afterCrash.evaluator.load()).toEqual(committed);
    expect(await afterCrash.outbox.pendingCounts()).toEqual({ 'team-slack': 1 });

    // Another writer dies mid-step, after its uncommitted pages reached the WAL file.
    const walBefore = statSync(`${path}-wal`).size;
    const { signal, report } = await crashMidCommit(path);
    expect(signal).toBe('SIGKILL');
    const printed = JSON.parse(report) as { inTransaction: boolean; walBytes: number };
    expect(printed.inTransaction).toBe(true);
    expect(printed.walBytes).toBeGreaterThan(walBefore + 1_000_000);

    // Restart (a new connection on the same files) and the still-open store both see only the commit.
    const restarted = await open(path);
    for (const view of [restarted, store]) {
      expect(await view.evaluator.load()).toEqual(committed);
      expect(await view.outbox.pendingCounts()).toEqual({ 'team-slack': 1 });
    }
    // The step the crash lost is simply evaluated again from the stored cursor: the outcome is that of an
    // uninterrupted run, and the write lock the dead process held is free.
    expect(await restarted.evaluator.commit(stepFor(a!.seq, b!.seq, 2))).toEqual({
      notificationsInserted: 1,
    });
    expect(await store.evaluator.load()).toEqual({ cursor: b!.seq, state: [{ key: 'count', value: 2 }] });
    const claimed = await store.outbox.claim({
      now: T0,
      leaseMs: 1_000,
      limitPerDestination: 10,
      destinations: ['team-slack'],
    });
    expect(claimed.map((n) => [n.id, n.eventSeq])).toEqual([
      [`n-${a!.seq}`, a!.seq],
      [`n-${b!.seq}`, b!.seq],
    ]);
  });

  it('rolls a commit back whole when a statement in it fails (HR_ERR_STORE_WRITE_FAILED) and stays usable', async () => {
    const path = tempPath('eval-fail');
    const store = await open(path);
    await store.evaluator.commit({
      fromCursor: 0,
      cursor: 0,
      upserts: [{ key: 'kept', value: 'before' }],
      deletes: [],
      notifications: [],
    });
    let wakes = 0;
    store.outbox.onEnqueue(() => {
      wakes += 1;
    });
    const other = new Database(path);
    other.exec(
      `CREATE TRIGGER fail_on_boom BEFORE INSERT ON notifications WHEN NEW.id = 'boom'
       BEGIN SELECT RAISE(ABORT, 'boom rejected'); END`,
    );
    const step: EvaluatorCommitInput = {
      fromCursor: 0,
      cursor: 3,
      upserts: [{ key: 'new', value: 1 }],
      deletes: ['kept'],
      notifications: [notification('ok'), notification('boom')],
    };
    const failure = await store.evaluator.commit(step).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: StoreErrorCode.writeFailed });
    expect(((failure as Error).cause as Error).message).toContain('boom rejected');
    expect(await store.evaluator.load()).toEqual({ cursor: 0, state: [{ key: 'kept', value: 'before' }] });
    expect(await store.outbox.pendingCounts()).toEqual({});
    expect(wakes).toBe(0);

    other.exec('DROP TRIGGER fail_on_boom');
    other.close();
    expect(await store.evaluator.commit(step)).toEqual({ notificationsInserted: 2 });
    expect(wakes).toBe(1);
    expect(await store.events.append(appendOf(['after']))).toMatchObject({ stored: 1 });
  });

  it('shows a pause, resume or replay made by another process at the next claim', async () => {
    const path = tempPath('two-processes');
    const server = await open(path);
    // The CLI (`hookrelay dlq replay`) opens its own connection to the same file.
    const cli = await open(path);
    await server.evaluator.commit({
      fromCursor: 0,
      cursor: 0,
      upserts: [],
      deletes: [],
      notifications: [notification('n1'), notification('n2')],
    });
    const claim = (now: number) =>
      server.outbox.claim({ now, leaseMs: 1_000, limitPerDestination: 10, destinations: ['team-slack'] });
    expect((await claim(T0)).map((n) => n.id)).toEqual(['n1', 'n2']);
    await server.outbox.deadLetter('n1', {
      reason: 'channel_not_found',
      attempt: { at: T0, durationMs: 5, outcome: 'broken', reason: 'clientError' },
    });
    await server.deadLetters.pauseDestination('team-slack', { reason: 'channel_not_found', at: T0 });
    await server.outbox.scheduleRetry('n2', {
      dueAt: T0,
      attempt: { at: T0, durationMs: 5, outcome: 'broken', reason: 'clientError' },
    });

    expect(await cli.deadLetters.listPausedDestinations()).toEqual([
      { destination: 'team-slack', reason: 'channel_not_found', pausedAt: T0 },
    ]);
    expect((await cli.deadLetters.listDead({ limit: 10 })).map((d) => d.notification.id)).toEqual(['n1']);
    expect(await claim(T0 + 5_000)).toEqual([]);

    expect(await cli.deadLetters.replayDead({ destination: 'team-slack', now: T0 + 10_000 })).toBe(1);
    expect((await claim(T0 + 10_000)).map((n) => [n.id, n.attempts])).toEqual([
      ['n1', 1],
      ['n2', 2],
    ]);
  });
});
