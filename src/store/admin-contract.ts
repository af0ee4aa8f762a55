import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../domain/alert.js';
import type { AppendInput } from '../domain/event.js';
import type { Item } from '../domain/item.js';
import type { NewSilence } from './admin-ports.js';
import { StoreErrorCode } from './errors.js';
import type { AttemptRecord, NewNotification, Store } from './ports.js';

/*
 * The conformance suite of the admin ports (SilenceStore, AdminReads). Every engine runs it; it assumes
 * nothing about an engine's internals, only what admin-ports.ts promises.
 */

/** Monday 2026-01-05 09:00 UTC: tests never depend on the wall clock. */
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const APP = 'desktop.app_tracking.captured';
const SHOT = 'desktop.screenshot_tracking.captured';

function itemOf(id: string, overrides: Partial<Item> = {}): Item {
  return {
    source: 'trackpilots',
    event: APP,
    id,
    at: T0,
    receivedAt: T0,
    simulation: false,
    user: 'user-ada',
    raw: { trackingId: id },
    ...overrides,
  };
}

function appendOf(items: Item[], options: { image?: boolean } = {}): AppendInput {
  const first = items[0] as Item;
  return {
    request: {
      source: first.source,
      event: first.event,
      receivedAt: first.receivedAt,
      body: Buffer.from(JSON.stringify({ event: first.event, data: items.map((item) => item.raw) })),
    },
    events: items.map((item) => ({
      dedupeKey: item.id,
      item,
      ...(options.image ? { image: Buffer.from([0x89, 0x50, 0x4e, 0x47]) } : {}),
    })),
  };
}

function alertOf(id: string, overrides: Partial<Alert> = {}): Alert {
  return {
    id,
    rule: 'idle-screens',
    status: 'firing',
    severity: 'warning',
    title: `Alert ${id}`,
    text: 'text',
    key: 'user-ada',
    user: 'user-ada',
    at: T0,
    simulation: false,
    ...overrides,
  };
}

function notificationOf(
  id: string,
  alert: Alert,
  destination: string,
  overrides: Partial<NewNotification> = {},
): NewNotification {
  return { id, destination, alert, createdAt: T0, dueAt: T0, ...overrides };
}

async function enqueue(store: Store, notifications: NewNotification[]): Promise<void> {
  const { cursor } = await store.evaluator.load();
  await store.evaluator.commit({ fromCursor: cursor, cursor, upserts: [], deletes: [], notifications });
}

function silenceOf(overrides: Partial<NewSilence> = {}): NewSilence {
  return {
    matchers: { rule: 'went-quiet', user: 'user-ada' },
    startsAt: T0,
    endsAt: T0 + 2 * HOUR,
    comment: 'on leave',
    createdBy: 'ops@example.com',
    createdAt: T0,
    ...overrides,
  };
}

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

const attempt = (at: number, outcome: AttemptRecord['outcome'], reason?: string): AttemptRecord => ({
  at,
  durationMs: 25,
  outcome,
  ...(reason ? { reason, detail: `HTTP 500 (${reason})` } : {}),
});

