import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { type FakeDiscord, startFakeDiscord } from '../../test/helpers/fake-discord.js';
import {
  type HttpReceiver,
  type ScriptedResponse,
  startHttpReceiver,
} from '../../test/helpers/http-receiver.js';
import { waitFor } from '../../test/helpers/wait.js';
import { runDlq } from '../cli/dlq.js';
import { createDestination, type Destination, type WebhookOptions } from '../destinations/index.js';
import { PNG_1X1 } from '../destinations/testdata/fixtures.js';
import type { Item } from '../domain/item.js';
import { type Clock, createManualClock, systemClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { createMetrics, type Metrics } from '../lib/metrics.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createDeliverer, type Deliverer, type DeliveryEvent, type DeliveryPolicy } from './deliverer.js';
import { pacingPolicyFor } from './pacing.js';
import { retryPolicyFor } from './retry-policy.js';
import {
  type CapturedLogger,
  captureLogger,
  createEventMonitor,
  type EventMonitor,
  enqueue,
  openTempStore,
  T0,
  type TempStore,
  testAlert,
} from './testdata/harness.js';

const LEASE_MS = 30_000;
const silent = createLogger('silent');

/** Everything one test builds; closed in afterEach, whatever the test did. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempStore(): Promise<TempStore> {
  const temp = await openTempStore();
  cleanups.push(() => temp.close());
  return temp;
}

async function receiver(defaultResponse?: ScriptedResponse): Promise<HttpReceiver> {
  const started = await startHttpReceiver(defaultResponse);
  cleanups.push(() => started.close());
  return started;
}

function webhook(name: string, target: HttpReceiver, options: Partial<WebhookOptions> = {}): Destination {
  const destination = createDestination(
    name,
    {
      type: 'webhook',
      url: `${target.origin}/${name}`,
      method: 'POST',
      headers: {},
      body: 'alert',
      timeoutMs: 5_000,
      allowPrivateNetworks: true,
      ...options,
    },
    { logger: silent },
  );
  cleanups.push(() => destination.close());
  return destination;
}

/** policy is the webhook defaults with `retry`/`rate` overrides, as the config's keys would give them. */
function policy(
  retry: Parameters<typeof retryPolicyFor>[1] = {},
  rate: Parameters<typeof pacingPolicyFor>[1] = {},
): DeliveryPolicy {
  return { retry: retryPolicyFor('webhook', retry), pacing: pacingPolicyFor('webhook', rate) };
}

interface Harness {
  deliverer: Deliverer;
  monitor: EventMonitor;
  metrics: Metrics;
  log: CapturedLogger;
}

function deliverer(
  temp: TempStore,
  destinations: Map<string, Destination>,
  options: {
    clock?: Clock;
    policies?: Map<string, DeliveryPolicy>;
    random?: () => number;
    pollMs?: number;
    releaseLeasesAtStart?: boolean;
  } = {},
): Harness {
  const monitor = createEventMonitor();
  const metrics = createMetrics();
  const log = captureLogger();
  const created = createDeliverer({
    store: temp.store,
    destinations,
    policies: options.policies ?? new Map(),
    clock: options.clock ?? createManualClock(T0),
    logger: log.logger,
    metrics,
    leaseMs: LEASE_MS,
    // Long enough that a test which needs a look at the outbox asks for it with wake().
    pollMs: options.pollMs ?? 60_000,
    // No jitter: a retry is due at once, or exactly when the peer's Retry-After says.
    random: options.random ?? (() => 0),
    onEvent: monitor.listener,
    ...(options.releaseLeasesAtStart === undefined
      ? {}
      : { releaseLeasesAtStart: options.releaseLeasesAtStart }),
  });
  cleanups.push(() => created.stop());
  return { deliverer: created, monitor, metrics, log };
}

/**
 * withGatedWrite returns the store with one outbox write held back until `openGate()` (a slow commit).
 * Register openGate as a cleanup after the deliverer's, so that it runs first and a failed test never
 * hangs on the gate.
 */
function withGatedWrite(
  temp: TempStore,
  method: 'recordDelivered' | 'scheduleRetry' | 'pauseDestination',
): { store: TempStore; openGate: () => void; reached: Promise<void>; nextLook: () => Promise<void> } {
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });
  let reach: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  const { outbox, deadLetters } = temp.store;
  // A pause is written to the dead-letters port, the other transitions to the outbox.
  const port = method === 'pauseDestination' ? 'deadLetters' : 'outbox';
  const target = temp.store[port];
  const write = (target as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method]!;
  const gated = async (...args: unknown[]) => {
    reach();
    await gate;
    return write.apply(target, args);
  };
  // The loop's looks at the outbox (a claim, or the paused list while paused): a test waits for the next
  // one instead of sleeping, to know the loop has stepped since.
  const lookers = new Set<() => void>();
  const looked =
    <A extends unknown[], R>(read: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const waiting = [...lookers];
      lookers.clear();
      const answer = await read(...args);
      for (const wake of waiting) wake();
      return answer;
    };
  const nextLook = () => new Promise<void>((resolve) => lookers.add(resolve));
  return {
    store: {
      ...temp,
      store: {
        ...temp.store,
        outbox: {
          ...outbox,
          ...(port === 'outbox' ? { [method]: gated } : {}),
          claim: looked(outbox.claim.bind(outbox)),
        },
        deadLetters: {
          ...deadLetters,
          ...(port === 'deadLetters' ? { [method]: gated } : {}),
          listPausedDestinations: looked(deadLetters.listPausedDestinations.bind(deadLetters)),
        },
      },
    },
    openGate,
    reached,
    nextLook,
  };
}

