import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/wait.js';
import type { Alert } from '../../domain/alert.js';
import type { NewNotification, Store } from '../ports.js';
import { INSTANCE_TTL_MS } from './instance-heartbeat.js';
import { quoteIdent } from './pool.js';
import { openPostgresStore, type PostgresStoreOptions } from './postgres-store.js';
import { TEST_PG_URL, TestSchemas } from './test-schema.js';

/*
 * A claim is only as good as its claimant's heartbeat (instance-heartbeat.ts, outbox.ts claimRows): a peer
 * takes the rows of an instance that stopped beating once INSTANCE_TTL_MS has passed, long before the
 * claim's lease (here a minute) runs out, and the stalled instance's writes with its old token are refused.
 * A heartbeat is stalled for real: another connection holds the instance's row locked, so its beats wait
 * and time out, as they would against a database that is slow for that one instance.
 */

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;
const schemas = new TestSchemas();
const opened: Store[] = [];
const clients: pg.Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
  await Promise.all(opened.splice(0).map((store) => store.close()));
});
afterAll(() => schemas.dropAll());

async function open(schema: string, options: PostgresStoreOptions = {}) {
  const store = await openPostgresStore(TEST_PG_URL, { schema, ...options });
  opened.push(store);
  return store;
}

async function connect(schema: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: TEST_PG_URL,
    options: `-c search_path=${quoteIdent(schema)}`,
  });
  await client.connect();
  clients.push(client);
  return client;
}

function notificationOf(id: string, destination = 'team-slack'): NewNotification {
  const alert = { id, rule: 'r', title: id, text: id, severity: 'warning', at: T0 } as unknown as Alert;
  return { id, destination, alert, createdAt: T0, dueAt: T0 };
}

const delivered = (at: number) => ({ at, durationMs: 5, outcome: 'delivered' as const });
// Every claim is made at T0 + 1 s: well inside the one-minute lease, so only liveness can free a row.
const query = { now: T0 + 1_000, leaseMs: MINUTE, limitPerDestination: 10, destinations: ['team-slack'] };

async function commitOne(store: Store, id: string, destination?: string): Promise<void> {
  await store.evaluator.commit({
    fromCursor: 0,
    cursor: 0,
    upserts: [],
    deletes: [],
    notifications: [notificationOf(id, destination)],
  });
}