/** describeSilenceContract registers the SilenceStore suite; `makeStore` returns a new, empty store. */
export function describeSilenceContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`SilenceStore contract: ${name}`, () => {
    const open = openedStores(makeStore);

    it('creates a silence with a fresh id and reads it back as stored', async () => {
      const store = await open();
      const created = await store.silences.create(silenceOf());
      const other = await store.silences.create(silenceOf());
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(other.id).not.toBe(created.id);
      expect(created).toEqual({ ...silenceOf(), id: created.id });
      expect(await store.silences.get(created.id)).toEqual(created);
      expect(await store.silences.get('no-such-id')).toBeUndefined();
    });

    it('keeps matchers with nested conditions and unicode exactly', async () => {
      const store = await open();
      const matchers = { 'app.name': { regex: '^Fig.*ü$' }, severity: ['warning', 'critical'], n: 0 };
      const created = await store.silences.create(silenceOf({ matchers, comment: '🙂 "quoted" <b>' }));
      expect(await store.silences.get(created.id)).toMatchObject({ matchers, comment: '🙂 "quoted" <b>' });
    });

    it('lists newest first, limited; endsAfter leaves out expired and ended silences', async () => {
      const store = await open();
      const old = await store.silences.create(silenceOf({ createdAt: T0, endsAt: T0 + HOUR }));
      const mid = await store.silences.create(silenceOf({ createdAt: T0 + MINUTE, endsAt: T0 + 3 * HOUR }));
      const young = await store.silences.create(silenceOf({ createdAt: T0 + 2 * MINUTE }));
      await store.silences.expire(mid.id, T0 + 5 * MINUTE);
      const ids = (list: { id: string }[]) => list.map((s) => s.id);
      expect(ids(await store.silences.list({ limit: 10 }))).toEqual([young.id, mid.id, old.id]);
      expect(ids(await store.silences.list({ limit: 2 }))).toEqual([young.id, mid.id]);
      expect(ids(await store.silences.list({ limit: 10, endsAfter: T0 + 30 * MINUTE }))).toEqual([
        young.id,
        old.id,
      ]);
      // Ended at T0 + 1h exactly: not after it.
      expect(ids(await store.silences.list({ limit: 10, endsAfter: T0 + HOUR }))).toEqual([young.id]);
      expect(await store.silences.list({ limit: 0 })).toEqual([]);
    });

    it('expires once: a second expire keeps the first time; an unknown id is undefined', async () => {
      const store = await open();
      const created = await store.silences.create(silenceOf());
      const expired = await store.silences.expire(created.id, T0 + 10 * MINUTE);
      expect(expired).toEqual({ ...created, expiredAt: T0 + 10 * MINUTE });
      expect(await store.silences.expire(created.id, T0 + 20 * MINUTE)).toEqual(expired);
      expect(await store.silences.get(created.id)).toEqual(expired);
      expect(await store.silences.expire('no-such-id', T0)).toBeUndefined();
    });

    it('extends the end of a live silence, never of an expired one', async () => {
      const store = await open();
      const live = await store.silences.create(silenceOf());
      expect(await store.silences.extend(live.id, T0 + 5 * HOUR)).toEqual({ ...live, endsAt: T0 + 5 * HOUR });
      const gone = await store.silences.create(silenceOf());
      const expired = await store.silences.expire(gone.id, T0 + MINUTE);
      expect(await store.silences.extend(gone.id, T0 + 9 * HOUR)).toEqual(expired);
      expect(await store.silences.extend('no-such-id', T0 + 9 * HOUR)).toBeUndefined();
      await expect(store.silences.extend(live.id, T0 - HOUR)).rejects.toMatchObject({
        code: StoreErrorCode.inputInvalid,
      });
      expect((await store.silences.get(live.id))?.endsAt).toBe(T0 + 5 * HOUR);
    });

    it('rejects a malformed silence and stores nothing', async () => {
      const store = await open();
      const bad: Array<Partial<NewSilence> & Record<string, unknown>> = [
        { endsAt: T0 },
        { endsAt: T0 - 1 },
        { startsAt: Number.NaN },
        { endsAt: Number.POSITIVE_INFINITY },
        { matchers: ['rule'] as unknown as NewSilence['matchers'] },
        { matchers: null as unknown as NewSilence['matchers'] },
        { comment: 42 as unknown as string },
        { createdBy: 'x'.repeat(5_000) },
      ];
      for (const overrides of bad) {
        await expect(store.silences.create(silenceOf(overrides))).rejects.toMatchObject({
          code: StoreErrorCode.inputInvalid,
        });
      }
      expect(await store.silences.list({ limit: 10 })).toEqual([]);
    });

    it('changes the revision with every write that changed something, and only then', async () => {
      const store = await open();
      const seen = [await store.silences.revision()];
      const created = await store.silences.create(silenceOf());
      seen.push(await store.silences.revision());
      await store.silences.list({ limit: 10 });
      await store.silences.get(created.id);
      expect(await store.silences.revision()).toBe(seen[1]);
      await store.silences.extend(created.id, T0 + 4 * HOUR);
      seen.push(await store.silences.revision());
      await store.silences.expire(created.id, T0 + HOUR);
      seen.push(await store.silences.revision());
      await store.silences.expire(created.id, T0 + 2 * HOUR);
      await store.silences.extend(created.id, T0 + 8 * HOUR);
      expect(await store.silences.revision()).toBe(seen[3]);
      expect(new Set(seen).size).toBe(4);
    });

    it('rejects every call after close', async () => {
      const store = await makeStore();
      await store.close();
      await expect(store.silences.create(silenceOf())).rejects.toMatchObject({ code: StoreErrorCode.closed });
      await expect(store.silences.list({ limit: 1 })).rejects.toMatchObject({ code: StoreErrorCode.closed });
      await expect(store.silences.revision()).rejects.toMatchObject({ code: StoreErrorCode.closed });
    });
  });
}