/** storeRequest stores one received request with one item, as ingest does, and returns the request id. */
async function storeRequest(
  temp: TempStore,
  body: Buffer,
  item: Pick<Item, 'event' | 'id'> & Partial<Item>,
  image?: Buffer,
): Promise<string> {
  const appended = await temp.store.events.append({
    request: { source: 'tp', event: item.event, receivedAt: T0, body },
    events: [
      {
        dedupeKey: item.id,
        item: { source: 'tp', at: T0, receivedAt: T0, simulation: false, raw: {}, ...item },
        ...(image === undefined ? {} : { image }),
      },
    ],
  });
  return appended.requestId;
}

const webhookIds = (target: HttpReceiver): string[] =>
  target.requests.map((request) => String(request.headers['webhook-id']));

const is =
  (type: DeliveryEvent['type'], id?: string) =>
  (event: DeliveryEvent): boolean =>
    event.type === type && (id === undefined || ('id' in event && event.id === id));

function cliIo(path: string) {
  return captureIo({ env: { HOOKRELAY_DB: `sqlite:${path}` } });
}

describe('deliverer: delivered', () => {
  it('sends each notification once with its stable id as webhook-id, and records it', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    const { deliverer: d, monitor, metrics } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]));
    await d.start();
    await enqueue(temp.store, 'hook', ['n1', 'n2']);

    await monitor.count(is('delivery:delivered'), 2);
    expect(webhookIds(sink)).toEqual(['n1', 'n2']);
    const body = JSON.parse(sink.requests[0]?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({ id: 'n1', title: 'alert n1', rule: 'went-quiet' });
    expect(await temp.store.outbox.pendingCounts()).toEqual({});
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'hookrelay_deliveries_total{destination="hook",outcome="delivered",reason="ok"} 2',
    );
    expect(text).toMatch(/hookrelay_delivery_duration_seconds_count\{destination="hook"\} 2/);
    expect(text).toContain('hookrelay_outbox_pending{destination="hook"} 0');
  });

  it('reads the stored request only for a destination that forwards it (body: event)', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    const payload = Buffer.from('{"event":"desktop.activity_tracking.captured","data":{"a":1}}');
    const requestId = await storeRequest(temp, payload, {
      event: 'desktop.activity_tracking.captured',
      id: 'act-1',
    });
    const reads: string[] = [];
    const events = temp.store.events;
    const store = {
      outbox: temp.store.outbox,
      deadLetters: temp.store.deadLetters,
      blobs: temp.store.blobs,
      conversations: temp.store.conversations,
      events: {
        getRequest: (id: string) => {
          reads.push(id);
          return events.getRequest(id);
        },
      },
    };
    const monitor = createEventMonitor();
    const d = createDeliverer({
      store,
      destinations: new Map([
        ['alerts', webhook('alerts', sink)],
        ['forward', webhook('forward', sink, { body: 'event' })],
      ]),
      policies: new Map(),
      clock: systemClock,
      logger: silent,
      metrics: createMetrics(),
      onEvent: monitor.listener,
    });
    cleanups.push(() => d.stop());
    await d.start();
    await enqueue(temp.store, 'alerts', ['a1', 'a2'], { requestId });
    await enqueue(temp.store, 'forward', ['f1'], { requestId });

    await monitor.count(is('delivery:delivered'), 3);
    expect(reads).toEqual([requestId]);
    expect(sink.requests.find((r) => r.url === '/forward')?.body.equals(payload)).toBe(true);
  });

  it('forwards the received payload for body: event, and attaches the screenshot bytes', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    const discord: FakeDiscord = await startFakeDiscord();
    cleanups.push(() => discord.close());
    const payload = Buffer.from('{"event":"desktop.screenshot_tracking.captured","data":[{"a":1}]}');
    const requestId = await storeRequest(
      temp,
      payload,
      {
        event: 'desktop.screenshot_tracking.captured',
        id: 'shot-1',
        screenshot: { id: 'shot-1', isIdle: true, image: { kind: 'bytes', mime: 'image/png', size: 68 } },
      },
      PNG_1X1,
    );
    const [event] = await temp.store.events.readAfter(0, 1);
    const forward = webhook('forward', sink, { body: 'event' });
    const chat = createDestination(
      'chat',
      { type: 'discord', webhookUrl: discord.webhookUrl, timeoutMs: 5_000, allowPrivateNetworks: true },
      { logger: silent },
    );
    cleanups.push(() => chat.close());
    const { deliverer: d, monitor } = deliverer(
      temp,
      new Map([
        ['forward', forward],
        ['chat', chat],
      ]),
    );
    await d.start();
    await enqueue(temp.store, 'forward', ['f1'], { requestId });
    const { cursor } = await temp.store.evaluator.load();
    await temp.store.evaluator.commit({
      fromCursor: cursor,
      cursor,
      upserts: [],
      deletes: [],
      notifications: [
        {
          id: 'c1',
          destination: 'chat',
          alert: testAlert('c1', { attachScreenshot: true }),
          eventSeq: event?.seq ?? 0,
          createdAt: T0,
          dueAt: T0,
        },
      ],
    });

    await monitor.count(is('delivery:delivered'), 2);
    expect(sink.requests[0]?.body.equals(payload)).toBe(true);
    expect(sink.requests[0]?.headers['webhook-id']).toBe('f1');
    expect(discord.executions).toHaveLength(1);
    expect(discord.executions[0]?.files[0]?.bytes.equals(PNG_1X1)).toBe(true);
  });
});

