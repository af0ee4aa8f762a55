import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  discordError,
  discordRateLimited,
  type FakeDiscord,
  startFakeDiscord,
} from '../../test/helpers/fake-discord.js';
import { type FakeSlack, startFakeSlack } from '../../test/helpers/fake-slack.js';
import { type FakeSmtp, startFakeSmtp } from '../../test/helpers/fake-smtp.js';
import { createDestination, type Destination, type DestinationOptions } from '../destinations/index.js';
import { systemClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { createMetrics } from '../lib/metrics.js';
import { createDeliverer, type Deliverer, type DeliveryEvent } from './deliverer.js';
import { pacingPolicyFor } from './pacing.js';
import { retryPolicyFor } from './retry-policy.js';
import {
  captureLogger,
  createEventMonitor,
  type EventMonitor,
  enqueue,
  openTempStore,
  type TempStore,
} from './testdata/harness.js';

/*
 * Each adapter through the real deliverer, the real SQLite outbox and the real clock, against its fake
 * peer: a rate limit is waited out and then delivered, a server error is retried and delivered, and a
 * broken destination pauses with its messages kept, then resumes on reload and delivers them in order.
 * The deliverer tests prove the queue's rules with a webhook; these prove that every adapter's answers
 * drive them, and that no client library refuses the send after the wait (@discordjs/rest keeps its own
 * rate-limit state in wall-clock time, which is why the clock here is real).
 */

const silent = createLogger('silent');
let slack: FakeSlack;
let discord: FakeDiscord;
let smtp: FakeSmtp;

beforeAll(async () => {
  [slack, discord, smtp] = await Promise.all([startFakeSlack(), startFakeDiscord(), startFakeSmtp()]);
});
afterAll(async () => {
  await Promise.all([slack.close(), discord.close(), smtp.close()]);
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  slack.reset();
  discord.reset();
  smtp.reset();
});

/** Peer is one adapter and the fake it talks to, with the failures this test scripts on it. */
interface Peer {
  name: string;
  type: 'slack' | 'discord' | 'email';
  options(): DestinationOptions;
  /** A rate limit asking for a wait of `waitMs` (an SMTP server has none: a 4xx, retried by backoff). */
  rateLimit(): { waitMs: number };
  serverError(): void;
  /** An answer that says the destination itself is broken (bad channel, webhook gone, sender refused). */
  broken(): { reason: string };
  /** Titles the peer received, failed attempts included, in order. */
  received(): string[];
}

const PEERS: Peer[] = [
  {
    name: 'slack bot',
    type: 'slack',
    options: () => ({
      type: 'slack',
      token: 'xoxb-test-token',
      channel: 'C0123456789',
      apiUrl: slack.apiUrl,
      timeoutMs: 5_000,
      allowPrivateNetworks: true,
    }),
    rateLimit: () => {
      slack.script('chat.postMessage', {
        status: 429,
        headers: { 'retry-after': '1' },
        body: { ok: false, error: 'ratelimited' },
      });
      return { waitMs: 1_000 };
    },
    serverError: () => slack.script('chat.postMessage', { status: 503, body: 'unavailable' }),
    broken: () => {
      slack.script('chat.postMessage', { body: { ok: false, error: 'channel_not_found' } });
      return { reason: 'notFound' };
    },
    received: () => slack.callsTo('chat.postMessage').map((call) => String(call.params['text'])),
  },
  {
    name: 'slack incoming webhook',
    type: 'slack',
    options: () => ({
      type: 'slack',
      webhookUrl: slack.webhookUrl,
      timeoutMs: 5_000,
      allowPrivateNetworks: true,
    }),
    rateLimit: () => {
      slack.script('webhook', { status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' });
      return { waitMs: 1_000 };
    },
    serverError: () => slack.script('webhook', { status: 500, body: 'internal error' }),
    broken: () => {
      slack.script('webhook', { status: 404, body: 'no_service' });
      return { reason: 'notFound' };
    },
    received: () => slack.callsTo('webhook').map((call) => String(call.params['text'])),
  },
  {
    name: 'discord',
    type: 'discord',
    options: () => ({
      type: 'discord',
      webhookUrl: discord.webhookUrl,
      timeoutMs: 5_000,
      allowPrivateNetworks: true,
    }),
    rateLimit: () => {
      // Discord's float retry_after, without a Retry-After header.
      discord.script(discordRateLimited(0.4, { header: false }));
      return { waitMs: 400 };
    },
    serverError: () => discord.script({ status: 502, body: 'bad gateway' }),
    broken: () => {
      discord.script(discordError(404, 10015, 'Unknown Webhook'));
      return { reason: 'notFound' };
    },
    received: () =>
      discord.executions.map((execution) => {
        const embeds = execution.payload['embeds'] as Array<{ title?: string }> | undefined;
        return String(embeds?.[0]?.title);
      }),
  },
  {
    name: 'email',
    type: 'email',
    options: () => ({
      type: 'email',
      smtpUrl: smtp.url,
      from: 'hookrelay <alerts@example.com>',
      to: ['lead@example.com'],
      timeoutMs: 5_000,
      allowPrivateNetworks: true,
    }),
    rateLimit: () => {
      smtp.scriptData({ code: 451, message: '4.7.1 Try again later' });
      return { waitMs: 0 };
    },
    serverError: () => smtp.scriptMailFrom({ code: 421, message: '4.3.2 Service not available' }),
    broken: () => {
      smtp.scriptMailFrom({ code: 553, message: '5.7.1 Sender address rejected' });
      return { reason: 'notFound' };
    },
    received: () => smtp.messages.map((mail) => mail.subject),
  },
];

const is =
  (type: DeliveryEvent['type'], id?: string) =>
  (event: DeliveryEvent): boolean =>
    event.type === type && (id === undefined || ('id' in event && event.id === id));

async function setUp(
  peer: Peer,
  logger = silent,
): Promise<{
  temp: TempStore;
  deliverer: Deliverer;
  monitor: EventMonitor;
  destination: () => Destination;
}> {
  const temp = await openTempStore();
  cleanups.push(() => temp.close());
  const destination = () => {
    const made = createDestination('chat', peer.options(), { logger: silent });
    cleanups.push(() => made.close());
    return made;
  };
  const monitor = createEventMonitor();
  const policy = {
    retry: retryPolicyFor(peer.type, {}),
    // Room for a few sends a second: the pacing of each type is tested on its own.
    pacing: pacingPolicyFor(peer.type, { perSecond: 50, burst: 10 }),
  };
  const deliverer = createDeliverer({
    store: temp.store,
    destinations: new Map([['chat', destination()]]),
    policies: new Map([['chat', policy]]),
    clock: systemClock,
    logger,
    metrics: createMetrics(),
    leaseMs: 30_000,
    pollMs: 50,
    // No jitter: a backoff without a peer's wait is due at once.
    random: () => 0,
    onEvent: monitor.listener,
  });
  cleanups.push(() => deliverer.stop());
  return { temp, deliverer, monitor, destination };
}

describe.each(PEERS)('$name through the deliverer', (peer) => {
  it('waits out a rate limit as long as the peer asks, then delivers once', async () => {
    const { temp, deliverer, monitor } = await setUp(peer);
    const { waitMs } = peer.rateLimit();
    await deliverer.start();
    const sentAt = Date.now();
    await enqueue(temp.store, 'chat', ['n1']);

    const retry = (await monitor.until(is('delivery:retry', 'n1'))) as Extract<
      DeliveryEvent,
      { type: 'delivery:retry' }
    >;
    expect(retry.reason).toBe(peer.type === 'email' ? 'serverError' : 'rateLimited');
    expect(retry.dueAt).toBeGreaterThanOrEqual(sentAt + waitMs);
    const delivered = await monitor.until(is('delivery:delivered', 'n1'), 10_000);
    expect(delivered).toMatchObject({ attempts: 2 });
    expect(Date.now()).toBeGreaterThanOrEqual(retry.dueAt);
    // The failed attempt reached the peer too (an SMTP 451 after DATA is not a received message).
    expect(peer.received().filter((title) => title.includes('alert n1'))).toHaveLength(
      peer.type === 'email' ? 1 : 2,
    );
    expect(monitor.of('delivery:delivered')).toHaveLength(1);
  });

  it('retries a server error and delivers', async () => {
    const { temp, deliverer, monitor } = await setUp(peer);
    peer.serverError();
    await deliverer.start();
    await enqueue(temp.store, 'chat', ['n1']);

    await monitor.until(is('delivery:delivered', 'n1'), 10_000);
    expect(monitor.of('delivery:retry')).toMatchObject([{ id: 'n1', reason: 'serverError', attempts: 1 }]);
    expect(monitor.of('delivery:delivered')).toMatchObject([{ id: 'n1', attempts: 2 }]);
  });

  it('pauses when the destination is broken, keeps its messages, and delivers them in order after a reload', async () => {
    const { temp, deliverer, monitor, destination } = await setUp(peer);
    const { reason } = peer.broken();
    await enqueue(temp.store, 'chat', ['n1', 'n2', 'n3']);
    await deliverer.start();

    const paused = await monitor.until(is('destination:paused'));
    expect((paused as { reason: string }).reason).toMatch(new RegExp(`^${reason}: `));
    expect(await temp.store.outbox.pendingCounts()).toEqual({ chat: 3 });
    expect(await temp.store.deadLetters.listDead({ limit: 10 })).toEqual([]);
    const before = peer.received().length;

    await deliverer.reload(new Map([['chat', destination()]]), new Map());
    await monitor.count(is('delivery:delivered'), 3, 10_000);
    const titles = peer.received().slice(before);
    expect(titles.map((title) => /alert (n\d)/.exec(title)?.[1])).toEqual(['n1', 'n2', 'n3']);
    expect(await temp.store.outbox.pendingCounts()).toEqual({});
  });
});

describe('email through the deliverer', () => {
  it('delivers to the recipients the server took, and keeps and logs which it refused', async () => {
    const email = PEERS.find((peer) => peer.type === 'email');
    if (!email) throw new Error('no email peer');
    const log = captureLogger();
    const base = email.options();
    const { temp, deliverer, monitor } = await setUp(
      { ...email, options: () => ({ ...base, to: ['lead@example.com', 'gone@example.com'] }) },
      log.logger,
    );
    smtp.rejectRecipient('gone@example.com', { code: 550, message: '5.1.1 User unknown' });
    await deliverer.start();
    await enqueue(temp.store, 'chat', ['n1']);

    await monitor.until(is('delivery:delivered', 'n1'), 10_000);
    expect(smtp.messages.map((mail) => mail.envelope.to)).toEqual([['lead@example.com']]);
    const db = new Database(temp.path, { readonly: true });
    try {
      const details = db
        .prepare<[], { outcome: string; detail: string | null }>(
          'SELECT outcome, detail FROM notification_attempts ORDER BY id',
        )
        .all();
      expect(details).toHaveLength(1);
      expect(details[0]?.outcome).toBe('delivered');
      expect(details[0]?.detail).toMatch(/delivered to 1 of 2 recipients; rejected: gone@example\.com/);
    } finally {
      db.close();
    }
    const note = log.lines().find((line) => line.msg === 'delivered, with a note');
    expect(note?.['detail']).toMatch(/rejected: gone@example\.com.*User unknown/);
  });
});
