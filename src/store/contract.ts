import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../domain/alert.js';
import type { AppendInput, NewEvent, StoredEvent } from '../domain/event.js';
import type { Item } from '../domain/item.js';
import { StoreErrorCode } from './errors.js';
import type {
  AttemptRecord,
  ClaimedNotification,
  DeadQuery,
  EvaluatorCommitInput,
  NewNotification,
  StateEntry,
  Store,
} from './ports.js';

/*
 * The store conformance suite: one `describe…Contract` per port, each called by every engine's tests with
 * a factory for a fresh store. It is test code that ships in src/ so that each engine's folder can run
 * it; it is long because it is a list of promises (one `it` per sentence of ports.ts), kept in one file so
 * that the helpers below (items, notifications, attempts) are written once for every port.
 */

/** A fixed reference time (Monday 2026-01-05 09:00 UTC) so tests never depend on the wall clock. */
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const HOUR = 3_600_000;
const APP_EVENT = 'desktop.app_tracking.captured';
const SHOT_EVENT = 'desktop.screenshot_tracking.captured';

/** An item with every field the domain defines set, so a field the engine drops shows up as a diff. */
function fullItem(overrides: Partial<Item> = {}): Item {
  return {
    source: 'trackpilots',
    event: SHOT_EVENT,
    id: 'shot-1',
    at: T0 - 60_000,
    receivedAt: T0,
    envelopeAt: T0 - 1_000,
    simulation: false,
    user: 'user-ada',
    team: 'team-1',
    org: 'org-1',
    app: {
      name: 'Figma',
      type: 'application',
      category: 'Design',
      domain: 'figma.com',
      fullUrl: 'https://figma.com/file/x?y=1&z=ü',
      iconUrl: 'https://cdn.example.com/figma.png',
      productivityStatus: 'productive',
    },
    time: { startDate: '2026-01-05T08:59:00Z', endDate: '2026-01-05T09:00:00Z', durationInSeconds: 60 },
    screenshot: { id: 'shot-1', isIdle: true, image: { kind: 'bytes', mime: 'image/png', size: 70_000 } },
    activity: { workMode: 'remote', keyboard: 12, nested: { list: [1, 'two', null, true] } },
    operatingSystem: 'macOS 15',
    workType: 'deep',
    trackingMode: 'automatic',
    raw: { screenshotId: 'shot-1', image: '<70000 bytes>', emoji: '🙂', zero: 0, empty: '' },
    ...overrides,
  };
}

function appItem(id: string, overrides: Partial<Item> = {}): Item {
  return {
    source: 'trackpilots',
    event: APP_EVENT,
    id,
    at: T0,
    receivedAt: T0,
    simulation: false,
    user: 'user-ada',
    raw: { trackingId: id },
    ...overrides,
  };
}

function request(source = 'trackpilots', receivedAt = T0, event = APP_EVENT): AppendInput['request'] {
  return { source, event, receivedAt, body: Buffer.from(JSON.stringify({ event, source, receivedAt })) };
}

/** One append of app items keyed `keys` (the key is also the item id, so tests can tell rows apart). */
function appendOf(
  keys: string[],
  options: { source?: string; event?: string; receivedAt?: number } = {},
): AppendInput {
  const source = options.source ?? 'trackpilots';
  const receivedAt = options.receivedAt ?? T0;
  const events: NewEvent[] = keys.map((key) => ({
    dedupeKey: key,
    item: appItem(key, { source, receivedAt, ...(options.event ? { event: options.event } : {}) }),
  }));
  return { request: request(source, receivedAt, options.event), events };
}

/**
 * markEvaluated moves the evaluator cursor to the newest stored item, as a running evaluator would; the
 * event log never prunes an item the evaluator has not passed.
 */
export async function markEvaluated(store: Store): Promise<number> {
  const { cursor } = await store.evaluator.load();
  const newest = (await store.events.list({ limit: 1 }))[0]?.seq ?? cursor;
  const to = Math.max(cursor, newest);
  await store.evaluator.commit({
    fromCursor: cursor,
    cursor: to,
    upserts: [],
    deletes: [],
    notifications: [],
  });
  return to;
}

async function readAll(store: Store): Promise<StoredEvent[]> {
  return store.events.readAfter(0, 1_000_000);
}

function imageBytes(size: number): Buffer {
  // Every byte value, including 0x00 and 0xff, so text handling of a BLOB would corrupt it visibly.
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + 7) % 256;
  return bytes;
}

/**
 * describeEventLogContract registers the one vitest suite every store engine must pass. `makeStore`
 * returns a new, empty store each call; the suite closes every store it opened. It never assumes an
 * engine's internals (batch sizes, seq gaps), only what the EventLog port promises.
 */
