import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/wait.js';
import type { Alert } from '../../domain/alert.js';
import type { AppendInput } from '../../domain/event.js';
import { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode } from '../errors.js';
import { openStore } from '../open.js';
import type { NewNotification, Store } from '../ports.js';
import { PG_MIGRATIONS } from './migrations.js';
import { openPostgresStore, type PostgresStoreOptions } from './postgres-store.js';
import { TEST_PG_URL, TestSchemas } from './test-schema.js';

/*
 * What only the PostgreSQL engine promises, beyond the shared contract: several stores (instances) on one
 * database, migrations that race, the fence, wake-ups between instances, and a database that fails.
 */

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;
const schemas = new TestSchemas();
const opened: Store[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});
afterAll(() => schemas.dropAll());

async function open(schema: string, options: PostgresStoreOptions = {}) {
  const store = await openPostgresStore(TEST_PG_URL, { schema, ...options });
  opened.push(store);
  return store;
}

function appendOf(key: string, source = 'trackpilots'): AppendInput {
  return {
    request: { source, event: 'app', receivedAt: T0, body: Buffer.from(key) },
    events: [
      {
        dedupeKey: key,
        item: {
          source,
          event: 'desktop.app_tracking.captured',
          id: key,
          at: T0,
          receivedAt: T0,
          simulation: false,
          raw: {},
        },
      },
    ],
  } as AppendInput;
}

function notificationOf(id: string): NewNotification {
  const alert = { id, rule: 'r', title: id, text: id, severity: 'warning', at: T0 } as unknown as Alert;
  return { id, destination: 'team-slack', alert, createdAt: T0, dueAt: T0 };
}

const delivered = (at: number) => ({ at, durationMs: 5, outcome: 'delivered' as const });

