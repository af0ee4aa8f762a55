import { afterEach, describe, expect, it } from 'vitest';
import type { Destination, SendContext, SendResult } from '../destinations/types.js';
import type { Notification } from '../domain/alert.js';
import { createLogger } from '../lib/log.js';
import { createMetrics } from '../lib/metrics.js';
import { createDeliverer } from './deliverer.js';
import { createEventMonitor, openTempStore, T0, type TempStore, testAlert } from './testdata/harness.js';
import { CONVERSATION_MAX_AGE_MS } from './worker.js';

/*
 * The deliverer's side of one conversation per alert (issue 13 §1, §3): a destination that threads gets
 * the conversation its first message started, the conversation ends with the resolve, and the repeats of
 * an acknowledged alert are not sent until it resolves. The destination here is a recording adapter: the
 * real Slack/Discord/email behaviour is their own tests' and the e2e tests'.
 */

interface Sent {
  id: string;
  status: string;
  conversation: SendContext['conversation'];
}

function threadingDestination(sent: Sent[]): Destination {
  let messages = 0;
  return {
    name: 'chat',
    type: 'slack',
    threads: true,
    async send(notification: Notification, context: SendContext): Promise<SendResult> {
      sent.push({
        id: notification.id,
        status: notification.alert.status,
        conversation: context.conversation,
      });
      if (context.conversation) return { ok: true };
      messages += 1;
      return { ok: true, conversation: { channel: 'C1', ts: `1.${messages}` } };
    },
    close: async () => undefined,
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(now: () => number = () => T0 + 10_000): Promise<{
  temp: TempStore;
  sent: Sent[];
  monitor: ReturnType<typeof createEventMonitor>;
}> {
  const temp = await openTempStore();
  cleanups.push(() => temp.close());
  const sent: Sent[] = [];
  const monitor = createEventMonitor();
  const deliverer = createDeliverer({
    store: temp.store,
    destinations: new Map([['chat', threadingDestination(sent)]]),
    policies: new Map(),
    clock: { now },
    logger: createLogger('silent'),
    metrics: createMetrics(),
    pollMs: 20,
    random: () => 0,
    onEvent: monitor.listener,
  });
  cleanups.push(() => deliverer.stop());
  await deliverer.start();
  return { temp, sent, monitor };
}

async function enqueueAlerts(
  temp: TempStore,
  alerts: Array<{ id: string; status: 'firing' | 'resolved' }>,
  at: number,
) {
  const { cursor } = await temp.store.evaluator.load();
  await temp.store.evaluator.commit({
    fromCursor: cursor,
    cursor,
    upserts: [],
    deletes: [],
    notifications: alerts.map((a, index) => ({
      id: a.id,
      destination: 'chat',
      alert: testAlert(a.id, { status: a.status }),
      createdAt: at + index,
      dueAt: T0,
    })),
  });
}

const delivered = (event: { type: string }) => event.type === 'delivery:delivered';
const key = { destination: 'chat', rule: 'went-quiet', key: 'user-ada' };

describe('deliverer: one conversation per alert', () => {
  it('follow-ups get the first message; the resolve ends it; the next firing starts a new one', async () => {
    const { temp, sent, monitor } = await setup();
    await enqueueAlerts(
      temp,
      [
        { id: 'fire', status: 'firing' },
        { id: 'repeat', status: 'firing' },
        { id: 'resolve', status: 'resolved' },
        { id: 'again', status: 'firing' },
      ],
      T0,
    );
    await monitor.count(delivered, 4);
    expect(sent).toEqual([
      { id: 'fire', status: 'firing', conversation: undefined },
      { id: 'repeat', status: 'firing', conversation: { channel: 'C1', ts: '1.1' } },
      { id: 'resolve', status: 'resolved', conversation: { channel: 'C1', ts: '1.1' } },
      { id: 'again', status: 'firing', conversation: undefined },
    ]);
    expect((await temp.store.conversations.find(key))?.ref).toEqual({ channel: 'C1', ts: '1.2' });
  });

  it('an acknowledged alert: repeats are recorded as not sent, the resolve is sent', async () => {
    const { temp, sent, monitor } = await setup();
    await enqueueAlerts(temp, [{ id: 'fire', status: 'firing' }], T0);
    await monitor.count(delivered, 1);
    expect(
      await temp.store.conversations.acknowledge(
        { rule: 'went-quiet', key: 'user-ada' },
        'slack:U1 (Ada)',
        T0,
      ),
    ).toBe(1);
    await enqueueAlerts(
      temp,
      [
        { id: 'repeat', status: 'firing' },
        { id: 'resolve', status: 'resolved' },
      ],
      T0 + 100,
    );
    await monitor.count(delivered, 3);
    expect(sent.map((s) => s.id)).toEqual(['fire', 'resolve']);
    expect(await temp.store.conversations.find(key)).toBeUndefined();
  });

  it('a firing a day after the first message starts a new conversation; a resolve still goes to the old one', async () => {
    let now = T0 + 10_000;
    const { temp, sent, monitor } = await setup(() => now);
    await enqueueAlerts(temp, [{ id: 'fire', status: 'firing' }], T0);
    await monitor.count(delivered, 1);
    now += CONVERSATION_MAX_AGE_MS + 1;
    await enqueueAlerts(
      temp,
      [
        { id: 'next-day', status: 'firing' },
        { id: 'resolve', status: 'resolved' },
      ],
      T0 + 100,
    );
    await monitor.count(delivered, 3);
    expect(sent.map((s) => [s.id, s.conversation?.ts])).toEqual([
      ['fire', undefined],
      ['next-day', undefined],
      ['resolve', '1.2'],
    ]);
  });
});