export function describeEventLogContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`EventLog contract: ${name}`, () => {
    const opened: Store[] = [];
    const open = async (): Promise<Store> => {
      const store = await makeStore();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    it('round-trips every item field; image bytes come back from readAfter but never from list', async () => {
      const store = await open();
      const image = imageBytes(70_000);
      const shot = fullItem({ person: { id: 'user-ada', name: 'Ada Lovelace' } });
      const app = appItem('app-1', { at: T0 + 1 });
      const result = await store.events.append({
        request: request('trackpilots', T0, SHOT_EVENT),
        events: [
          { dedupeKey: 'shot-1', item: shot, image },
          { dedupeKey: 'app-1', item: app },
        ],
      });
      expect(result).toEqual({ requestId: expect.any(String), stored: 2, duplicates: 0 });

      const { person: _person, ...shotWithoutPerson } = shot;
      const listed = await store.events.list({ limit: 10 });
      expect(listed.map((e) => e.dedupeKey)).toEqual(['app-1', 'shot-1']);
      expect(listed[1]).toEqual({
        seq: expect.any(Number),
        requestId: result.requestId,
        dedupeKey: 'shot-1',
        item: shotWithoutPerson,
      });
      expect(listed[1]?.item).not.toHaveProperty('person');
      for (const event of listed) expect(event.image).toBeUndefined();

      const read = await store.events.readAfter(0, 10);
      expect(read.map((e) => e.dedupeKey)).toEqual(['shot-1', 'app-1']);
      expect(read[0]?.item).toEqual(shotWithoutPerson);
      expect(read[0]?.image?.equals(image)).toBe(true);
      expect(read[1]?.item).toEqual(app);
      expect(read[1]?.image).toBeUndefined();

      const withoutImages = await store.events.readAfter(0, 10, { images: false });
      expect(withoutImages.map((e) => e.item)).toEqual([shotWithoutPerson, app]);
      for (const event of withoutImages) expect(event.image).toBeUndefined();
    });

    it('counts an item whose source and key are already stored as a duplicate across calls', async () => {
      const store = await open();
      expect(await store.events.append(appendOf(['a', 'b']))).toMatchObject({ stored: 2, duplicates: 0 });
      expect(await store.events.append(appendOf(['b', 'c']))).toMatchObject({ stored: 1, duplicates: 1 });
      expect((await readAll(store)).map((e) => e.dedupeKey)).toEqual(['a', 'b', 'c']);
    });

    it('dedupes the same key twice in one append, keeping the first', async () => {
      const store = await open();
      const input: AppendInput = {
        request: request(),
        events: [
          { dedupeKey: 'k', item: appItem('first') },
          { dedupeKey: 'k', item: appItem('second') },
          { dedupeKey: 'other', item: appItem('third') },
        ],
      };
      expect(await store.events.append(input)).toMatchObject({ stored: 2, duplicates: 1 });
      expect((await readAll(store)).map((e) => e.item.id)).toEqual(['first', 'third']);
    });

    it('dedupes the same key in two concurrent appends: exactly one stores it', async () => {
      const store = await open();
      const [first, second] = await Promise.all([
        store.events.append(appendOf(['x'])),
        store.events.append(appendOf(['x'])),
      ]);
      expect(first!.stored + second!.stored).toBe(1);
      expect(first!.duplicates + second!.duplicates).toBe(1);
      const all = await readAll(store);
      expect(all).toHaveLength(1);
      const winner = first!.stored === 1 ? first! : second!;
      expect(all[0]?.requestId).toBe(winner.requestId);
    });

    it('does not treat the same key under a different source as a duplicate', async () => {
      const store = await open();
      await store.events.append(appendOf(['k'], { source: 'trackpilots' }));
      expect(await store.events.append(appendOf(['k'], { source: 'other' }))).toMatchObject({
        stored: 1,
        duplicates: 0,
      });
      expect((await readAll(store)).map((e) => e.item.source)).toEqual(['trackpilots', 'other']);
    });

    it('gives each of many concurrent appends its own correct result', async () => {
      const store = await open();
      await store.events.append(appendOf(['seen-0', 'seen-1', 'seen-2']));
      // Append i carries i fresh keys and (i % 4) keys stored earlier, so every result differs.
      const inputs = Array.from({ length: 30 }, (_, i) =>
        appendOf([
          ...Array.from({ length: i }, (_, j) => `fresh-${i}-${j}`),
          ...Array.from({ length: i % 4 }, (_, j) => `seen-${j % 3}`),
        ]),
      );
      const results = await Promise.all(inputs.map((input) => store.events.append(input)));
      results.forEach((result, i) => {
        expect(result).toEqual({ requestId: expect.any(String), stored: i, duplicates: i % 4 });
      });
      expect(new Set(results.map((r) => r.requestId)).size).toBe(30);
      const all = await readAll(store);
      for (const [i, result] of results.entries()) {
        const mine = all.filter((e) => e.requestId === result.requestId);
        expect(mine.map((e) => e.dedupeKey).sort()).toEqual(
          Array.from({ length: i }, (_, j) => `fresh-${i}-${j}`).sort(),
        );
      }
    });

    it('hands out strictly increasing seqs in commit order, and in item order within an append', async () => {
      const store = await open();
      const first = await store.events.append(appendOf(['a1', 'a2', 'a3']));
      const second = await store.events.append(appendOf(['b1', 'b2', 'b3']));
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.events.append(appendOf([`c${i}-1`, `c${i}-2`]))),
      );
      const all = await readAll(store);
      expect(all).toHaveLength(26);
      for (let i = 1; i < all.length; i += 1) expect(all[i]!.seq).toBeGreaterThan(all[i - 1]!.seq);
      const seqsOf = (requestId: string) => all.filter((e) => e.requestId === requestId).map((e) => e.seq);
      expect(all.slice(0, 3).map((e) => e.dedupeKey)).toEqual(['a1', 'a2', 'a3']);
      expect(Math.min(...seqsOf(second.requestId))).toBeGreaterThan(Math.max(...seqsOf(first.requestId)));
      for (let i = 0; i < 10; i += 1) {
        const pair = all.filter((e) => e.dedupeKey.startsWith(`c${i}-`)).map((e) => e.dedupeKey);
        expect(pair).toEqual([`c${i}-1`, `c${i}-2`]);
      }
    });

    it('pages through the log with readAfter', async () => {
      const store = await open();
      await store.events.append(
        appendOf(Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`)),
      );
      const pages: StoredEvent[][] = [];
      let cursor = 0;
      for (;;) {
        const page = await store.events.readAfter(cursor, 10);
        pages.push(page);
        if (page.length === 0) break;
        cursor = page[page.length - 1]!.seq;
      }
      expect(pages.map((p) => p.length)).toEqual([10, 10, 5, 0]);
      const keys = pages.flat().map((e) => e.dedupeKey);
      expect(keys).toEqual(Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`));
      expect(await store.events.readAfter(0, 0)).toEqual([]);
      const newestFirst = await store.events.list({ limit: 100 });
      expect(newestFirst.map((e) => e.dedupeKey)).toEqual([...keys].reverse());
    });

    it('lists newest first, filtered by source, type, or both, never more than the limit', async () => {
      const store = await open();
      await store.events.append(
        appendOf(['tp-app-1', 'tp-app-2'], { source: 'trackpilots', event: APP_EVENT }),
      );
      await store.events.append(appendOf(['tp-shot-1'], { source: 'trackpilots', event: SHOT_EVENT }));
      await store.events.append(appendOf(['gh-app-1'], { source: 'github', event: APP_EVENT }));
      await store.events.append(appendOf(['gh-push-1'], { source: 'github', event: 'push' }));
      const keys = async (query: { limit: number; source?: string; type?: string }) =>
        (await store.events.list(query)).map((e) => e.dedupeKey);

      expect(await keys({ limit: 10 })).toEqual([
        'gh-push-1',
        'gh-app-1',
        'tp-shot-1',
        'tp-app-2',
        'tp-app-1',
      ]);
      expect(await keys({ limit: 2 })).toEqual(['gh-push-1', 'gh-app-1']);
      expect(await keys({ limit: 10, source: 'trackpilots' })).toEqual(['tp-shot-1', 'tp-app-2', 'tp-app-1']);
      expect(await keys({ limit: 10, type: APP_EVENT })).toEqual(['gh-app-1', 'tp-app-2', 'tp-app-1']);
      expect(await keys({ limit: 10, source: 'github', type: APP_EVENT })).toEqual(['gh-app-1']);
      expect(await keys({ limit: 10, source: 'nobody' })).toEqual([]);
      expect(await keys({ limit: 0 })).toEqual([]);
      await expect(store.events.list({ limit: -1 })).rejects.toMatchObject({
        code: StoreErrorCode.inputInvalid,
      });
    });

    it('returns a stored request with its body bytes; undefined for unknown ids and requests that stored nothing', async () => {
      const store = await open();
      const body = Buffer.concat([Buffer.from('{"data":['), imageBytes(300), Buffer.from(']}')]);
      const input: AppendInput = { request: { ...request(), body }, events: appendOf(['r1']).events };
      const stored = await store.events.append(input);
      expect(await store.events.getRequest(stored.requestId)).toEqual({
        id: stored.requestId,
        source: 'trackpilots',
        event: APP_EVENT,
        receivedAt: T0,
        body,
      });
      expect((await store.events.getRequest(stored.requestId))?.body.equals(body)).toBe(true);

      const retry = await store.events.append(appendOf(['r1']));
      expect(retry).toMatchObject({ stored: 0, duplicates: 1 });
      expect(retry.requestId).not.toBe(stored.requestId);
      expect(await store.events.getRequest(retry.requestId)).toBeUndefined();

      const empty = await store.events.append(appendOf([]));
      expect(empty).toMatchObject({ stored: 0, duplicates: 0 });
      expect(await store.events.getRequest(empty.requestId)).toBeUndefined();
      expect(await store.events.getRequest('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    });

    it('prunes items and requests received before the cutoff, and nothing newer', async () => {
      const store = await open();
      const old = await store.events.append(appendOf(['o1', 'o2', 'o3'], { receivedAt: T0 - 2 * HOUR }));
      const edge = await store.events.append(appendOf(['e1', 'e2'], { receivedAt: T0 - HOUR }));
      const fresh = await store.events.append(appendOf(['f1'], { receivedAt: T0 }));
      await markEvaluated(store);

      expect(await store.events.pruneOlderThan(T0 - HOUR)).toBe(3);
      expect((await readAll(store)).map((e) => e.dedupeKey)).toEqual(['e1', 'e2', 'f1']);
      expect(await store.events.getRequest(old.requestId)).toBeUndefined();
      // "Before the cutoff" is strict: a request received exactly at the cutoff stays.
      expect(await store.events.getRequest(edge.requestId)).toBeDefined();
      expect(await store.events.getRequest(fresh.requestId)).toBeDefined();
      expect(await store.events.pruneOlderThan(T0 - HOUR)).toBe(0);

      // A pruned key may be stored again: it is new to the log now.
      expect(await store.events.append(appendOf(['o1']))).toMatchObject({ stored: 1 });
      const afterPrune = await readAll(store);
      expect(afterPrune[afterPrune.length - 1]!.seq).toBeGreaterThan(afterPrune[afterPrune.length - 2]!.seq);
    });

    it('calls onAppend once per commit that stored items, after the items are readable', async () => {
      const store = await open();
      const seen: Promise<StoredEvent[]>[] = [];
      const unsubscribe = store.events.onAppend(() => {
        seen.push(store.events.readAfter(0, 100));
      });
      await store.events.append(appendOf(['a']));
      expect(seen).toHaveLength(1);
      expect((await seen[0]!).map((e) => e.dedupeKey)).toEqual(['a']);

      await store.events.append(appendOf(['a']));
      await store.events.append(appendOf([]));
      expect(seen).toHaveLength(1);

      await Promise.all([store.events.append(appendOf(['b'])), store.events.append(appendOf(['c']))]);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen.length).toBeLessThanOrEqual(3);

      unsubscribe();
      const before = seen.length;
      await store.events.append(appendOf(['d']));
      expect(seen).toHaveLength(before);
    });

    it('keeps appending when an onAppend listener throws', async () => {
      const store = await open();
      let calls = 0;
      store.events.onAppend(() => {
        calls += 1;
        throw new Error('listener bug');
      });
      expect(await store.events.append(appendOf(['a']))).toMatchObject({ stored: 1 });
      expect(await store.events.append(appendOf(['b']))).toMatchObject({ stored: 1 });
      expect(calls).toBe(2);
    });

    it('rejects an invalid append alone; appends made in the same tick still commit', async () => {
      const store = await open();
      const bigint = appendOf(['bad-json']);
      bigint.events[0]!.item.raw = { big: 10n };
      const nanTime = appendOf(['bad-at']);
      nanTime.events[0]!.item.at = Number.NaN;
      const emptyKey = appendOf(['']);
      const settled = await Promise.allSettled([
        store.events.append(appendOf(['good-1'])),
        store.events.append(bigint),
        store.events.append(nanTime),
        store.events.append(emptyKey),
        store.events.append(appendOf(['good-2'])),
      ]);
      expect(settled.map((s) => s.status)).toEqual([
        'fulfilled',
        'rejected',
        'rejected',
        'rejected',
        'fulfilled',
      ]);
      for (const s of settled.slice(1, 4)) {
        expect(s).toMatchObject({ reason: { code: StoreErrorCode.inputInvalid } });
      }
      expect((await readAll(store)).map((e) => e.dedupeKey)).toEqual(['good-1', 'good-2']);
    });

    it('rejects an append with an out-of-range time alone; the 19 others of its group commit are stored', async () => {
      const store = await open();
      // 1e19 ms is finite, so nothing upstream need have caught it, but no engine's integer column holds it.
      const hostile = appendOf(['hostile']);
      hostile.events[0]!.item.at = 1e19;
      const keys = Array.from({ length: 20 }, (_, i) => `innocent-${i}`);
      const settled = await Promise.allSettled(
        keys.map((key, i) => store.events.append(i === 7 ? hostile : appendOf([key]))),
      );
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(19);
      expect(settled[7]).toMatchObject({ status: 'rejected', reason: { code: StoreErrorCode.inputInvalid } });
      expect((await readAll(store)).map((e) => e.dedupeKey)).toEqual(keys.filter((_, i) => i !== 7));
      expect(await store.checkWritable()).toBe(true);
    });

    it('close commits appends still pending before it releases the database', async () => {
      const store = await open();
      const pending = [store.events.append(appendOf(['p1', 'p2'])), store.events.append(appendOf(['p3']))];
      await store.close();
      expect(await Promise.all(pending)).toEqual([
        { requestId: expect.any(String), stored: 2, duplicates: 0 },
        { requestId: expect.any(String), stored: 1, duplicates: 0 },
      ]);
    });

    it('rejects every call after close with HR_ERR_STORE_CLOSED; checkWritable says false', async () => {
      const store = await open();
      expect(await store.checkWritable()).toBe(true);
      await store.close();
      const closed = { code: StoreErrorCode.closed };
      await expect(store.events.append(appendOf(['late']))).rejects.toMatchObject(closed);
      await expect(store.events.list({ limit: 1 })).rejects.toMatchObject(closed);
      await expect(store.events.readAfter(0, 1)).rejects.toMatchObject(closed);
      await expect(store.events.getRequest('x')).rejects.toMatchObject(closed);
      await expect(store.events.pruneOlderThan(T0)).rejects.toMatchObject(closed);
      expect(await store.checkWritable()).toBe(false);
      await expect(store.close()).resolves.toBeUndefined();
    });

    it('reports a fresh store as writable', async () => {
      const store = await open();
      expect(await store.checkWritable()).toBe(true);
      expect(await store.checkWritable()).toBe(true);
    });
  });
}