describe('deliverer: retries', () => {
  it('waits at least as long as a 429 Retry-After asks, then delivers once', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    sink.script({ status: 429, headers: { 'retry-after': '3' } });
    const clock = createManualClock(T0);
    const { deliverer: d, monitor } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]), { clock });
    await d.start();
    await enqueue(temp.store, 'hook', ['n1']);

    const retry = await monitor.until(is('delivery:retry', 'n1'));
    expect(retry).toMatchObject({ reason: 'rateLimited', dueAt: T0 + 3_000 });
    // Nobody may take it before then: the outbox itself holds it back.
    clock.advance(2_999);
    const early = await temp.store.outbox.claim({
      now: clock.now(),
      leaseMs: LEASE_MS,
      limitPerDestination: 10,
      destinations: ['hook'],
    });
    expect(early).toEqual([]);
    expect(sink.requests).toHaveLength(1);

    clock.advance(1);
    d.wake();
    const delivered = await monitor.until(is('delivery:delivered', 'n1'));
    expect(delivered).toMatchObject({ attempts: 2 });
    expect(webhookIds(sink)).toEqual(['n1', 'n1']);
    expect(monitor.of('delivery:delivered')).toHaveLength(1);
  });

  it('retries a 5xx and delivers, counting both attempts', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    sink.script({ status: 503 });
    const { deliverer: d, monitor, metrics } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]));
    await d.start();
    await enqueue(temp.store, 'hook', ['n1']);

    await monitor.until(is('delivery:delivered', 'n1'));
    expect(monitor.of('delivery:retry')).toMatchObject([{ id: 'n1', reason: 'serverError', attempts: 1 }]);
    expect(monitor.of('delivery:delivered')).toMatchObject([{ id: 'n1', attempts: 2 }]);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'hookrelay_deliveries_total{destination="hook",outcome="retry",reason="serverError"} 1',
    );
  });

  it('keeps the order: what was claimed behind a retried notification waits for it', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    sink.script({ status: 200 }, { status: 429, headers: { 'retry-after': '2' } });
    const clock = createManualClock(T0);
    const { deliverer: d, monitor } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]), { clock });
    await enqueue(temp.store, 'hook', ['n1', 'n2', 'n3', 'n4']);
    await d.start();

    await monitor.until(is('delivery:retry', 'n2'));
    expect(webhookIds(sink)).toEqual(['n1', 'n2']);
    clock.advance(2_000);
    d.wake();
    await monitor.count(is('delivery:delivered'), 4);
    expect(webhookIds(sink)).toEqual(['n1', 'n2', 'n2', 'n3', 'n4']);
    // n3 and n4 stayed claimed while n2 waited: one attempt each, none lost to a lapsed lease.
    expect(monitor.of('delivery:delivered').map((e) => [e.id, e.attempts])).toEqual([
      ['n1', 1],
      ['n2', 2],
      ['n3', 1],
      ['n4', 1],
    ]);
  });

  it('dead-letters after maxAttempts with every attempt kept', async () => {
    const temp = await tempStore();
    const sink = await receiver({ status: 503, body: 'down' });
    const policies = new Map([['hook', policy({ maxAttempts: 3 })]]);
    const {
      deliverer: d,
      monitor,
      metrics,
    } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]), {
      policies,
    });
    await d.start();
    await enqueue(temp.store, 'hook', ['n1']);

    await monitor.until(is('delivery:dead', 'n1'));
    const [letter, ...others] = await temp.store.deadLetters.listDead({ limit: 10 });
    expect(others).toEqual([]);
    expect(letter?.reason).toMatch(
      /^exhausted after 3 attempts; last: serverError: webhook 127\.0\.0\.1:\d+: HTTP 503: down$/,
    );
    expect(letter?.attempts.map((a) => [a.outcome, a.reason])).toEqual([
      ['retry', 'serverError'],
      ['retry', 'serverError'],
      ['dead', 'serverError'],
    ]);
    expect(letter?.attempts[2]?.detail).toMatch(/^webhook 127\.0\.0\.1:\d+: HTTP 503: down$/);
    expect(sink.requests).toHaveLength(3);
    expect(await metrics.registry.metrics()).toContain(
      'hookrelay_deliveries_total{destination="hook",outcome="dead",reason="exhausted"} 1',
    );
  });

  it('dead-letters a message the peer refuses, keeps its history, and moves on to the next', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    sink.script({ status: 500 }, { status: 400, body: 'bad field' });
    const { deliverer: d, monitor } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]));
    await enqueue(temp.store, 'hook', ['n1', 'n2']);
    await d.start();

    await monitor.until(is('delivery:delivered', 'n2'));
    const [letter] = await temp.store.deadLetters.listDead({ limit: 10 });
    expect(letter?.notification.id).toBe('n1');
    expect(letter?.reason).toMatch(/^payloadRejected: webhook 127\.0\.0\.1:\d+: HTTP 400: bad field$/);
    expect(letter?.attempts.map((a) => a.outcome)).toEqual(['retry', 'dead']);
    expect(letter?.notification.alert.title).toBe('alert n1');
  });

  it('gives up on a notification older than maxAge', async () => {
    const temp = await tempStore();
    const sink = await receiver({ status: 502 });
    const clock = createManualClock(T0);
    const policies = new Map([['hook', policy({ maxAge: 60_000, initialDelay: 100_000 })]]);
    const { deliverer: d, monitor } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]), {
      clock,
      policies,
      random: () => 0.99,
    });
    await d.start();
    await enqueue(temp.store, 'hook', ['n1']);

    // The jittered wait (99 s) would end after the maximum age, so the last try is at the age limit.
    const retry = await monitor.until(is('delivery:retry', 'n1'));
    expect(retry).toMatchObject({ dueAt: T0 + 60_000 });
    clock.advance(60_000);
    d.wake();
    const dead = await monitor.until(is('delivery:dead', 'n1'));
    expect((dead as { reason: string }).reason).toMatch(
      /^too old: first attempt 1m 00s ago, maxAge 1m 00s; last: serverError: webhook 127\.0\.0\.1:\d+: HTTP 502$/,
    );
  });
});