/** describeAdminReadsContract registers the AdminReads suite; `makeStore` returns a new, empty store. */
export function describeAdminReadsContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`AdminReads contract: ${name}`, () => {
    const open = openedStores(makeStore);

    /** Three requests: two app items of Ada, one screenshot of Bob (with image), one item of another source. */
    async function seedEvents(store: Store): Promise<number[]> {
      await store.events.append(appendOf([itemOf('a1'), itemOf('a2', { at: T0 + 1 })]));
      await store.events.append(
        appendOf([itemOf('s1', { event: SHOT, user: 'user-bob', receivedAt: T0 + 2 * MINUTE })], {
          image: true,
        }),
      );
      await store.events.append(
        appendOf([itemOf('g1', { source: 'github', event: 'push', receivedAt: T0 + 5 * MINUTE })]),
      );
      const all = await store.admin.listEvents({ limit: 10 });
      return all.map((event) => event.seq);
    }

    it('lists events newest first with every filter, and pages by seq', async () => {
      const store = await open();
      const seqs = await seedEvents(store);
      const ids = async (query: Parameters<Store['admin']['listEvents']>[0]) =>
        (await store.admin.listEvents(query)).map((event) => event.item.id);
      expect(await ids({ limit: 10 })).toEqual(['g1', 's1', 'a2', 'a1']);
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      expect(await ids({ limit: 2 })).toEqual(['g1', 's1']);
      expect(await ids({ limit: 2, beforeSeq: seqs[1] })).toEqual(['a2', 'a1']);
      expect(await ids({ limit: 10, afterSeq: seqs[2] })).toEqual(['g1', 's1']);
      expect(await ids({ limit: 10, source: 'trackpilots' })).toEqual(['s1', 'a2', 'a1']);
      expect(await ids({ limit: 10, type: SHOT })).toEqual(['s1']);
      expect(await ids({ limit: 10, type: 'desktop.*' })).toEqual(['s1', 'a2', 'a1']);
      expect(await ids({ limit: 10, type: 'desktop.?pp*' })).toEqual([]);
      expect(await ids({ limit: 10, user: 'user-bob' })).toEqual(['s1']);
      expect(await ids({ limit: 10, receivedFrom: T0 + 2 * MINUTE })).toEqual(['g1', 's1']);
      expect(await ids({ limit: 10, receivedTo: T0 + 2 * MINUTE })).toEqual(['a2', 'a1']);
      expect(
        await ids({
          limit: 10,
          source: 'trackpilots',
          user: 'user-ada',
          receivedFrom: T0,
          receivedTo: T0 + 1,
        }),
      ).toEqual(['a2', 'a1']);
      expect(await ids({ limit: 0 })).toEqual([]);
    });

    it('says which events have an image without loading its bytes', async () => {
      const store = await open();
      await seedEvents(store);
      const events = await store.admin.listEvents({ limit: 10 });
      expect(events.map((event) => [event.item.id, event.hasImage])).toEqual([
        ['g1', false],
        ['s1', true],
        ['a2', false],
        ['a1', false],
      ]);
      expect(events[1]).toMatchObject({ receivedAt: T0 + 2 * MINUTE, dedupeKey: 's1' });
      expect(JSON.stringify(events)).not.toContain('PNG');
    });

    it('gets one event with the raw body of its request', async () => {
      const store = await open();
      const seqs = await seedEvents(store);
      const last = seqs[seqs.length - 1] as number;
      const event = await store.admin.getEvent(last);
      expect(event?.item).toEqual(itemOf('a1'));
      expect(JSON.parse(event?.body?.toString('utf8') ?? 'null')).toEqual({
        event: APP,
        data: [{ trackingId: 'a1' }, { trackingId: 'a2' }],
      });
      expect(await store.admin.getEvent(999_999)).toBeUndefined();
    });

    it('rejects malformed queries', async () => {
      const store = await open();
      const invalid = { code: StoreErrorCode.inputInvalid };
      await expect(store.admin.listEvents({ limit: -1 })).rejects.toMatchObject(invalid);
      await expect(store.admin.listEvents({ limit: 1, beforeSeq: 1.5 })).rejects.toMatchObject(invalid);
      await expect(store.admin.listEvents({ limit: 1, receivedFrom: Number.NaN })).rejects.toMatchObject(
        invalid,
      );
      await expect(
        store.admin.listNotifications({ limit: 1, status: 'lost' as unknown as 'dead' }),
      ).rejects.toMatchObject(invalid);
    });

    /**
     * Two alerts: `x` (rule idle-screens) to slack and mail, triggered by the first item; `y` (rule
     * went-quiet) to slack, from a tick. Slack's `x` is delivered after a retry, mail's `x` is dead.
     */
    async function seedAlerts(store: Store): Promise<{ eventSeq: number }> {
      await store.events.append(appendOf([itemOf('a1')]));
      const [event] = await store.admin.listEvents({ limit: 1 });
      const eventSeq = event?.seq as number;
      const x = alertOf('x', { item: itemOf('a1') });
      const y = alertOf('y', { rule: 'went-quiet', at: T0 + MINUTE });
      await enqueue(store, [
        notificationOf('x-slack', x, 'slack', { eventSeq }),
        notificationOf('x-mail', x, 'mail', { eventSeq }),
      ]);
      await enqueue(store, [notificationOf('y-slack', y, 'slack', { createdAt: T0 + 2 * MINUTE })]);
      const claim = (destinations: string[], now: number) =>
        store.outbox.claim({ now, leaseMs: MINUTE, limitPerDestination: 1, destinations });
      await claim(['slack', 'mail'], T0);
      await store.outbox.scheduleRetry('x-slack', {
        dueAt: T0,
        attempt: attempt(T0, 'retry', 'serverError'),
      });
      await store.outbox.deadLetter('x-mail', {
        reason: 'payloadRejected',
        attempt: attempt(T0, 'dead', 'payloadRejected'),
      });
      await claim(['slack'], T0 + 1_000);
      await store.outbox.recordDelivered('x-slack', attempt(T0 + 1_000, 'delivered'));
      return { eventSeq };
    }

    it('lists notifications newest first, by alert, rule, destination, status and triggering item', async () => {
      const store = await open();
      const { eventSeq } = await seedAlerts(store);
      const ids = async (query: Parameters<Store['admin']['listNotifications']>[0]) =>
        (await store.admin.listNotifications(query)).map((n) => n.id);
      expect(await ids({ limit: 10 })).toEqual(['y-slack', 'x-mail', 'x-slack']);
      expect(await ids({ limit: 10, alertId: 'x' })).toEqual(['x-mail', 'x-slack']);
      expect(await ids({ limit: 10, rule: 'went-quiet' })).toEqual(['y-slack']);
      expect(await ids({ limit: 10, destination: 'slack' })).toEqual(['y-slack', 'x-slack']);
      expect(await ids({ limit: 10, status: 'dead' })).toEqual(['x-mail']);
      expect(await ids({ limit: 10, status: 'pending' })).toEqual(['y-slack']);
      expect(await ids({ limit: 10, eventSeq })).toEqual(['x-mail', 'x-slack']);
      expect(await ids({ limit: 10, createdFrom: T0 + MINUTE })).toEqual(['y-slack']);
      const [newest] = await store.admin.listNotifications({ limit: 1 });
      expect(await ids({ limit: 10, beforeSeq: newest?.seq })).toEqual(['x-mail', 'x-slack']);
      expect(await ids({ limit: 10, afterSeq: (newest?.seq ?? 0) - 1 })).toEqual(['y-slack']);
    });

    it('reports each notification’s state and, when asked, its attempts oldest first', async () => {
      const store = await open();
      const { eventSeq } = await seedAlerts(store);
      const list = await store.admin.listNotifications({ limit: 10, withAttempts: true });
      const byId = new Map(list.map((n) => [n.id, n]));
      expect(byId.get('x-slack')).toMatchObject({
        destination: 'slack',
        status: 'delivered',
        deliveredAt: T0 + 1_000,
        attemptCount: 2,
        eventSeq,
        alert: { id: 'x', rule: 'idle-screens' },
        attempts: [attempt(T0, 'retry', 'serverError'), attempt(T0 + 1_000, 'delivered')],
      });
      expect(byId.get('x-mail')).toMatchObject({
        status: 'dead',
        deadReason: 'payloadRejected',
        deadAt: T0,
        attempts: [attempt(T0, 'dead', 'payloadRejected')],
      });
      expect(byId.get('y-slack')).toMatchObject({ status: 'pending', attemptCount: 0, attempts: [] });
      expect(byId.get('y-slack')?.eventSeq).toBeUndefined();
      const without = await store.admin.listNotifications({ limit: 10 });
      expect(without.every((n) => n.attempts === undefined)).toBe(true);
      expect(await store.admin.getNotification('x-slack')).toEqual(byId.get('x-slack'));
      expect(await store.admin.getNotification('nope')).toBeUndefined();
    });

    it('summarises per minute, the backlog per destination and the evaluator’s progress', async () => {
      const store = await open();
      await seedEvents(store);
      await seedAlerts(store);
      const overview = await store.admin.overview(T0);
      // seedAlerts' item a1 is a duplicate of seedEvents' a1: not stored again, not counted.
      expect(overview.eventsPerMinute).toEqual([
        { key: 'trackpilots', minute: T0, count: 2 },
        { key: 'trackpilots', minute: T0 + 2 * MINUTE, count: 1 },
        { key: 'github', minute: T0 + 5 * MINUTE, count: 1 },
      ]);
      // Alert x went to two destinations: it counts once.
      expect(overview.alertsPerMinute).toEqual([
        { key: 'idle-screens', minute: T0, count: 1 },
        { key: 'went-quiet', minute: T0 + 2 * MINUTE, count: 1 },
      ]);
      expect(overview.backlog).toEqual([
        { destination: 'mail', pending: 0, dead: 1 },
        { destination: 'slack', pending: 1, oldestPendingAt: T0 + 2 * MINUTE, dead: 0 },
      ]);
      expect(overview.evaluator).toMatchObject({ cursor: 0, oldestPendingAt: T0 });
      expect(overview.evaluator.newestSeq).toBeGreaterThan(0);
      expect((await store.admin.overview(T0 + 3 * MINUTE)).eventsPerMinute).toEqual([
        { key: 'github', minute: T0 + 5 * MINUTE, count: 1 },
      ]);
    });

    it('reports the evaluator caught up once its cursor is at the newest item', async () => {
      const store = await open();
      await seedEvents(store);
      const { newestSeq } = (await store.admin.overview(T0)).evaluator;
      await store.evaluator.commit({
        fromCursor: 0,
        cursor: newestSeq,
        upserts: [],
        deletes: [],
        notifications: [],
      });
      expect((await store.admin.overview(T0)).evaluator).toEqual({ cursor: newestSeq, newestSeq });
    });

    it('counts alerts per rule (not notifications) with the newest time, and the newest seqs', async () => {
      const store = await open();
      expect(await store.admin.ruleActivity()).toEqual([]);
      expect(await store.admin.newestSeqs()).toEqual({ event: 0, notification: 0 });
      await seedAlerts(store);
      expect(await store.admin.ruleActivity()).toEqual([
        { rule: 'idle-screens', alerts: 1, lastAt: T0 },
        { rule: 'went-quiet', alerts: 1, lastAt: T0 + 2 * MINUTE },
      ]);
      const newest = await store.admin.newestSeqs();
      const [notification] = await store.admin.listNotifications({ limit: 1 });
      const [event] = await store.admin.listEvents({ limit: 1 });
      expect(newest).toEqual({ event: event?.seq, notification: notification?.seq });
    });
  });
}
