import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { type HttpReceiver, startHttpReceiver } from '../helpers/http-receiver.js';
import { metricValue } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Two spawned `hookrelay serve` on one PostgreSQL database (a fresh one per run): the leader is killed
 * with -9 mid-stream and the other takes over; the alerts are exactly those of one process on SQLite fed
 * the same payloads. The failover time is printed, not asserted (`node dist/bench/failover.js` measures).
 */

const SECRET = 'ha-secret';
const USERS = ['u-1', 'u-2', 'u-3', 'u-4'];
const BASE = Date.now() - 60_000;
// The same bytes for both runs: 5 activity events per user, one second apart (threshold state matters).
const PAYLOADS = Array.from({ length: 5 }, (_, round) =>
  USERS.map((userId, u) =>
    JSON.stringify(sampleActivityEvent({ userId, now: BASE + (round * USERS.length + u) * 1_000 })),
  ),
).flat();

function rulesYaml(receiver: HttpReceiver): string {
  return `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${SECRET}] }
destinations:
  hook: { type: webhook, url: "${receiver.origin}/in", allowPrivateNetworks: true }
rules:
  - name: each
    on: desktop.activity_tracking.captured
    to: [hook]
  - name: third
    on: desktop.activity_tracking.captured
    threshold: { per: user, window: 1h, count: 3 }
    cooldown: 1h
    to: [hook]
`;
}

const alertIds = (receiver: HttpReceiver) =>
  new Set(receiver.requests.map((r) => (JSON.parse(r.body.toString('utf8')) as { id: string }).id));

async function post(server: ServerProcess, body: string): Promise<void> {
  const answer = await postSigned(`${server.url}/webhooks/trackpilots`, body, SECRET);
  expect(answer.status).toBe(200);
}

let db: TestDatabase;
const servers: ServerProcess[] = [];
const receivers: HttpReceiver[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await db?.drop();
});

describe('two hookrelay serve on one PostgreSQL database', () => {
  it('kill -9 of the leader mid-stream: the standby takes over and the alerts equal a single-process run', async () => {
    // The single-process run on SQLite: what the alerts must be.
    const single = await startHttpReceiver();
    receivers.push(single);
    const alone = await startServer({ rulesYaml: rulesYaml(single) });
    servers.push(alone);
    for (const body of PAYLOADS) await post(alone, body);
    // 20 per-event alerts and one threshold alert per user.
    const expectedCount = PAYLOADS.length + USERS.length;
    await single.waitForRequests(expectedCount, 15_000);
    const expected = alertIds(single);
    expect(expected.size).toBe(expectedCount);
    await alone.stop();

    const receiver = await startHttpReceiver();
    receivers.push(receiver);
    const env = { HOOKRELAY_DB: db.url };
    const a = await startServer({ rulesYaml: rulesYaml(receiver), env });
    servers.push(a);
    const b = await startServer({ rulesYaml: rulesYaml(receiver), env });
    servers.push(b);
    expect(await metricValue(a.url, 'hookrelay_evaluator_leader')).toBe(1);
    expect(await metricValue(b.url, 'hookrelay_evaluator_leader')).toBe(0);
    const term = await metricValue(a.url, 'hookrelay_evaluator_lease_term');

    // The first half spread over both instances, as a load balancer would.
    const half = PAYLOADS.length / 2;
    for (const [i, body] of PAYLOADS.slice(0, half).entries()) await post(i % 2 ? b : a, body);
    // Delivered and recorded, so the kill leaves no claimed row to wait out (stale claims: pg's tests).
    await waitFor(
      'the first half to be evaluated and delivered',
      async () =>
        (await metricValue(b.url, 'hookrelay_evaluator_lag_seconds')) === 0 &&
        (await metricValue(b.url, 'hookrelay_outbox_pending', { destination: 'hook' })) === 0 &&
        receiver.requests.length >= half,
      { timeoutMs: 15_000 },
    );

    const killedAt = performance.now();
    a.child.kill('SIGKILL');
    await a.exited;
    // Events keep arriving at the survivor while it is still a standby.
    for (const body of PAYLOADS.slice(half)) await post(b, body);
    await waitFor(
      'the standby to lead',
      async () => (await metricValue(b.url, 'hookrelay_evaluator_leader')) === 1,
      {
        timeoutMs: 15_000,
      },
    );
    const failoverMs = performance.now() - killedAt;
    expect(await metricValue(b.url, 'hookrelay_evaluator_lease_term')).toBe(term + 1);

    await waitFor('every alert', () => alertIds(receiver).size >= expected.size, {
      timeoutMs: 15_000,
      explain: () => `got ${alertIds(receiver).size} of ${expected.size}`,
    });
    expect(alertIds(receiver)).toEqual(expected);
    // Produced once each: the outbox holds exactly the intended notifications (redeliveries share an id).
    const pool = db.pool({ max: 1 });
    const rows = await pool.query<{ count: string }>('SELECT count(*) FROM notifications');
    expect(Number(rows.rows[0]?.count)).toBe(expected.size);
    console.log(`failover after kill -9 of a serve: ${failoverMs.toFixed(0)} ms (lease TTL 3 s)`);
  }, 90_000);

  it('SIGTERM of the leader: it resigns on the way out and the standby leads at once', async () => {
    const own = await createTestDatabase();
    const receiver = await startHttpReceiver();
    receivers.push(receiver);
    try {
      const env = { HOOKRELAY_DB: own.url };
      const a = await startServer({ rulesYaml: rulesYaml(receiver), env });
      servers.push(a);
      const b = await startServer({ rulesYaml: rulesYaml(receiver), env });
      servers.push(b);
      expect(await metricValue(a.url, 'hookrelay_evaluator_leader')).toBe(1);
      const term = await metricValue(a.url, 'hookrelay_evaluator_lease_term');

      const stoppedAt = performance.now();
      const exited = a.stop('SIGTERM');
      await waitFor(
        'the standby to lead',
        async () => (await metricValue(b.url, 'hookrelay_evaluator_leader')) === 1,
        {
          timeoutMs: 10_000,
        },
      );
      const handoverMs = performance.now() - stoppedAt;
      expect(await exited).toBe(0);
      expect(a.lines.some((line) => line.includes('leader lease resigned'))).toBe(true);
      expect(await metricValue(b.url, 'hookrelay_evaluator_lease_term')).toBe(term + 1);

      // The new leader evaluates what arrives from now on.
      await post(b, PAYLOADS[0] as string);
      await receiver.waitForRequests(1, 10_000);
      console.log(`handover after SIGTERM of a serve: ${handoverMs.toFixed(0)} ms`);
      await b.stop();
    } finally {
      await own.drop();
    }
  }, 60_000);
});