describe('deliverer: a message that cannot be rendered', () => {
  it('is a dead letter at once, and the queue behind it moves on', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    await enqueue(temp.store, 'hook', ['n1', 'n2']);
    // An alert whose item is nested deeper than JSON.stringify can go (it parses, it never serialises),
    // written as the evaluator of an older relay could have stored it.
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const db = new Database(temp.path);
    const stored = db.prepare('SELECT alert FROM notifications WHERE id = ?').get('n1') as { alert: string };
    db.prepare('UPDATE notifications SET alert = ? WHERE id = ?').run(
      `${stored.alert.slice(0, -1)},"item":${deep}}`,
      'n1',
    );
    db.close();
    const { deliverer: d, monitor, metrics } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]));
    await d.start();

    await monitor.until(is('delivery:delivered', 'n2'));
    expect(webhookIds(sink)).toEqual(['n2']);
    expect(monitor.of('delivery:retry')).toEqual([]);
    const [letter, ...others] = await temp.store.deadLetters.listDead({ limit: 10 });
    expect(others).toEqual([]);
    expect(letter?.notification.id).toBe('n1');
    expect(letter?.reason).toMatch(/^unrenderable: webhook 127\.0\.0\.1:\d+: the message cannot be rendered/);
    expect(letter?.attempts.map((a) => [a.outcome, a.reason])).toEqual([['dead', 'unrenderable']]);
    expect(await metrics.registry.metrics()).toContain(
      'hookrelay_deliveries_total{destination="hook",outcome="dead",reason="unrenderable"} 1',
    );
  });
});