const MINUTE = 60_000;

/** An alert with every required field set; `id` doubles as the notification id in these suites. */
function alertOf(id: string, overrides: Partial<Alert> = {}): Alert {
  return {
    id,
    rule: 'idle-screens',
    status: 'firing',
    severity: 'warning',
    title: `Alert ${id}`,
    text: 'three idle screenshots <!channel> & "quotes" 🙂',
    key: 'user-ada',
    user: 'user-ada',
    event: SHOT_EVENT,
    at: T0,
    simulation: false,
    ...overrides,
  };
}

/** A notification due at T0, created at T0 unless told otherwise. */
export function notificationOf(
  id: string,
  destination = 'team-slack',
  overrides: Partial<NewNotification> = {},
): NewNotification {
  return { id, destination, alert: alertOf(id), createdAt: T0, dueAt: T0, ...overrides };
}

/** enqueue commits notifications as an evaluation step that reads nothing (cursor unchanged). */
export async function enqueue(store: Store, notifications: NewNotification[]): Promise<number> {
  const { cursor } = await store.evaluator.load();
  const result = await store.evaluator.commit({
    fromCursor: cursor,
    cursor,
    upserts: [],
    deletes: [],
    notifications,
  });
  return result.notificationsInserted;
}

const claimQuery = (now: number, destinations: string[], limitPerDestination = 10, leaseMs = MINUTE) => ({
  now,
  leaseMs,
  limitPerDestination,
  destinations,
});

const ids = (claimed: ClaimedNotification[]): string[] => claimed.map((n) => n.id);

const delivered = (at: number): AttemptRecord => ({ at, durationMs: 120, outcome: 'delivered' });
const retry = (at: number, reason = 'serverError'): AttemptRecord => ({
  at,
  durationMs: 80,
  outcome: 'retry',
  reason,
  detail: 'HTTP 503 Service Unavailable',
});
const dead = (at: number): AttemptRecord => ({
  at,
  durationMs: 40,
  outcome: 'dead',
  reason: 'payloadRejected',
  detail: 'HTTP 400 invalid_blocks',
});

