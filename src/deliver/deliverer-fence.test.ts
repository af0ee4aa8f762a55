import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startHttpReceiver } from '../../test/helpers/http-receiver.js';
import { waitFor } from '../../test/helpers/wait.js';
import { createDestination } from '../destinations/index.js';
import { systemClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { createMetrics } from '../lib/metrics.js';
import { quoteIdent } from '../store/postgres/pool.js';
import { openPostgresStore, type PostgresStore } from '../store/postgres/postgres-store.js';
import { TEST_PG_URL, TestSchemas } from '../store/postgres/test-schema.js';
import { createDeliverer } from './deliverer.js';
import { pacingPolicyFor } from './pacing.js';
import { retryPolicyFor } from './retry-policy.js';
import { testAlert } from './testdata/harness.js';

/*
 * The deliver stage fences itself on the PostgreSQL engine (Outbox.claimsHeld, worker.ts): once its
 * instance's heartbeat is stale, a peer may re-claim what it holds, so it must not send what it claimed
 * before. The heartbeat is stalled for real (its row locked from another connection), with the real
 * deliverer, the real clock and a webhook to a local receiver.
 */

const silent = createLogger('silent');
const schemas = new TestSchemas();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => schemas.dropAll());

async function attemptsOf(db: pg.Client, id: string): Promise<number | undefined> {
  const row = await db.query<{ attempts: number }>('SELECT attempts FROM notifications WHERE id = $1', [id]);
  return row.rows[0]?.attempts;
}

describe('deliver stage on PostgreSQL: a stale heartbeat fences the sends', () => {
  it('does not send what it claimed before its heartbeat stalled; claims it again once it is back', async () => {
    const schema = await schemas.create();
    const store: PostgresStore = await openPostgresStore(TEST_PG_URL, { schema });
    cleanups.push(() => store.close());
    const db = new pg.Client({
      connectionString: TEST_PG_URL,
      options: `-c search_path=${quoteIdent(schema)}`,
    });
    await db.connect();
    cleanups.push(() => db.end());
    const receiver = await startHttpReceiver();
    cleanups.push(() => receiver.close());
    let release: () => void = () => undefined;
    // The first send is held while the heartbeat stalls; the second was claimed with it (one batch).
    receiver.script({ status: 200, body: 'ok', hold: new Promise<void>((resolve) => (release = resolve)) });
    const destination = createDestination(
      'hook',
      {
        type: 'webhook',
        url: `${receiver.origin}/hook`,
        method: 'POST',
        headers: {},
        body: 'alert',
        timeoutMs: 30_000,
        allowPrivateNetworks: true,
      },
      { logger: silent },
    );
    cleanups.push(() => destination.close());
    const deliverer = createDeliverer({
      store,
      destinations: new Map([['hook', destination]]),
      policies: new Map([
        [
          'hook',
          { retry: retryPolicyFor('webhook', {}), pacing: pacingPolicyFor('webhook', { concurrency: 1 }) },
        ],
      ]),
      clock: systemClock,
      logger: silent,
      metrics: createMetrics(),
      leaseMs: 60_000,
      pollMs: 50,
      random: () => 0,
      releaseLeasesAtStart: false,
    });
    await deliverer.start();
    cleanups.push(() => deliverer.stop());
    const now = Date.now();
    await store.evaluator.commit({
      fromCursor: 0,
      cursor: 0,
      upserts: [],
      deletes: [],
      notifications: ['n1', 'n2'].map((id, index) => ({
        id,
        destination: 'hook',
        alert: testAlert(id),
        createdAt: now + index,
        dueAt: now,
      })),
    });
    await receiver.waitForRequests(1, 20_000);
    expect(await attemptsOf(db, 'n2')).toBe(1);

    // The heartbeat stalls; once the store says its claims are not held, the held send is answered.
    await db.query('BEGIN');
    await db.query('SELECT * FROM hookrelay_instances FOR UPDATE');
    await waitFor('the store to say its claims are not held', () => store.outbox.claimsHeld?.() === false, {
      timeoutMs: 20_000,
    });
    release();
    await waitFor(
      'the held send to be recorded',
      async () =>
        (await db.query("SELECT 1 FROM notifications WHERE id = 'n1' AND status = 'delivered'")).rowCount ===
        1,
      { timeoutMs: 20_000 },
    );
    await db.query('ROLLBACK');

    // n2 was claimed before the stall: it is not sent under that claim but claimed again, then sent.
    await receiver.waitForRequests(2, 30_000);
    await waitFor(
      'n2 to be recorded',
      async () =>
        (await db.query("SELECT 1 FROM notifications WHERE id = 'n2' AND status = 'delivered'")).rowCount ===
        1,
      { timeoutMs: 20_000 },
    );
    expect(receiver.requests.map((request) => String(request.headers['webhook-id']))).toEqual(['n1', 'n2']);
    expect(await attemptsOf(db, 'n2')).toBe(2);
  }, 90_000);
});