describe('deliverer: broken destinations', () => {
  it('pauses, keeps every message, and after dlq replay delivers them all in order', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    sink.script({ status: 410, body: 'gone' });
    const {
      deliverer: d,
      monitor,
      metrics,
      log,
    } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]));
    await enqueue(temp.store, 'hook', ['n1', 'n2', 'n3']);
    await d.start();

    const paused = await monitor.until(is('destination:paused'));
    expect(paused).toMatchObject({ destination: 'hook' });
    await enqueue(temp.store, 'hook', ['n4', 'n5'], { createdAt: T0 + 10 });
    d.wake();
    expect(await temp.store.outbox.pendingCounts()).toEqual({ hook: 5 });
    expect(await temp.store.deadLetters.listDead({ limit: 10 })).toEqual([]);
    expect(webhookIds(sink)).toEqual(['n1']);
    const [pause] = await temp.store.deadLetters.listPausedDestinations();
    expect(pause?.reason).toMatch(
      /^notFound: webhook 127\.0\.0\.1:\d+: HTTP 410: gone \(the channel, webhook/,
    );
    const scrape = await metrics.registry.metrics();
    expect(scrape).toContain('hookrelay_destination_paused{destination="hook",reason="notFound"} 1');
    expect(scrape).toContain('hookrelay_outbox_pending{destination="hook"} 5');
    const errors = log.lines().filter((line) => line.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain('destination "hook" is paused: webhook 127.0.0.1');
    expect(errors[0]?.msg).toContain('hookrelay dlq resume hook');

    // The CLI runs in another process in real life: its own connection, no wake-up for this one.
    const io = cliIo(temp.path);
    expect(await runDlq(['replay', '--destination', 'hook'], io)).toBe(0);
    expect(io.out()).toBe('requeued 0 dead letters; resumed hook\n');
    d.wake();
    await monitor.count(is('delivery:delivered'), 5);
    expect(webhookIds(sink)).toEqual(['n1', 'n1', 'n2', 'n3', 'n4', 'n5']);
    expect(await metrics.registry.metrics()).not.toContain('hookrelay_destination_paused{');
  });

  it('resumes on reload with the new adapter and delivers in order', async () => {
    const temp = await tempStore();
    const broken = await receiver({ status: 401 });
    const fixed = await receiver();
    const { deliverer: d, monitor } = deliverer(temp, new Map([['hook', webhook('hook', broken)]]));
    await enqueue(temp.store, 'hook', ['n1', 'n2', 'n3']);
    await d.start();
    await monitor.until(is('destination:paused'));
    expect(monitor.of('destination:paused')[0]?.reason).toMatch(/^authError: /);

    await d.reload(new Map([['hook', webhook('hook', fixed)]]), new Map());
    expect(monitor.of('destination:resumed')).toContainEqual({
      type: 'destination:resumed',
      destination: 'hook',
      by: 'reload',
    });
    await monitor.count(is('delivery:delivered'), 3);
    expect(webhookIds(fixed)).toEqual(['n1', 'n2', 'n3']);
    expect(webhookIds(broken)).toEqual(['n1']);
    // n2 and n3 were claimed when the pause came: they were handed back unsent (the claim's count stays).
    expect(monitor.of('delivery:delivered').map((e) => [e.id, e.attempts])).toEqual([
      ['n1', 2],
      ['n2', 2],
      ['n3', 2],
    ]);
  });

  it('leaves notifications for a destination no longer configured pending, and says so once', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    await enqueue(temp.store, 'gone', ['g1', 'g2']);
    const { deliverer: d, monitor, log } = deliverer(temp, new Map([['hook', webhook('hook', sink)]]));
    await d.start();
    await d.reload(new Map([['hook', webhook('hook', sink)]]), new Map());
    expect(monitor.of('destination:unconfigured')).toEqual([
      { type: 'destination:unconfigured', destination: 'gone', pending: 2 },
    ]);
    expect(log.lines().filter((line) => line.level === 40 && line['destination'] === 'gone')).toHaveLength(1);
    expect(await temp.store.outbox.pendingCounts()).toEqual({ gone: 2 });
  });
});