/** Opens stores from `makeStore` and closes all of them after each test. */
function openedStores(makeStore: () => Promise<Store>): () => Promise<Store> {
  const opened: Store[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  return async () => {
    const store = await makeStore();
    opened.push(store);
    return store;
  };
}

/**
 * describeEvaluatorContract registers the suite for the EvaluatorStore port: the cursor, rule state and new
 * notifications are written in one transaction, guarded by the cursor. `makeStore` returns a new, empty
 * store each call; the suite closes every store it opened.
 */
export function describeEvaluatorContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`EvaluatorStore contract: ${name}`, () => {
    const open = openedStores(makeStore);

    it('starts a fresh database at cursor 0 with no state', async () => {
      const store = await open();
      expect(await store.evaluator.load()).toEqual({ cursor: 0, state: [] });
      expect(await store.evaluator.cursor()).toBe(0);
      expect(await store.outbox.pendingCounts()).toEqual({});
    });

    // The fence (EvaluatorCommitInput.fence) is the one promise the engines keep differently, on purpose:
    // SQLite has one relay process per file, so there is no other leader to fence off and it ignores the
    // fence; an engine shared by several instances (PostgreSQL) refuses a commit whose fence does not hold.
    it('fence: SQLite ignores it; a shared engine commits only while the lease and term hold', async () => {
      const store = await open();
      await store.events.append(appendOf(['a']));
      const [first] = await readAll(store);
      const stale = {
        fromCursor: 0,
        cursor: first!.seq,
        upserts: [{ key: 'k', value: 1 }],
        deletes: [],
        notifications: [notificationOf('fenced')],
        fence: { lease: 'evaluator', holder: 'nobody', term: 1 },
      };
      if (store.engine === 'sqlite') {
        expect(await store.evaluator.commit(stale)).toEqual({ notificationsInserted: 1 });
        return;
      }
      // No lease row at all: fenced.
      await expect(store.evaluator.commit(stale)).rejects.toMatchObject({ code: StoreErrorCode.fenced });
      expect(await store.evaluator.load()).toEqual({ cursor: 0, state: [] });
      expect(await store.outbox.pendingCounts()).toEqual({});
    });

    it('commits state, notifications and the cursor together, and load reads them back', async () => {
      const store = await open();
      await store.events.append(appendOf(['a', 'b', 'c']));
      const [first, , third] = await readAll(store);
      const values: StateEntry[] = [
        { key: 'window:unproductive-hour:user-ada', value: { sum: 1830, items: [[T0, 60]] } },
        { key: 'cooldown:idle-screens:user-ada', value: T0 + 2 * HOUR },
        { key: 'absent:went-quiet:user-bob', value: null },
        { key: 'digest:flag', value: true },
        { key: 'text', value: 'ünïcode "quoted" \n newline' },
        { key: 'list', value: [1, 'two', { three: 3 }] },
      ];
      const result = await store.evaluator.commit({
        fromCursor: 0,
        cursor: third!.seq,
        upserts: values,
        deletes: [],
        notifications: [
          notificationOf('n1', 'team-slack', { eventSeq: first!.seq, requestId: first!.requestId }),
          notificationOf('n2', 'team-discord'),
        ],
      });
      expect(result).toEqual({ notificationsInserted: 2 });
      const loaded = await store.evaluator.load();
      expect(loaded.cursor).toBe(third!.seq);
      expect(await store.evaluator.cursor()).toBe(third!.seq);
      expect(loaded.state).toEqual([...values].sort((x, y) => (x.key < y.key ? -1 : 1)));
      expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 1, 'team-discord': 1 });
      const claimed = await store.outbox.claim(claimQuery(T0, ['team-slack', 'team-discord']));
      expect(claimed).toEqual([
        {
          id: 'n1',
          destination: 'team-slack',
          alert: alertOf('n1'),
          createdAt: T0,
          requestId: first!.requestId,
          eventSeq: first!.seq,
          attempts: 1,
          firstAttemptAt: T0,
          claimToken: expect.any(String),
          sendAt: T0,
        },
        {
          id: 'n2',
          destination: 'team-discord',
          alert: alertOf('n2'),
          createdAt: T0,
          attempts: 1,
          firstAttemptAt: T0,
          claimToken: expect.any(String),
          sendAt: T0,
        },
      ]);
      // One claim, one token on every row it leased.
      expect(claimed[0]?.claimToken).toBe(claimed[1]?.claimToken);
    });

    it('replaces upserted keys, removes deleted ones and ignores unknown deletes', async () => {
      const store = await open();
      await store.evaluator.commit({
        fromCursor: 0,
        cursor: 0,
        upserts: [
          { key: 'a', value: 1 },
          { key: 'b', value: { nested: ['x'] } },
          { key: 'c', value: 'keep' },
        ],
        deletes: [],
        notifications: [],
      });
      await store.evaluator.commit({
        fromCursor: 0,
        cursor: 0,
        upserts: [
          { key: 'b', value: { nested: ['y'], more: 2 } },
          { key: 'd', value: 4 },
        ],
        deletes: ['a', 'never-stored'],
        notifications: [],
      });
      expect(await store.evaluator.load()).toEqual({
        cursor: 0,
        state: [
          { key: 'b', value: { nested: ['y'], more: 2 } },
          { key: 'c', value: 'keep' },
          { key: 'd', value: 4 },
        ],
      });
    });

    it('rejects a commit from a stale cursor with HR_ERR_STORE_CURSOR_CONFLICT and writes nothing', async () => {
      const store = await open();
      await store.events.append(appendOf(['a', 'b']));
      const [a, b] = await readAll(store);
      let wakes = 0;
      store.outbox.onEnqueue(() => {
        wakes += 1;
      });
      const step = {
        fromCursor: 0,
        cursor: a!.seq,
        upserts: [{ key: 'k', value: 1 }],
        deletes: [],
        notifications: [notificationOf('first')],
      };
      expect(await store.evaluator.commit(step)).toEqual({ notificationsInserted: 1 });
      const before = await store.evaluator.load();

      // The same step again (double processing), and a step from a cursor that was never stored.
      for (const stale of [
        { ...step, upserts: [{ key: 'k', value: 2 }], notifications: [notificationOf('second')] },
        {
          ...step,
          fromCursor: b!.seq,
          cursor: b!.seq,
          upserts: [],
          deletes: ['k'],
          notifications: [notificationOf('third')],
        },
      ]) {
        await expect(store.evaluator.commit(stale)).rejects.toMatchObject({
          code: StoreErrorCode.cursorConflict,
        });
      }
      expect(await store.evaluator.load()).toEqual(before);
      expect(ids(await store.outbox.claim(claimQuery(T0, ['team-slack'])))).toEqual(['first']);
      expect(wakes).toBe(1);
    });

    it('lets exactly one of two concurrent commits from the same cursor win', async () => {
      const store = await open();
      const step = (id: string) => ({
        fromCursor: 0,
        cursor: 5,
        upserts: [{ key: 'winner', value: id }],
        deletes: [],
        notifications: [notificationOf(id)],
      });
      const settled = await Promise.allSettled([
        store.evaluator.commit(step('one')),
        store.evaluator.commit(step('two')),
      ]);
      expect(settled.map((s) => s.status).sort()).toEqual(['fulfilled', 'rejected']);
      const loser = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult;
      expect(loser.reason).toMatchObject({ code: StoreErrorCode.cursorConflict });
      const { cursor, state } = await store.evaluator.load();
      expect(cursor).toBe(5);
      const winner = state[0]?.value as string;
      expect(ids(await store.outbox.claim(claimQuery(T0, ['team-slack'])))).toEqual([winner]);
    });

    it('stores a notification id once, however often it is committed (re-evaluation)', async () => {
      const store = await open();
      const original = notificationOf('stable-id', 'team-slack', {
        alert: alertOf('stable-id', { title: 'v1' }),
      });
      expect(
        await enqueue(store, [original, { ...original, alert: alertOf('stable-id', { title: 'dup' }) }]),
      ).toBe(1);
      const again = { ...original, alert: alertOf('stable-id', { title: 'v2' }), createdAt: T0 + 1 };
      expect(await enqueue(store, [again, notificationOf('new-id')])).toBe(1);
      expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 2 });
      const claimed = await store.outbox.claim(claimQuery(T0, ['team-slack']));
      expect(ids(claimed)).toEqual(['stable-id', 'new-id']);
      expect(claimed[0]!.alert.title).toBe('v1');

      // Also after it was delivered: a re-evaluated id never comes back as a second message.
      await store.outbox.recordDelivered('stable-id', delivered(T0));
      expect(await enqueue(store, [original])).toBe(0);
      expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 1 });
    });

    it('accepts a step that keeps the cursor (a clock-driven step) but never one that moves it back', async () => {
      const store = await open();
      await store.evaluator.commit({ fromCursor: 0, cursor: 7, upserts: [], deletes: [], notifications: [] });
      await store.evaluator.commit({ fromCursor: 7, cursor: 7, upserts: [], deletes: [], notifications: [] });
      await expect(
        store.evaluator.commit({ fromCursor: 7, cursor: 6, upserts: [], deletes: [], notifications: [] }),
      ).rejects.toMatchObject({ code: StoreErrorCode.inputInvalid });
      expect((await store.evaluator.load()).cursor).toBe(7);
    });

    it('rejects a malformed commit with HR_ERR_STORE_INPUT_INVALID and writes nothing', async () => {
      const store = await open();
      const base = {
        fromCursor: 0,
        cursor: 1,
        upserts: [],
        deletes: [],
        notifications: [notificationOf('ok')],
      };
      const cases: EvaluatorCommitInput[] = [
        { ...base, upserts: [{ key: 'big', value: 10n }] },
        { ...base, upserts: [{ key: 'undef', value: undefined }] },
        { ...base, upserts: [{ key: '', value: 1 }] },
        { ...base, upserts: [{ key: 'both', value: 1 }], deletes: ['both'] },
        {
          ...base,
          notifications: [notificationOf('ok'), notificationOf('nan', 'x', { createdAt: Number.NaN })],
        },
        { ...base, notifications: [notificationOf('', 'team-slack')] },
        { ...base, notifications: [notificationOf('frac', 'team-slack', { orderKey: 1.5 })] },
        { ...base, fromCursor: -1 },
        { ...base, cursor: 1.5 },
      ];
      for (const input of cases) {
        await expect(store.evaluator.commit(input)).rejects.toMatchObject({
          code: StoreErrorCode.inputInvalid,
        });
      }
      expect(await store.evaluator.load()).toEqual({ cursor: 0, state: [] });
      expect(await store.outbox.pendingCounts()).toEqual({});
    });

    it('calls onEnqueue after a commit that stored notifications, with them claimable, and never otherwise', async () => {
      const store = await open();
      const seen: Promise<ClaimedNotification[]>[] = [];
      const unsubscribe = store.outbox.onEnqueue(() => {
        seen.push(store.outbox.claim(claimQuery(T0, ['team-slack'])));
      });
      store.outbox.onEnqueue(() => {
        throw new Error('listener bug');
      });
      expect(await enqueue(store, [notificationOf('a')])).toBe(1);
      expect(seen).toHaveLength(1);
      expect(ids(await seen[0]!)).toEqual(['a']);

      expect(await enqueue(store, [notificationOf('a')])).toBe(0);
      expect(await enqueue(store, [])).toBe(0);
      expect(seen).toHaveLength(1);

      unsubscribe();
      expect(await enqueue(store, [notificationOf('b')])).toBe(1);
      expect(seen).toHaveLength(1);
    });

    it('commits alongside appends in flight without losing or mixing either', async () => {
      const store = await open();
      const appends = Array.from({ length: 20 }, (_, i) => store.events.append(appendOf([`k${i}`])));
      const commit = store.evaluator.commit({
        fromCursor: 0,
        cursor: 0,
        upserts: [{ key: 'x', value: 1 }],
        deletes: [],
        notifications: [notificationOf('during')],
      });
      const claim = commit.then(() => store.outbox.claim(claimQuery(T0, ['team-slack'])));
      const more = Array.from({ length: 20 }, (_, i) => store.events.append(appendOf([`m${i}`])));
      const results = await Promise.all([...appends, ...more]);
      expect(results.every((r) => r.stored === 1)).toBe(true);
      expect(await commit).toEqual({ notificationsInserted: 1 });
      expect(ids(await claim)).toEqual(['during']);
      expect(await readAll(store)).toHaveLength(40);
      expect(await store.evaluator.load()).toEqual({ cursor: 0, state: [{ key: 'x', value: 1 }] });
    });

    it('rejects evaluator and outbox calls after close with HR_ERR_STORE_CLOSED', async () => {
      const store = await open();
      await store.close();
      const closed = { code: StoreErrorCode.closed };
      await expect(store.evaluator.load()).rejects.toMatchObject(closed);
      await expect(
        store.evaluator.commit({ fromCursor: 0, cursor: 0, upserts: [], deletes: [], notifications: [] }),
      ).rejects.toMatchObject(closed);
      await expect(store.outbox.claim(claimQuery(T0, ['team-slack']))).rejects.toMatchObject(closed);
      await expect(store.outbox.recordDelivered('x', delivered(T0))).rejects.toMatchObject(closed);
      await expect(store.outbox.scheduleRetry('x', { dueAt: T0, attempt: retry(T0) })).rejects.toMatchObject(
        closed,
      );
      await expect(store.outbox.deadLetter('x', { reason: 'r', attempt: dead(T0) })).rejects.toMatchObject(
        closed,
      );
      await expect(store.deadLetters.pauseDestination('d', { reason: 'r', at: T0 })).rejects.toMatchObject(
        closed,
      );
      await expect(store.deadLetters.resumeDestination('d')).rejects.toMatchObject(closed);
      await expect(store.outbox.releaseLeases()).rejects.toMatchObject(closed);
      await expect(store.deadLetters.listPausedDestinations()).rejects.toMatchObject(closed);
      await expect(store.deadLetters.listDead({ limit: 1 })).rejects.toMatchObject(closed);
      await expect(store.deadLetters.replayDead({ all: true, now: T0 })).rejects.toMatchObject(closed);
      await expect(store.outbox.pendingCounts()).rejects.toMatchObject(closed);
      await expect(store.blobs.getImage(1)).rejects.toMatchObject(closed);
      await expect(store.outbox.pruneDelivered(T0)).rejects.toMatchObject(closed);
    });
  });
}