describe('PostgreSQL engine: several instances on one database', () => {
  it('refuses a nonce on one instance that another instance claimed (a Slack click replayed elsewhere)', async () => {
    const schema = await schemas.create();
    const [a, b] = [await open(schema), await open(schema)];
    const claims = await Promise.all([
      a.nonces.claim('sig-1', T0 + 300_000, T0),
      b.nonces.claim('sig-1', T0 + 300_000, T0),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await b.nonces.claim('sig-1', T0 + 300_000, T0 + 1_000)).toBe(false);
    expect(await a.nonces.claim('sig-2', T0 + 300_000, T0 + 1_000)).toBe(true);
  });

  it('stores an item once when two instances append it at the same moment', async () => {
    const schema = await schemas.create();
    const [a, b] = [await open(schema), await open(schema)];
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const results = await Promise.all(
      keys.flatMap((key) => [a.events.append(appendOf(key)), b.events.append(appendOf(key))]),
    );
    expect(results.reduce((sum, r) => sum + r.stored, 0)).toBe(keys.length);
    expect(results.reduce((sum, r) => sum + r.duplicates, 0)).toBe(keys.length);
    const all = await a.events.readAfter(0, 1_000);
    expect(all.map((e) => e.dedupeKey).sort()).toEqual([...keys].sort());
    // Seqs increase with no reuse: the log order is the commit order.
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((x, y) => x - y));
  });

  it('group-commits concurrent appends: many requests share one transaction, each answered after it', async () => {
    const schema = await schemas.create();
    const store = await open(schema);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.events.append(appendOf(`g${i}`))),
    );
    expect(results.every((r) => r.stored === 1)).toBe(true);
    const stats = store.commitStats();
    expect(stats.appendsCommitted).toBe(200);
    expect(stats.appendCommits).toBeLessThan(200);
    // Answered after commit: another instance reads every one of them now.
    const other = await open(schema);
    expect(await other.events.readAfter(0, 1_000)).toHaveLength(200);
  });

  it('works in a schema with a long name (its NOTIFY channel still fits an identifier)', async () => {
    const schema = await schemas.create(63);
    const [writer, reader] = [await open(schema), await open(schema)];
    await reader.wakeupsReady;
    let appended = 0;
    reader.events.onAppend(() => {
      appended += 1;
    });
    expect(await writer.events.append(appendOf('long'))).toMatchObject({ stored: 1 });
    await waitFor('onAppend on the other instance', () => appended > 0);
  });

  it('migrates once when three instances start at the same moment', async () => {
    const schema = await schemas.create();
    const stores = await Promise.all([open(schema), open(schema), open(schema)]);
    for (const store of stores) expect(store.settings.schemaVersion).toBe(PG_MIGRATIONS.length);
    const version = await schemas.admin(`SELECT version FROM "${schema}".hookrelay_schema_version`);
    expect(version.rows).toEqual([{ version: PG_MIGRATIONS.length }]);
    const leases = await schemas.admin(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'hookrelay_leases' ORDER BY ordinal_position`,
      [schema],
    );
    expect(leases.rows).toEqual([
      { column_name: 'name', data_type: 'text' },
      { column_name: 'holder', data_type: 'text' },
      { column_name: 'term', data_type: 'bigint' },
      { column_name: 'expires_at', data_type: 'timestamp with time zone' },
    ]);
  });

  it('refuses a schema newer than it knows, with HR_ERR_STORE_MIGRATION_AHEAD, and leaves it as it was', async () => {
    const schema = await schemas.create();
    await (await open(schema)).close();
    await schemas.admin(`UPDATE "${schema}".hookrelay_schema_version SET version = 99`);
    await expect(openPostgresStore(TEST_PG_URL, { schema })).rejects.toMatchObject({
      code: StoreErrorCode.migrationAhead,
      message: expect.stringContaining('version 99'),
    });
    const version = await schemas.admin(`SELECT version FROM "${schema}".hookrelay_schema_version`);
    expect(version.rows).toEqual([{ version: 99 }]);
  });

  it('refuses a stale claim token from another instance after its lease ran out', async () => {
    const schema = await schemas.create();
    const [a, b] = [await open(schema), await open(schema)];
    await a.evaluator.commit({
      fromCursor: 0,
      cursor: 0,
      upserts: [],
      deletes: [],
      notifications: [notificationOf('n')],
    });
    const query = { now: T0, leaseMs: MINUTE, limitPerDestination: 10, destinations: ['team-slack'] };
    const [fromA] = await a.outbox.claim(query);
    expect(await b.outbox.claim(query)).toEqual([]);
    // A stalls past its lease; B claims the row again.
    const [fromB] = await b.outbox.claim({ ...query, now: T0 + MINUTE });
    expect(fromB?.id).toBe('n');
    expect(await a.outbox.recordDelivered('n', delivered(T0 + MINUTE + 1), fromA!.claimToken)).toBe(false);
    expect(await b.outbox.recordDelivered('n', delivered(T0 + MINUTE + 2), fromB!.claimToken)).toBe(true);
    const view = await a.admin.getNotification('n');
    expect(view?.attempts).toEqual([delivered(T0 + MINUTE + 2)]);
  });

  it('keeps per-destination order when instances claim at once: never a row before the one ahead of it', async () => {
    const schema = await schemas.create();
    const stores = [await open(schema), await open(schema), await open(schema)];
    const ids = Array.from({ length: 30 }, (_, i) => `o${String(i).padStart(2, '0')}`);
    await stores[0]!.evaluator.commit({
      fromCursor: 0,
      cursor: 0,
      upserts: [],
      deletes: [],
      notifications: ids.map((id, i) => ({ ...notificationOf(id), createdAt: T0 + i })),
    });
    const order: string[] = [];
    let now = T0 + 1_000;
    while (order.length < ids.length) {
      now += 1;
      const query = { now, leaseMs: MINUTE, limitPerDestination: 1, destinations: ['team-slack'] };
      const claims = await Promise.all(stores.map((s) => s.outbox.claim(query)));
      const got = claims.flat();
      // The head is leased by one of them; the others stop at it instead of skipping ahead.
      expect(got.length).toBeLessThanOrEqual(1);
      for (const n of got) {
        order.push(n.id);
        const owner = stores[claims.findIndex((c) => c.length > 0)]!;
        expect(await owner.outbox.recordDelivered(n.id, delivered(now), n.claimToken)).toBe(true);
      }
    }
    expect(order).toEqual(ids);
  });
});

describe('PostgreSQL engine: the evaluator fence', () => {
  async function leased(schema: string, holder: string, term: number, expiresIn = '30 seconds') {
    await schemas.admin(
      `INSERT INTO "${schema}".hookrelay_leases (name, holder, term, expires_at)
       VALUES ('evaluator', $1, $2, now() + $3::interval)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, term = excluded.term, expires_at = excluded.expires_at`,
      [holder, term, expiresIn],
    );
  }
  const step = (fence: { holder: string; term: number }, id: string, fromCursor = 0) => ({
    fromCursor,
    cursor: fromCursor,
    upserts: [{ key: `k-${id}`, value: id }],
    deletes: [],
    notifications: [notificationOf(id)],
    fence: { lease: 'evaluator', ...fence },
  });

  it('commits while the lease and term hold; a stale term (a paused leader) writes nothing', async () => {
    const schema = await schemas.create();
    const store = await open(schema);
    await leased(schema, 'node-a', 7);
    expect(await store.evaluator.commit(step({ holder: 'node-a', term: 7 }, 'first'))).toEqual({
      notificationsInserted: 1,
    });
    // node-a is paused; its lease expires and node-b is elected at term 8.
    await leased(schema, 'node-b', 8);
    const refused = store.evaluator.commit(step({ holder: 'node-a', term: 7 }, 'late'));
    await expect(refused).rejects.toBeInstanceOf(HookrelayError);
    await expect(refused).rejects.toMatchObject({ code: StoreErrorCode.fenced });
    // Same holder name, older term: refused too.
    await expect(store.evaluator.commit(step({ holder: 'node-b', term: 7 }, 'late2'))).rejects.toMatchObject({
      code: StoreErrorCode.fenced,
    });
    const snapshot = await store.evaluator.load();
    expect(snapshot.state.map((e) => e.key)).toEqual(['k-first']);
    expect(await store.outbox.pendingCounts()).toEqual({ 'team-slack': 1 });
    expect(await store.evaluator.commit(step({ holder: 'node-b', term: 8 }, 'second'))).toEqual({
      notificationsInserted: 1,
    });
  });

  it('refuses a commit under an expired lease, even with the right holder and term', async () => {
    const schema = await schemas.create();
    const store = await open(schema);
    await leased(schema, 'node-a', 3, '-1 second');
    await expect(store.evaluator.commit(step({ holder: 'node-a', term: 3 }, 'x'))).rejects.toMatchObject({
      code: StoreErrorCode.fenced,
    });
    expect(await store.outbox.pendingCounts()).toEqual({});
  });
});

describe('PostgreSQL engine: wake-ups between instances', () => {
  for (const listen of [true, false]) {
    it(`wakes another instance's onEnqueue and onAppend (${listen ? 'LISTEN/NOTIFY' : 'polling only'})`, async () => {
      const schema = await schemas.create();
      const writer = await open(schema);
      const reader = await open(schema, { settings: { listen }, ...(listen ? {} : { pollMs: 50 }) });
      let enqueued = 0;
      let appended = 0;
      reader.outbox.onEnqueue(() => {
        enqueued += 1;
      });
      reader.events.onAppend(() => {
        appended += 1;
      });
      await reader.wakeupsReady;
      await writer.events.append(appendOf('w1'));
      await waitFor('onAppend on the other instance', () => appended > 0);
      await writer.evaluator.commit({
        fromCursor: 0,
        cursor: 0,
        upserts: [],
        deletes: [],
        notifications: [notificationOf('w')],
      });
      await waitFor('onEnqueue on the other instance', () => enqueued > 0);
    });
  }
});