describe('deliverer: independence, crashes and shutdown', () => {
  it('a destination that does not answer does not delay another', async () => {
    const temp = await tempStore();
    let answer: () => void = () => undefined;
    // Answers only when the test says so (at cleanup, before the deliverer stops and waits for it).
    const slow = await receiver({ status: 200, hold: new Promise<void>((resolve) => (answer = resolve)) });
    const fast = await receiver();
    const { deliverer: d, monitor } = deliverer(
      temp,
      new Map([
        ['slow', webhook('slow', slow)],
        ['fast', webhook('fast', fast)],
      ]),
      { clock: systemClock },
    );
    cleanups.push(async () => answer());
    await d.start();
    await enqueue(temp.store, 'slow', ['s1', 's2']);
    await slow.waitForRequests(1);
    await enqueue(temp.store, 'fast', ['f1', 'f2', 'f3']);

    await monitor.count((e) => e.type === 'delivery:delivered' && e.destination === 'fast', 3);
    expect(monitor.events.some((e) => e.type === 'delivery:delivered' && e.destination === 'slow')).toBe(
      false,
    );
    expect(slow.requests).toHaveLength(1);
  });

  it('runs several sends at once when rate.concurrency allows it', async () => {
    const temp = await tempStore();
    let answer: () => void = () => undefined;
    const slow = await receiver({ status: 200, hold: new Promise<void>((resolve) => (answer = resolve)) });
    cleanups.push(async () => answer());
    const policies = new Map([['hook', policy({}, { concurrency: 3 })]]);
    const { deliverer: d, monitor } = deliverer(temp, new Map([['hook', webhook('hook', slow)]]), {
      clock: systemClock,
      policies,
    });
    await enqueue(temp.store, 'hook', ['n1', 'n2', 'n3', 'n4']);
    await d.start();
    // Three requests arrive before any answer; the fourth waits for a free slot.
    await slow.waitForRequests(3);
    expect(webhookIds(slow)).toEqual(['n1', 'n2', 'n3']);
    answer();
    await monitor.count(is('delivery:delivered'), 4);
    expect(webhookIds(slow)).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  it('sends again, with the same webhook-id, what a crashed worker had claimed once its lease runs out', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    const clock = createManualClock(T0);
    const hook = webhook('hook', sink);
    await enqueue(temp.store, 'hook', ['n1', 'n2']);
    // The "crashed" worker: it claims, sends n1, and dies before recording anything.
    const claimed = await temp.store.outbox.claim({
      now: clock.now(),
      leaseMs: LEASE_MS,
      limitPerDestination: 10,
      destinations: ['hook'],
    });
    expect(claimed.map((n) => n.id)).toEqual(['n1', 'n2']);
    await hook.send(claimed[0] as (typeof claimed)[0], { signal: new AbortController().signal, attempt: 1 });

    // As with a store several processes deliver from: the claim may be a live peer's, so it runs out.
    const { deliverer: d, monitor } = deliverer(temp, new Map([['hook', hook]]), {
      clock,
      releaseLeasesAtStart: false,
    });
    await d.start();
    clock.advance(LEASE_MS - 1);
    d.wake();
    // Still leased: the outbox hands out nothing, so nothing is sent twice while the lease holds.
    expect(
      await temp.store.outbox.claim({
        now: clock.now(),
        leaseMs: 1,
        limitPerDestination: 1,
        destinations: ['hook'],
      }),
    ).toEqual([]);
    clock.advance(1);
    d.wake();
    await monitor.count(is('delivery:delivered'), 2);
    expect(webhookIds(sink)).toEqual(['n1', 'n1', 'n2']);
    expect(monitor.of('delivery:delivered').map((e) => [e.id, e.attempts])).toEqual([
      ['n1', 2],
      ['n2', 2],
    ]);
  });

  it('releases at start what a crashed run had claimed, and sends it at once: no lease to wait out', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    const clock = createManualClock(T0);
    const hook = webhook('hook', sink);
    await enqueue(temp.store, 'hook', ['n1', 'n2']);
    // The crashed run (this store has one process at a time): it claimed both, sent n1 and died.
    const claimed = await temp.store.outbox.claim({
      now: clock.now(),
      leaseMs: LEASE_MS,
      limitPerDestination: 10,
      destinations: ['hook'],
    });
    await hook.send(claimed[0] as (typeof claimed)[0], { signal: new AbortController().signal, attempt: 1 });

    const { deliverer: d, monitor, log } = deliverer(temp, new Map([['hook', hook]]), { clock });
    await d.start();
    // The clock never moves: the leases were ended, not run out.
    await monitor.count(is('delivery:delivered'), 2);
    expect(webhookIds(sink)).toEqual(['n1', 'n1', 'n2']);
    expect(monitor.of('delivery:delivered').map((e) => [e.id, e.attempts])).toEqual([
      ['n1', 2],
      ['n2', 2],
    ]);
    expect(log.lines().filter((line) => 'released' in line)).toMatchObject([{ released: 2 }]);
  });

  it('sends the next notification while the previous one is being recorded, and records each', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    // A store whose commits are slow: nothing is recorded until the gate opens.
    const { store: slowStore, openGate } = withGatedWrite(temp, 'recordDelivered');
    const { deliverer: d, monitor } = deliverer(slowStore, new Map([['hook', webhook('hook', sink)]]));
    // Runs before the deliverer's stop (cleanups run last first), so a failed test never hangs on the gate.
    cleanups.push(async () => openGate());
    await enqueue(temp.store, 'hook', ['n1', 'n2', 'n3']);
    await d.start();

    // One at a time (concurrency 1), in order, each without waiting for the previous one's write.
    await sink.waitForRequests(3);
    expect(webhookIds(sink)).toEqual(['n1', 'n2', 'n3']);
    expect(monitor.of('delivery:delivered')).toEqual([]);
    openGate();
    await monitor.count(is('delivery:delivered'), 3);
    expect(monitor.of('delivery:delivered').map((e) => e.id)).toEqual(['n1', 'n2', 'n3']);
    expect(await temp.store.outbox.pendingCounts()).toEqual({});
  });

  it('holds the queue behind a retry from the moment it is decided, before its write is durable', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    sink.script({ status: 503, body: 'busy' });
    const { store: slowStore, openGate, reached, nextLook } = withGatedWrite(temp, 'scheduleRetry');
    const { deliverer: d, monitor } = deliverer(slowStore, new Map([['hook', webhook('hook', sink)]]));
    // Runs before the deliverer's stop (cleanups run last first), so a failed test never hangs on the gate.
    cleanups.push(async () => openGate());
    await enqueue(temp.store, 'hook', ['n1', 'n2']);
    await d.start();

    // n1's retry is decided and being written; the loop looks at the outbox again meanwhile (the head's
    // retry is due at once) and must not let n2 overtake n1.
    await reached;
    await nextLook();
    expect(webhookIds(sink)).toEqual(['n1']);
    openGate();
    await monitor.until(is('delivery:retry', 'n1'));
    d.wake();
    await monitor.count(is('delivery:delivered'), 2);
    expect(webhookIds(sink)).toEqual(['n1', 'n1', 'n2']);
  });

  it('stays paused while the pause is still being written, sending nothing more', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    sink.script({ status: 410, body: 'gone' });
    const { store: slowStore, openGate, reached, nextLook } = withGatedWrite(temp, 'pauseDestination');
    const { deliverer: d, monitor } = deliverer(slowStore, new Map([['hook', webhook('hook', sink)]]));
    cleanups.push(async () => openGate());
    await enqueue(temp.store, 'hook', ['n1', 'n2']);
    await d.start();

    await reached;
    openGate();
    await monitor.until(is('destination:paused'));
    const looked = nextLook();
    d.wake();
    // The loop's next look at the paused list, once the pause's writes have landed.
    await looked;
    // Not "resumed" by a look at the paused list made before the pause was written, and n2 never sent.
    expect(monitor.of('destination:resumed')).toEqual([]);
    expect(webhookIds(sink)).toEqual(['n1']);
    expect(await temp.store.outbox.pendingCounts()).toEqual({ hook: 2 });
  });

  it('two processes on one database keep one pace: the second sends at the slot the first left, not at once', async () => {
    const temp = await tempStore();
    // A second process on the same file: its own store, its own deliverer, its own (full) local bucket.
    const other: TempStore = {
      store: await openSqliteStore(temp.path),
      path: temp.path,
      close: async () => {},
    };
    cleanups.push(() => other.store.close());
    const sink = await receiver();
    const clock = createManualClock(T0);
    const policies = new Map([['hook', policy({}, { perSecond: 1, burst: 1 })]]);
    const options = { clock, policies, releaseLeasesAtStart: false };
    const a = deliverer(temp, new Map([['hook', webhook('hook', sink)]]), options);
    const b = deliverer(other, new Map([['hook', webhook('hook', sink)]]), options);
    await a.deliverer.start();
    await b.deliverer.start();
    await enqueue(temp.store, 'hook', ['n1']);
    await a.monitor.until(is('delivery:delivered', 'n1'));
    // Enqueued through the second store, so only its loop wakes (SQLite has no wake-up across processes).
    await enqueue(other.store, 'hook', ['n2']);
    const raw = new Database(temp.path, { readonly: true });
    cleanups.push(async () => raw.close());
    const bucket = raw.prepare('SELECT tat FROM destination_pacing WHERE destination = ?').pluck();
    await waitFor('n2 to be claimed with the next slot', () => bucket.get('hook') === T0 + 2_000);
    expect(webhookIds(sink)).toEqual(['n1']);
    clock.advance(1_000);
    b.deliverer.wake();
    await b.monitor.until(is('delivery:delivered', 'n2'));
    expect(webhookIds(sink)).toEqual(['n1', 'n2']);
  });

  it('stop waits for the send in flight and hands back what it held; a restart claims it at once, at the kept pace', async () => {
    const temp = await tempStore();
    const sink = await receiver();
    const clock = createManualClock(T0);
    const policies = new Map([['hook', policy({}, { perSecond: 1, burst: 1 })]]);
    const first = deliverer(temp, new Map([['hook', webhook('hook', sink)]]), { clock, policies });
    await enqueue(temp.store, 'hook', ['n1', 'n2', 'n3']);
    await first.deliverer.start();
    await first.monitor.until(is('delivery:delivered', 'n1'));
    // n2 and n3 are claimed and wait for a token (the clock does not move).
    await first.deliverer.stop();
    expect(await temp.store.outbox.pendingCounts()).toEqual({ hook: 2 });

    // No lease has to run out (the clock does not move). The pace is the store's and outlives the process:
    // n1 to n3 were given the slots of T0, T0 + 1 s and T0 + 2 s, and the two handed back wasted theirs,
    // so n2's new slot is T0 + 3 s and n3's T0 + 4 s.
    const second = deliverer(temp, new Map([['hook', webhook('hook', sink)]]), { clock, policies });
    await second.deliverer.start();
    const raw = new Database(temp.path, { readonly: true });
    cleanups.push(async () => raw.close());
    const bucket = raw.prepare('SELECT tat FROM destination_pacing WHERE destination = ?').pluck();
    await waitFor('n2 and n3 to be claimed again', () => bucket.get('hook') === T0 + 5_000);
    expect(webhookIds(sink)).toEqual(['n1']);
    clock.advance(3_000);
    second.deliverer.wake();
    await second.monitor.until(is('delivery:delivered', 'n2'));
    expect(webhookIds(sink)).toEqual(['n1', 'n2']);
    clock.advance(1_000);
    second.deliverer.wake();
    await second.monitor.until(is('delivery:delivered', 'n3'));
    expect(webhookIds(sink)).toEqual(['n1', 'n2', 'n3']);
  });
});