describe('PostgreSQL engine: claims held by live instances only', () => {
  it("takes over a stalled instance's claim after the TTL, refuses its old token, and frees the rest once it is back", async () => {
    const schema = await schemas.create();
    const [a, b] = [await open(schema), await open(schema)];
    await commitOne(a, 'n');
    const [fromA] = await a.outbox.claim({ ...query, now: T0 });
    expect(fromA?.id).toBe('n');
    // A second destination's row, which only A's own recovery (not the TTL) frees, below.
    await commitOne(a, 'm', 'other');
    const other = { ...query, destinations: ['other'] };
    expect((await a.outbox.claim({ ...other, now: T0 })).map((n) => n.id)).toEqual(['m']);
    const db = await connect(schema);
    const owner = (
      await db.query<{ claimed_by: string }>("SELECT claimed_by FROM notifications WHERE id = 'n'")
    ).rows[0]?.claimed_by as string;
    expect(owner).toEqual(expect.any(String));

    // While A beats, its claim holds past the TTL: B gets nothing (by the database's clock, A's claim is
    // older than INSTANCE_TTL_MS when B asks).
    const claimedAt = (await db.query<{ at: Date }>('SELECT clock_timestamp() AS at')).rows[0]?.at as Date;
    await waitFor(
      'the claim to be older than the TTL',
      async () =>
        (
          await db.query<{ past: boolean }>(
            `SELECT clock_timestamp() > $1::timestamptz + $2::int * interval '1 millisecond' AS past`,
            [claimedAt, INSTANCE_TTL_MS + 500],
          )
        ).rows[0]?.past === true,
      { timeoutMs: 20_000 },
    );
    expect(await b.outbox.claim(query)).toEqual([]);
    expect(a.outbox.claimsHeld?.()).toBe(true);

    // A's heartbeat stalls: its row is locked elsewhere, so its beats wait and time out.
    await db.query('BEGIN');
    await db.query('SELECT * FROM hookrelay_instances WHERE id = $1 FOR UPDATE', [owner]);
    // A fences itself first, then B may take the row (with one more attempt, the same id).
    await waitFor('A to say its claims are no longer held', () => a.outbox.claimsHeld?.() === false, {
      timeoutMs: 20_000,
    });
    let fromB: Awaited<ReturnType<Store['outbox']['claim']>> = [];
    await waitFor(
      "B to take the stalled instance's row",
      async () => {
        fromB = await b.outbox.claim(query);
        return fromB.length > 0;
      },
      { timeoutMs: 20_000 },
    );
    expect(fromB.map((n) => [n.id, n.attempts])).toEqual([['n', 2]]);
    expect(await a.outbox.recordDelivered('n', delivered(T0 + 2_000), fromA?.claimToken)).toBe(false);
    expect(await b.outbox.recordDelivered('n', delivered(T0 + 2_001), fromB[0]?.claimToken)).toBe(true);
    expect((await a.admin.getNotification('n'))?.attempts).toEqual([delivered(T0 + 2_001)]);

    // Once its beats land again, A may send what it claims, under a new name: what it claimed before the
    // stall (and forgot while fenced) is free at once, not leased by a live name for the rest of the minute.
    const releasedAt = (await db.query<{ at: Date }>('SELECT clock_timestamp() AS at')).rows[0]?.at as Date;
    await db.query('ROLLBACK');
    await waitFor('A to hold its claims again', () => a.outbox.claimsHeld?.() === true, {
      timeoutMs: 20_000,
    });
    await waitFor(
      'both instances to beat after the stall ended',
      async () =>
        ((await db.query('SELECT 1 FROM hookrelay_instances WHERE seen_at > $1', [releasedAt])).rowCount ??
          0) >= 2,
      { timeoutMs: 20_000 },
    );
    expect((await b.outbox.claim(other)).map((n) => [n.id, n.attempts])).toEqual([['m', 2]]);
    // A's claims from before the stall are not held (its deliver stage forgets them); a new one is.
    expect(a.outbox.claimsHeld?.(fromA?.claimToken)).toBe(false);
    await commitOne(a, 'p', 'third');
    const [fresh] = await a.outbox.claim({ ...query, destinations: ['third'] });
    expect(fresh?.id).toBe('p');
    expect(a.outbox.claimsHeld?.(fresh?.claimToken)).toBe(true);
  }, 60_000);

  it('gives up its claims after a failed transition (the deliver stage forgets them), so they are free in seconds', async () => {
    const schema = await schemas.create();
    const [a, b] = [await open(schema), await open(schema)];
    await commitOne(a, 'n');
    await commitOne(a, 'm', 'other');
    const both = { ...query, now: T0, destinations: ['team-slack', 'other'] };
    const claimed = await a.outbox.claim(both);
    expect(claimed.map((n) => n.id)).toEqual(['n', 'm']);
    // PostgreSQL refuses a NUL in text: the transition fails as a write the store could not make.
    const broken = { ...delivered(T0 + 2_000), detail: 'nul \u0000 byte' };
    await expect(a.outbox.recordDelivered('m', broken, claimed[1]?.claimToken)).rejects.toThrow();
    let fromB: Awaited<ReturnType<Store['outbox']['claim']>> = [];
    await waitFor(
      "B to take the row A's failure released",
      async () => {
        fromB = await b.outbox.claim(query);
        return fromB.length > 0;
      },
      { timeoutMs: 20_000 },
    );
    expect(fromB.map((n) => [n.id, n.attempts])).toEqual([['n', 2]]);
    expect(a.outbox.claimsHeld?.(claimed[0]?.claimToken)).toBe(false);
  });

  it("frees a cleanly closed instance's claims at once", async () => {
    const schema = await schemas.create();
    const [a, b] = [await open(schema), await open(schema)];
    await commitOne(a, 'n');
    expect((await a.outbox.claim({ ...query, now: T0 })).map((n) => n.id)).toEqual(['n']);
    expect(await b.outbox.claim(query)).toEqual([]);
    await a.close();
    expect((await b.outbox.claim(query)).map((n) => [n.id, n.attempts])).toEqual([['n', 2]]);
  });

  it('a store without wake-ups (a one-shot CLI store) has no heartbeat, and its claims keep their lease', async () => {
    const schema = await schemas.create();
    const oneShot = await open(schema, { wakeups: false });
    const b = await open(schema);
    expect(oneShot.outbox.claimsHeld).toBeUndefined();
    expect(b.outbox.claimsHeld?.()).toBe(true);
    const db = await connect(schema);
    expect((await db.query('SELECT id FROM hookrelay_instances')).rows).toHaveLength(1);
    await commitOne(b, 'n');
    expect((await oneShot.outbox.claim({ ...query, now: T0 })).map((n) => n.id)).toEqual(['n']);
    // Claimed by no one: not voided by a missing heartbeat row, held until its lease runs out.
    expect(await b.outbox.claim(query)).toEqual([]);
    expect((await b.outbox.claim({ ...query, now: T0 + MINUTE })).map((n) => n.id)).toEqual(['n']);
  });
});