describe('PostgreSQL engine: the LISTEN connection lost', () => {
  it('reconnects by itself and keeps waking the instance', async () => {
    const schema = await schemas.create();
    // The writer does not LISTEN, so the one LISTEN connection on this channel is the reader's.
    const writer = await open(schema, { settings: { listen: false } });
    // A backstop slower than the test: the wake-up after the loss must come through LISTEN again.
    const reader = await open(schema, { pollMs: 600_000 });
    await reader.wakeupsReady;
    let enqueued = 0;
    reader.outbox.onEnqueue(() => {
      enqueued += 1;
    });
    const listeners = () =>
      schemas.admin(`SELECT pid FROM pg_stat_activity WHERE query = $1 AND datname = current_database()`, [
        `LISTEN "hookrelay:${schema}"`,
      ]);
    const [listener] = (await listeners()).rows as Array<{ pid: number }>;
    expect(listener).toBeDefined();
    await schemas.admin('SELECT pg_terminate_backend($1)', [listener!.pid]);
    // Back on a new connection (after the reconnect it wakes its listeners once, for what it missed).
    await waitFor('a new LISTEN connection', async () => {
      const rows = (await listeners()).rows as Array<{ pid: number }>;
      return rows.length === 1 && rows[0]!.pid !== listener!.pid;
    });
    await waitFor('the wake-up after the reconnect', () => enqueued > 0);
    const before = enqueued;
    await writer.evaluator.commit({
      fromCursor: 0,
      cursor: 0,
      upserts: [],
      deletes: [],
      notifications: [notificationOf('r')],
    });
    await waitFor('onEnqueue through the new LISTEN connection', () => enqueued > before);
  });
});