/**
 * describeOutboxContract registers the suite for the delivery side of the store: the Outbox port (leases,
 * head-of-line order per destination, transitions and their history), DeadLetters (pauses, dead letters
 * and replay), Blobs (images), and the retention rules that keep what a notification may still need. Times are explicit `now` values; nothing sleeps.
 */
export function describeOutboxContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Outbox contract: ${name}`, () => {
    const open = openedStores(makeStore);

    it('leases claimed rows, counts attempts, and lets a row be claimed again once its lease ran out', async () => {
      const store = await open();
      await enqueue(store, [notificationOf('a'), notificationOf('b')]);
      const first = await store.outbox.claim(claimQuery(T0, ['team-slack'], 10, MINUTE));
      expect(first.map((n) => [n.id, n.attempts, n.firstAttemptAt])).toEqual([
        ['a', 1, T0],
        ['b', 1, T0],
      ]);
      // Leased until T0 + 1 min: no other claim gets them before.
      expect(await store.outbox.claim(claimQuery(T0, ['team-slack']))).toEqual([]);
      expect(await store.outbox.claim(claimQuery(T0 + MINUTE - 1, ['team-slack']))).toEqual([]);
      // The worker crashed: at the end of the lease the rows are claimable again, same ids, one more attempt.
      const again = await store.outbox.claim(claimQuery(T0 + MINUTE, ['team-slack'], 10, MINUTE));
      expect(again.map((n) => [n.id, n.attempts, n.firstAttemptAt])).toEqual([
        ['a', 2, T0],
        ['b', 2, T0],
      ]);
      const third = await store.outbox.claim(claimQuery(T0 + 2 * MINUTE, ['team-slack'], 1, MINUTE));
      expect(third.map((n) => [n.id, n.attempts, n.firstAttemptAt])).toEqual([['a', 3, T0]]);
      expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 2 });
    });

    it('refuses a transition made with a stale claim token (the row was claimed again), changing nothing', async () => {
      const store = await open();
      await enqueue(store, [notificationOf('a'), notificationOf('b')]);
      const [first] = await store.outbox.claim(claimQuery(T0, ['team-slack'], 1, MINUTE));
      expect(first?.claimToken).toEqual(expect.any(String));
      // The first worker stalls past its lease; another claim takes the row with a token of its own.
      const [second] = await store.outbox.claim(claimQuery(T0 + MINUTE, ['team-slack'], 1, MINUTE));
      expect(second?.id).toBe('a');
      expect(second?.claimToken).not.toBe(first?.claimToken);
      const stale = first!.claimToken;
      expect(await store.outbox.recordDelivered('a', delivered(T0 + MINUTE + 1), stale)).toBe(false);
      expect(
        await store.outbox.scheduleRetry('a', { dueAt: T0, attempt: retry(T0 + MINUTE + 2) }, stale),
      ).toBe(false);
      expect(
        await store.outbox.deadLetter('a', { reason: 'late', attempt: dead(T0 + MINUTE + 3) }, stale),
      ).toBe(false);
      // Nothing changed: still pending and leased by the second claim, no history entry from the stale one.
      expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 2 });
      expect(await store.outbox.claim(claimQuery(T0 + MINUTE + 4, ['team-slack']))).toEqual([]);
      // The current holder's token is accepted.
      expect(
        await store.outbox.deadLetter(
          'a',
          { reason: 'refused', attempt: dead(T0 + MINUTE + 5) },
          second!.claimToken,
        ),
      ).toBe(true);
      const [letter] = await store.deadLetters.listDead({ limit: 10 });
      expect(letter?.attempts).toEqual([dead(T0 + MINUTE + 5)]);
      // A token that matches the last claim is accepted even after its lease ran out (nobody took the row).
      const [b] = await store.outbox.claim(claimQuery(T0 + 2 * MINUTE, ['team-slack'], 1, MINUTE));
      expect(b?.id).toBe('b');
      expect(await store.outbox.recordDelivered('b', delivered(T0 + 5 * MINUTE), b!.claimToken)).toBe(true);
    });

    it('claims nothing before it is due', async () => {
      const store = await open();
      await enqueue(store, [notificationOf('later', 'team-slack', { dueAt: T0 + MINUTE })]);
      expect(await store.outbox.claim(claimQuery(T0 + MINUTE - 1, ['team-slack']))).toEqual([]);
      expect(ids(await store.outbox.claim(claimQuery(T0 + MINUTE, ['team-slack'])))).toEqual(['later']);
    });

    it('claims in creation order (createdAt, then orderKey, then commit order), up to the limit', async () => {
      const store = await open();
      await enqueue(store, [
        notificationOf('third', 'team-slack', { createdAt: T0 + 2 }),
        notificationOf('second-b', 'team-slack', { createdAt: T0 + 1, orderKey: 2 }),
        notificationOf('second-a', 'team-slack', { createdAt: T0 + 1, orderKey: 1 }),
      ]);
      await enqueue(store, [
        notificationOf('first', 'team-slack', { createdAt: T0 }),
        notificationOf('fourth', 'team-slack', { createdAt: T0 + 2 }),
      ]);
      const query = claimQuery(T0 + 10, ['team-slack'], 2);
      expect(ids(await store.outbox.claim(query))).toEqual(['first', 'second-a']);
      // The first two are leased (still in flight): they hold back the rest until settled.
      expect(await store.outbox.claim(query)).toEqual([]);
      await store.outbox.recordDelivered('first', delivered(T0 + 10));
      await store.outbox.recordDelivered('second-a', delivered(T0 + 10));
      expect(ids(await store.outbox.claim(query))).toEqual(['second-b', 'third']);
      expect(await store.outbox.claim({ ...query, limitPerDestination: 0 })).toEqual([]);
    });

    it('holds a destination behind a head waiting for its retry, never another destination', async () => {
      const store = await open();
      await enqueue(store, [
        notificationOf('a1', 'slack', { createdAt: T0 }),
        notificationOf('a2', 'slack', { createdAt: T0 + 1 }),
        notificationOf('b1', 'discord', { createdAt: T0 + 2 }),
        notificationOf('a3', 'slack', { createdAt: T0 + 3 }),
        notificationOf('c1', 'email', { createdAt: T0 + 4 }),
      ]);
      const head = await store.outbox.claim(claimQuery(T0 + 10, ['slack'], 1));
      expect(ids(head)).toEqual(['a1']);
      expect(await store.outbox.scheduleRetry('a1', { dueAt: T0 + MINUTE, attempt: retry(T0 + 10) })).toBe(
        true,
      );

      // a1 is not due: a2 and a3 wait behind it; discord is not affected; email was not asked for.
      const now = T0 + 20;
      expect(ids(await store.outbox.claim(claimQuery(now, ['slack', 'discord'])))).toEqual(['b1']);
      expect(await store.outbox.claim(claimQuery(now, ['slack']))).toEqual([]);

      const later = await store.outbox.claim(claimQuery(T0 + MINUTE, ['slack']));
      expect(later.map((n) => [n.id, n.attempts])).toEqual([
        ['a1', 2],
        ['a2', 1],
        ['a3', 1],
      ]);
      expect(await store.outbox.pendingCounts()).toEqual({ slack: 3, discord: 1, email: 1 });
    });

    it('records each transition with its attempt, in order, and refuses to change a settled row', async () => {
      const store = await open();
      await enqueue(store, [notificationOf('ok'), notificationOf('bad')]);
      await store.outbox.claim(claimQuery(T0, ['team-slack']));
      expect(await store.outbox.scheduleRetry('ok', { dueAt: T0 + MINUTE, attempt: retry(T0) })).toBe(true);
      expect(
        await store.outbox.scheduleRetry('bad', { dueAt: T0 + MINUTE, attempt: retry(T0, 'timeout') }),
      ).toBe(true);
      const second = await store.outbox.claim(claimQuery(T0 + MINUTE, ['team-slack']));
      expect(second.map((n) => [n.id, n.attempts, n.firstAttemptAt])).toEqual([
        ['ok', 2, T0],
        ['bad', 2, T0],
      ]);
      expect(await store.outbox.recordDelivered('ok', delivered(T0 + MINUTE))).toBe(true);
      expect(
        await store.outbox.deadLetter('bad', {
          reason: 'payload rejected: blocks too long',
          attempt: dead(T0 + MINUTE),
        }),
      ).toBe(true);
      expect(await store.outbox.pendingCounts()).toEqual({});
      expect(await store.outbox.claim(claimQuery(T0 + HOUR, ['team-slack']))).toEqual([]);

      // A late worker (its lease ran out, another finished the row) changes nothing.
      expect(await store.outbox.scheduleRetry('ok', { dueAt: T0, attempt: retry(T0 + 2 * MINUTE) })).toBe(
        false,
      );
      expect(await store.outbox.recordDelivered('bad', delivered(T0 + 2 * MINUTE))).toBe(false);
      expect(await store.outbox.recordDelivered('unknown', delivered(T0))).toBe(false);
      expect(await store.outbox.pendingCounts()).toEqual({});

      const [letter] = await store.deadLetters.listDead({ limit: 10 });
      expect(letter).toEqual({
        notification: { id: 'bad', destination: 'team-slack', alert: alertOf('bad'), createdAt: T0 },
        reason: 'payload rejected: blocks too long',
        deadAt: T0 + MINUTE,
        attempts: [retry(T0, 'timeout'), dead(T0 + MINUTE), delivered(T0 + 2 * MINUTE)],
      });
    });

    it('applies claims and transitions in the order they are called, before the earlier ones resolve', async () => {
      const store = await open();
      await enqueue(store, [notificationOf('a'), notificationOf('b'), notificationOf('c')]);
      expect(ids(await store.outbox.claim(claimQuery(T0, ['team-slack'], 1)))).toEqual(['a']);
      // None awaited before the next call: each sees what the calls made before it did. Were the claim
      // applied before 'a' was recorded, it would stop at a's lease and return nothing.
      const recorded = store.outbox.recordDelivered('a', delivered(T0 + 1));
      const claimed = store.outbox.claim(claimQuery(T0 + 1, ['team-slack'], 1));
      const retried = store.outbox.scheduleRetry('b', { dueAt: T0 + MINUTE, attempt: retry(T0 + 2) });
      const held = store.outbox.claim(claimQuery(T0 + 2, ['team-slack']));
      expect(await recorded).toBe(true);
      expect(ids(await claimed)).toEqual(['b']);
      expect(await retried).toBe(true);
      // b waits for its retry and holds c back.
      expect(await held).toEqual([]);
      expect(ids(await store.outbox.claim(claimQuery(T0 + MINUTE, ['team-slack'])))).toEqual(['b', 'c']);
    });

    it('settles a row once when transitions race, returning each its own result and keeping every attempt', async () => {
      const store = await open();
      await enqueue(store, [notificationOf('n'), notificationOf('other')]);
      await store.outbox.claim(claimQuery(T0, ['team-slack']));
      const results = await Promise.all([
        store.outbox.scheduleRetry('n', { dueAt: T0, attempt: retry(T0) }),
        store.outbox.deadLetter('n', { reason: 'refused', attempt: dead(T0 + 1) }),
        store.outbox.recordDelivered('n', delivered(T0 + 2)),
        store.outbox.scheduleRetry('n', { dueAt: T0, attempt: retry(T0 + 3, 'timeout') }),
        store.outbox.recordDelivered('other', delivered(T0 + 4)),
        store.outbox.recordDelivered('unknown', delivered(T0 + 5)),
      ]);
      expect(results).toEqual([true, true, false, false, true, false]);
      expect(await store.outbox.pendingCounts()).toEqual({});
      const [letter] = await store.deadLetters.listDead({ limit: 10 });
      expect(letter?.notification.id).toBe('n');
      expect(letter?.deadAt).toBe(T0 + 1);
      // In call order, the late ones included: the history says what happened.
      expect(letter?.attempts).toEqual([
        retry(T0),
        dead(T0 + 1),
        delivered(T0 + 2),
        retry(T0 + 3, 'timeout'),
      ]);
    });

    // releaseLeases is only for an engine one process owns (SQLite): on a database several delivering
    // instances share it would end leases that live peers hold, so that engine refuses it (ports.ts).
    it('releaseLeases: a shared engine refuses it and changes nothing', async () => {
      const store = await open();
      await enqueue(store, [notificationOf('a')]);
      expect(ids(await store.outbox.claim(claimQuery(T0, ['team-slack'], 10, MINUTE)))).toEqual(['a']);
      if (store.engine === 'sqlite') return;
      await expect(store.outbox.releaseLeases()).rejects.toMatchObject({ code: StoreErrorCode.inputInvalid });
      expect(await store.outbox.claim(claimQuery(T0 + 1, ['team-slack']))).toEqual([]);
    });

    it('releaseLeases ends every lease on a pending row, keeping its place and its attempts (SQLite only)', async () => {
      const store = await open();
      if (store.engine !== 'sqlite') return;
      let wakes = 0;
      store.outbox.onEnqueue(() => {
        wakes += 1;
      });
      await enqueue(store, [
        notificationOf('a'),
        notificationOf('b', 'team-slack', { createdAt: T0 + 1 }),
        notificationOf('c', 'team-slack', { createdAt: T0 + 2 }),
        notificationOf('d', 'discord'),
      ]);
      wakes = 0;
      expect(ids(await store.outbox.claim(claimQuery(T0, ['team-slack', 'discord'], 2)))).toEqual([
        'a',
        'b',
        'd',
      ]);
      await store.outbox.recordDelivered('a', delivered(T0));
      // The worker holding b and d died: their leases would hold them for a minute.
      expect(await store.outbox.claim(claimQuery(T0 + 1, ['team-slack', 'discord']))).toEqual([]);
      expect(await store.outbox.releaseLeases()).toBe(2);
      expect(wakes).toBe(1);
      const again = await store.outbox.claim(claimQuery(T0 + 1, ['team-slack', 'discord']));
      expect(again.map((n) => [n.id, n.attempts, n.firstAttemptAt])).toEqual([
        ['b', 2, T0],
        ['c', 1, T0 + 1],
        ['d', 2, T0],
      ]);
      expect(await store.outbox.releaseLeases()).toBe(3);
      expect(await store.outbox.releaseLeases()).toBe(0);
      // Woken only when something became claimable.
      expect(wakes).toBe(2);
      expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 2, discord: 1 });
    });

    it('refuses an attempt whose outcome does not fit the transition, changing nothing', async () => {
      const store = await open();
      await enqueue(store, [notificationOf('n')]);
      await store.outbox.claim(claimQuery(T0, ['team-slack']));
      const invalid = { code: StoreErrorCode.inputInvalid };
      await expect(store.outbox.recordDelivered('n', retry(T0))).rejects.toMatchObject(invalid);
      await expect(
        store.outbox.scheduleRetry('n', { dueAt: T0, attempt: delivered(T0) }),
      ).rejects.toMatchObject(invalid);
      await expect(
        store.outbox.deadLetter('n', { reason: 'x', attempt: delivered(T0) }),
      ).rejects.toMatchObject(invalid);
      await expect(store.outbox.deadLetter('n', { reason: '', attempt: dead(T0) })).rejects.toMatchObject(
        invalid,
      );
      await expect(
        store.outbox.scheduleRetry('n', { dueAt: Number.NaN, attempt: retry(T0) }),
      ).rejects.toMatchObject(invalid);
      await expect(
        store.outbox.recordDelivered('n', { at: T0, durationMs: -1, outcome: 'delivered' }),
      ).rejects.toMatchObject(invalid);
      await expect(store.outbox.claim(claimQuery(T0, ['team-slack'], 1, 0))).rejects.toMatchObject(invalid);
      expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 1 });
      expect(await store.deadLetters.listDead({ limit: 10 })).toEqual([]);
    });

    it('keeps a paused destination’s notifications pending and unclaimed until it is resumed', async () => {
      const store = await open();
      let wakes = 0;
      store.outbox.onEnqueue(() => {
        wakes += 1;
      });
      await enqueue(store, [notificationOf('s1', 'slack'), notificationOf('d1', 'discord')]);
      wakes = 0;
      await store.deadLetters.pauseDestination('slack', { reason: 'authError: invalid_auth', at: T0 });
      await store.deadLetters.pauseDestination('slack', { reason: 'authError: token_revoked', at: T0 + 1 });
      expect(await store.deadLetters.listPausedDestinations()).toEqual([
        { destination: 'slack', reason: 'authError: token_revoked', pausedAt: T0 + 1 },
      ]);
      expect(ids(await store.outbox.claim(claimQuery(T0, ['slack', 'discord'])))).toEqual(['d1']);
      expect(await store.outbox.pendingCounts()).toEqual({ slack: 1, discord: 1 });

      expect(await store.deadLetters.resumeDestination('slack')).toBe(true);
      expect(wakes).toBe(1);
      expect(await store.deadLetters.resumeDestination('slack')).toBe(false);
      expect(await store.deadLetters.listPausedDestinations()).toEqual([]);
      expect(ids(await store.outbox.claim(claimQuery(T0, ['slack', 'discord'])))).toEqual(['s1']);
    });

    it('lists dead letters newest first, by destination, never more than the limit', async () => {
      const store = await open();
      await enqueue(store, [
        notificationOf('s1', 'slack'),
        notificationOf('s2', 'slack'),
        notificationOf('d1', 'discord'),
      ]);
      await store.outbox.claim(claimQuery(T0, ['slack', 'discord']));
      await store.outbox.deadLetter('s2', { reason: 'r-s2', attempt: dead(T0 + 1) });
      await store.outbox.deadLetter('d1', { reason: 'r-d1', attempt: dead(T0 + 2) });
      await store.outbox.deadLetter('s1', { reason: 'r-s1', attempt: dead(T0 + 3) });
      const deadIds = async (query: DeadQuery) =>
        (await store.deadLetters.listDead(query)).map((d) => d.notification.id);
      expect(await deadIds({ limit: 10 })).toEqual(['s1', 'd1', 's2']);
      expect(await deadIds({ limit: 2 })).toEqual(['s1', 'd1']);
      expect(await deadIds({ limit: 10, destination: 'slack' })).toEqual(['s1', 's2']);
      expect(await deadIds({ limit: 10, destination: 'nobody' })).toEqual([]);
      expect(await deadIds({ limit: 0 })).toEqual([]);
      await expect(store.deadLetters.listDead({ limit: -1 })).rejects.toMatchObject({
        code: StoreErrorCode.inputInvalid,
      });
    });

    it('replays dead letters by id, by destination or all: due now, attempts reset, destinations resumed', async () => {
      const store = await open();
      await enqueue(store, [
        notificationOf('s1', 'slack', { createdAt: T0 }),
        notificationOf('s2', 'slack', { createdAt: T0 + 1 }),
        notificationOf('d1', 'discord'),
        notificationOf('e1', 'email'),
      ]);
      await store.outbox.claim(claimQuery(T0, ['slack', 'discord', 'email']));
      for (const id of ['s1', 'd1', 'e1']) {
        await store.outbox.deadLetter(id, { reason: 'gone', attempt: dead(T0) });
      }
      await store.outbox.scheduleRetry('s2', { dueAt: T0, attempt: retry(T0) });
      for (const destination of ['slack', 'discord', 'email']) {
        await store.deadLetters.pauseDestination(destination, { reason: 'authError', at: T0 });
      }
      let wakes = 0;
      store.outbox.onEnqueue(() => {
        wakes += 1;
      });

      // By id: unknown and not-dead ids are ignored; the replayed id's destination resumes.
      const now = T0 + HOUR;
      expect(await store.deadLetters.replayDead({ ids: ['s1', 's2', 'nope'], now })).toBe(1);
      expect(wakes).toBe(1);
      expect((await store.deadLetters.listPausedDestinations()).map((p) => p.destination)).toEqual([
        'discord',
        'email',
      ]);
      // s1 is back in its original place, ahead of s2, with its attempts counted afresh.
      const slack = await store.outbox.claim(claimQuery(now, ['slack', 'discord', 'email']));
      expect(slack.map((n) => [n.id, n.attempts, n.firstAttemptAt])).toEqual([
        ['s1', 1, now],
        ['s2', 2, T0],
      ]);
      expect((await store.deadLetters.listDead({ limit: 10 })).map((d) => d.notification.id).sort()).toEqual([
        'd1',
        'e1',
      ]);

      // By destination: its dead letters, and its pause.
      expect(await store.deadLetters.replayDead({ destination: 'discord', now })).toBe(1);
      expect((await store.deadLetters.listPausedDestinations()).map((p) => p.destination)).toEqual(['email']);
      expect(ids(await store.outbox.claim(claimQuery(now, ['discord', 'email'])))).toEqual(['d1']);

      // All: every dead letter, every paused destination.
      await store.deadLetters.pauseDestination('slack', { reason: 'authError', at: now });
      expect(await store.deadLetters.replayDead({ all: true, now })).toBe(1);
      expect(await store.deadLetters.listPausedDestinations()).toEqual([]);
      expect(ids(await store.outbox.claim(claimQuery(now, ['email'])))).toEqual(['e1']);
      expect(await store.deadLetters.listDead({ limit: 10 })).toEqual([]);
      expect(await store.deadLetters.replayDead({ all: true, now })).toBe(0);

      // The history survives a replay; the count does not.
      await store.outbox.deadLetter('e1', { reason: 'still gone', attempt: dead(now) });
      const [letter] = await store.deadLetters.listDead({ limit: 1 });
      expect(letter?.attempts.map((a) => a.at)).toEqual([T0, now]);
      expect(letter?.reason).toBe('still gone');
    });

    it('refuses a replay that does not name exactly one selector', async () => {
      const store = await open();
      const invalid = { code: StoreErrorCode.inputInvalid };
      await expect(store.deadLetters.replayDead({ now: T0 })).rejects.toMatchObject(invalid);
      await expect(store.deadLetters.replayDead({ ids: ['a'], all: true, now: T0 })).rejects.toMatchObject(
        invalid,
      );
      await expect(
        store.deadLetters.replayDead({ destination: 'x', all: true, now: T0 }),
      ).rejects.toMatchObject(invalid);
      await expect(store.deadLetters.replayDead({ all: false, now: T0 })).rejects.toMatchObject(invalid);
      expect(await store.deadLetters.replayDead({ ids: [], now: T0 })).toBe(0);
    });

    it('returns a stored item’s screenshot bytes and mime for getImage', async () => {
      const store = await open();
      const image = imageBytes(70_000);
      const noMime = imageBytes(10);
      await store.events.append({
        request: request('trackpilots', T0, SHOT_EVENT),
        events: [
          { dedupeKey: 'shot', item: fullItem(), image },
          { dedupeKey: 'app', item: appItem('app') },
          { dedupeKey: 'bare', item: fullItem({ id: 'bare', screenshot: { id: 'bare' } }), image: noMime },
        ],
      });
      const [shot, app, bare] = await readAll(store);
      const found = await store.blobs.getImage(shot!.seq);
      expect(found?.mime).toBe('image/png');
      expect(found?.bytes.equals(image)).toBe(true);
      expect(await store.blobs.getImage(app!.seq)).toBeUndefined();
      expect(await store.blobs.getImage(bare!.seq)).toEqual({
        bytes: noMime,
        mime: 'application/octet-stream',
      });
      expect(await store.blobs.getImage(bare!.seq + 1_000)).toBeUndefined();
    });

    it('prunes delivered notifications before the cutoff with their history; never pending or dead ones', async () => {
      const store = await open();
      await enqueue(store, [
        notificationOf('old'),
        notificationOf('recent'),
        notificationOf('waiting'),
        notificationOf('dead'),
      ]);
      await store.outbox.claim(claimQuery(T0, ['team-slack']));
      await store.outbox.recordDelivered('old', delivered(T0 - 2 * HOUR));
      await store.outbox.recordDelivered('recent', delivered(T0 - HOUR));
      await store.outbox.scheduleRetry('waiting', { dueAt: T0, attempt: retry(T0 - 3 * HOUR) });
      await store.outbox.deadLetter('dead', { reason: 'r', attempt: dead(T0 - 3 * HOUR) });

      expect(await store.outbox.pruneDelivered(T0 - HOUR)).toBe(1);
      expect(await store.outbox.pruneDelivered(T0 - HOUR)).toBe(0);
      expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 1 });
      expect((await store.deadLetters.listDead({ limit: 10 })).map((d) => d.notification.id)).toEqual([
        'dead',
      ]);
      // A pruned id is gone from the outbox: committing it again stores it anew.
      expect(await enqueue(store, [notificationOf('old')])).toBe(1);
      expect(await enqueue(store, [notificationOf('recent')])).toBe(0);
    });

    it('never prunes an item the evaluator has not passed', async () => {
      const store = await open();
      const old = T0 - 2 * HOUR;
      await store.events.append(appendOf(['e1', 'e2', 'e3', 'e4'], { receivedAt: old }));
      const all = await readAll(store);
      expect(await store.events.pruneOlderThan(T0)).toBe(0);

      await store.evaluator.commit({
        fromCursor: 0,
        cursor: all[1]!.seq,
        upserts: [],
        deletes: [],
        notifications: [],
      });
      expect(await store.events.pruneOlderThan(T0)).toBe(2);
      expect((await readAll(store)).map((e) => e.dedupeKey)).toEqual(['e3', 'e4']);
      await markEvaluated(store);
      expect(await store.events.pruneOlderThan(T0)).toBe(2);
      expect(await readAll(store)).toEqual([]);
    });

    it('keeps items and requests a pending or dead notification needs, until it is delivered', async () => {
      const store = await open();
      const old = T0 - 2 * HOUR;
      const shots = await store.events.append({
        request: request('trackpilots', old, SHOT_EVENT),
        events: [
          { dedupeKey: 'shot-pending', item: fullItem({ id: 'p', receivedAt: old }), image: imageBytes(100) },
          { dedupeKey: 'shot-dead', item: fullItem({ id: 'd', receivedAt: old }), image: imageBytes(100) },
          { dedupeKey: 'shot-unused', item: fullItem({ id: 'u', receivedAt: old }), image: imageBytes(100) },
        ],
      });
      const forwarded = await store.events.append(appendOf(['fwd'], { receivedAt: old }));
      const unused = await store.events.append(appendOf(['unused'], { receivedAt: old }));
      const [pending, deadShot] = await readAll(store);
      await markEvaluated(store);
      await enqueue(store, [
        notificationOf('with-image', 'discord', { eventSeq: pending!.seq }),
        notificationOf('dead-image', 'discord', { eventSeq: deadShot!.seq, createdAt: T0 + 1 }),
        notificationOf('forward', 'zapier', { requestId: forwarded.requestId }),
      ]);
      await store.outbox.claim(claimQuery(T0, ['discord']));
      await store.outbox.deadLetter('dead-image', { reason: 'too large', attempt: dead(T0) });

      // Unneeded rows go; the items with a pending or dead screenshot and the forwarded request stay.
      expect(await store.events.pruneOlderThan(T0)).toBe(3);
      expect((await readAll(store)).map((e) => e.dedupeKey)).toEqual(['shot-pending', 'shot-dead']);
      expect(await store.blobs.getImage(pending!.seq)).toBeDefined();
      expect(await store.blobs.getImage(deadShot!.seq)).toBeDefined();
      expect(await store.events.getRequest(shots.requestId)).toBeDefined();
      expect((await store.events.getRequest(forwarded.requestId))?.body).toBeInstanceOf(Buffer);
      expect(await store.events.getRequest(unused.requestId)).toBeUndefined();

      // Once delivered (and the dead one replayed and delivered), nothing holds them any more.
      await store.outbox.recordDelivered('with-image', delivered(T0));
      await store.deadLetters.replayDead({ ids: ['dead-image'], now: T0 });
      expect(ids(await store.outbox.claim(claimQuery(T0, ['discord', 'zapier'])))).toEqual([
        'dead-image',
        'forward',
      ]);
      await store.outbox.recordDelivered('dead-image', delivered(T0));
      expect(await store.events.pruneOlderThan(T0)).toBe(2);
      expect(await store.events.getRequest(shots.requestId)).toBeUndefined();
      expect(await store.events.getRequest(forwarded.requestId)).toBeDefined();
      await store.outbox.recordDelivered('forward', delivered(T0));
      expect(await store.events.pruneOlderThan(T0)).toBe(0);
      expect(await store.events.getRequest(forwarded.requestId)).toBeUndefined();
    });
  });
}

/**
 * describeEventQueryContract covers the reads `hookrelay events` makes: filters (source, type globs, user,
 * received since), cursor paging by seq in both directions, and one item by seq.
 */
export function describeEventQueryContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`EventLog queries contract: ${name}`, () => {
    const opened: Store[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });
    async function seeded(): Promise<{ store: Store; seqs: Map<string, number> }> {
      const store = await makeStore();
      opened.push(store);
      await store.events.append(appendOf(['a1', 'a2'], { receivedAt: T0 - 2 * HOUR }));
      await store.events.append(appendOf(['s1'], { event: SHOT_EVENT, receivedAt: T0 - HOUR }));
      const grace: AppendInput = {
        request: request('trackpilots', T0),
        events: ['g1', 'g2'].map((key) => ({ dedupeKey: key, item: appItem(key, { user: 'user-grace' }) })),
      };
      await store.events.append(grace);
      await store.events.append(appendOf(['x1'], { source: 'github', event: 'push[1]?', receivedAt: T0 }));
      const seqs = new Map((await readAll(store)).map((event) => [event.dedupeKey, event.seq]));
      return { store, seqs };
    }
    const keys = (events: StoredEvent[]) => events.map((event) => event.dedupeKey);

    it('filters by type glob as in on:, by user and by received time; every filter must hold', async () => {
      const { store } = await seeded();
      expect(keys(await store.events.list({ limit: 10, type: 'desktop.*' }))).toEqual([
        'g2',
        'g1',
        's1',
        'a2',
        'a1',
      ]);
      expect(keys(await store.events.list({ limit: 10, type: '*.screenshot_tracking.*' }))).toEqual(['s1']);
      expect(keys(await store.events.list({ limit: 10, type: [SHOT_EVENT, 'push*'] }))).toEqual(['x1', 's1']);
      // GLOB's own ? and [ ] are literal here, as they are in on:.
      expect(keys(await store.events.list({ limit: 10, type: 'push[1]?' }))).toEqual(['x1']);
      expect(keys(await store.events.list({ limit: 10, type: 'push[1*' }))).toEqual(['x1']);
      expect(keys(await store.events.list({ limit: 10, type: 'push?1*' }))).toEqual([]);
      expect(keys(await store.events.list({ limit: 10, type: '*' }))).toHaveLength(6);
      expect(keys(await store.events.list({ limit: 10, user: 'user-grace' }))).toEqual(['g2', 'g1']);
      expect(keys(await store.events.list({ limit: 10, receivedSince: T0 - HOUR }))).toEqual([
        'x1',
        'g2',
        'g1',
        's1',
      ]);
      expect(
        keys(
          await store.events.list({ limit: 10, type: APP_EVENT, user: 'user-ada', receivedSince: T0 - HOUR }),
        ),
      ).toEqual([]);
    });

    it('pages by seq: before gives the next page back, after the next page on, both newest first', async () => {
      const { store, seqs } = await seeded();
      const s1 = seqs.get('s1') ?? 0;
      expect(keys(await store.events.list({ limit: 2, beforeSeq: s1 }))).toEqual(['a2', 'a1']);
      expect(keys(await store.events.list({ limit: 2, afterSeq: s1 }))).toEqual(['g2', 'g1']);
      expect(keys(await store.events.list({ limit: 10, afterSeq: s1, beforeSeq: seqs.get('x1') }))).toEqual([
        'g2',
        'g1',
      ]);
      expect(await store.events.list({ limit: 10, afterSeq: seqs.get('x1') })).toEqual([]);
      await expect(store.events.list({ limit: 1, beforeSeq: 1.5 })).rejects.toMatchObject({
        code: StoreErrorCode.inputInvalid,
      });
    });

    it('gets one item by seq, without image bytes; undefined for a seq never stored', async () => {
      const { store, seqs } = await seeded();
      const got = await store.events.get(seqs.get('g1') ?? 0);
      expect(got?.dedupeKey).toBe('g1');
      expect(got?.item).toEqual(appItem('g1', { user: 'user-grace' }));
      expect(got?.image).toBeUndefined();
      expect(await store.events.get(999_999)).toBeUndefined();
    });
  });
}
