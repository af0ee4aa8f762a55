import { afterEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../domain/event.js';
import type { Item } from '../domain/item.js';
import { StoreErrorCode } from './errors.js';
import type { AppendInput, NewEvent, Store } from './ports.js';

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