describe('PostgreSQL engine: a store without wake-ups', () => {
  // The CLI's one-shot commands (`events`, `dlq`) never wait for another instance's commits.
  it('opens no LISTEN connection with wakeups: false, and one by default', async () => {
    const schema = await schemas.create();
    const listening = async (name: string) =>
      (
        await schemas.admin(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'",
          [name],
        )
      ).rows.length;
    const quiet = await open(schema, { applicationName: `hr-quiet-${schema}`, wakeups: false });
    const usual = await open(schema, { applicationName: `hr-usual-${schema}` });
    await Promise.all([quiet.wakeupsReady, usual.wakeupsReady]);
    expect(await quiet.events.append(appendOf('q'))).toMatchObject({ stored: 1 });
    await waitFor('the default store LISTENs', async () => (await listening(`hr-usual-${schema}`)) === 1);
    expect(await listening(`hr-quiet-${schema}`)).toBe(0);
  });
});

describe('PostgreSQL engine: a database that fails', () => {
  it('refuses to open a database it cannot reach, without echoing the URL', async () => {
    const error = await openStore('postgres://hookrelay:s3cret@127.0.0.1:1/test').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: StoreErrorCode.openFailed });
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('survives the server dropping every connection (a restart): no crash, and it stores again by itself', async () => {
    const schema = await schemas.create();
    const name = `hr-test-${schema}`;
    const store = await open(schema, { applicationName: name });
    await store.wakeupsReady;
    expect(await store.events.append(appendOf('before'))).toMatchObject({ stored: 1 });
    const dropped = await schemas.admin(
      'SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1',
      [name],
    );
    // The pool's connection and the LISTEN connection.
    expect(dropped.rows.length).toBeGreaterThanOrEqual(2);
    // A request that raced with the drop may fail (503); the store reconnects and the next ones commit.
    let stored = 0;
    await waitFor('an append committed on a new connection', async () => {
      const result = await store.events.append(appendOf(`after-${stored}`)).catch(() => undefined);
      if (result) stored += result.stored;
      return stored > 0;
    });
    expect(await store.checkWritable()).toBe(true);
    await waitFor('LISTEN back on a new connection', async () => {
      const rows = await schemas.admin(
        'SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE $2',
        [name, 'LISTEN%'],
      );
      return rows.rows.length === 1;
    });
  });

  it('fails appends while the events table is locked, goes not writable, and recovers by itself', async () => {
    const schema = await schemas.create();
    const store = await open(schema, { settings: { statementTimeoutMs: 300 } });
    expect(await store.checkWritable()).toBe(true);
    const { default: pg } = await import('pg');
    const locker = new pg.Client({ connectionString: TEST_PG_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".events IN ACCESS EXCLUSIVE MODE`);
      await expect(store.events.append(appendOf('blocked'))).rejects.toMatchObject({
        code: StoreErrorCode.writeFailed,
      });
      expect(await store.checkWritable()).toBe(false);
      await locker.query('ROLLBACK');
    } finally {
      await locker.end();
    }
    // The database is back: the next append commits, and the store is ready again without a restart.
    expect(await store.events.append(appendOf('after'))).toMatchObject({ stored: 1 });
    expect(await store.checkWritable()).toBe(true);
  });
});
