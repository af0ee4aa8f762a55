import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/pg-database.js';
import type { LeaderLease } from '../leader-port.js';
import { createPostgresLeaderLease } from './leader-lease.js';

let db: TestDatabase;
let pool: pg.Pool;
let names = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool();
  await db.migrate();
});
afterAll(async () => {
  await db?.drop();
});

/** Each test its own lease row, so they never see each other's holders. */
function freshLease(): LeaderLease {
  names += 1;
  return createPostgresLeaderLease({ pool, name: `lease-${names}` });
}

/** expire makes the row expired by the database's clock (what a TTL running out does, without waiting). */
async function expire(lease: LeaderLease): Promise<void> {
  await pool.query(`UPDATE hookrelay_leases SET expires_at = now() - interval '1 second' WHERE name = $1`, [
    lease.name,
  ]);
}

describe('PostgreSQL leader lease', () => {
  it('two holders race for a free lease: exactly one wins, with term 1', async () => {
    const lease = freshLease();
    // Separate lease objects over one pool: each call its own connection, as two instances would.
    const other = createPostgresLeaderLease({ pool, name: lease.name });
    const results = await Promise.all([lease.tryAcquire('a', 60_000), other.tryAcquire('b', 60_000)]);
    expect(results.filter((term) => term !== undefined)).toEqual([1]);
    const winner = results[0] === 1 ? 'a' : 'b';
    expect(await lease.current()).toMatchObject({ holder: winner, term: 1 });
  });

  it('many holders racing at once still elect one', async () => {
    const lease = freshLease();
    const holders = Array.from({ length: 8 }, (_, i) => `h${i}`);
    const results = await Promise.all(
      holders.map((holder) =>
        createPostgresLeaderLease({ pool, name: lease.name }).tryAcquire(holder, 60_000),
      ),
    );
    expect(results.filter((term) => term !== undefined)).toHaveLength(1);
  });

  it('a live lease is refused to others; its holder asking again keeps the same term', async () => {
    const lease = freshLease();
    expect(await lease.tryAcquire('a', 60_000)).toBe(1);
    expect(await lease.tryAcquire('b', 60_000)).toBeUndefined();
    expect(await lease.tryAcquire('a', 60_000)).toBe(1);
    expect(await lease.renew('a', 1, 60_000)).toBe(true);
    expect(await lease.renew('b', 1, 60_000)).toBe(false);
    const state = await lease.current();
    expect(state?.holder).toBe('a');
    expect(state?.expiresInMs).toBeGreaterThan(50_000);
  });

  it('expiry hands the lease over with term + 1; renewing after losing it returns false', async () => {
    const lease = freshLease();
    expect(await lease.tryAcquire('a', 60_000)).toBe(1);
    await expire(lease);
    expect(await lease.tryAcquire('b', 60_000)).toBe(2);
    expect(await lease.renew('a', 1, 60_000)).toBe(false);
    expect(await lease.current()).toMatchObject({ holder: 'b', term: 2 });
    // The old holder coming back finds it taken, and taking it after b's expiry is yet another term.
    expect(await lease.tryAcquire('a', 60_000)).toBeUndefined();
    await expire(lease);
    expect(await lease.tryAcquire('a', 60_000)).toBe(3);
  });

  it('an expired lease is not renewed, even by its holder: it must be taken again, with a new term', async () => {
    const lease = freshLease();
    expect(await lease.tryAcquire('a', 60_000)).toBe(1);
    await expire(lease);
    expect(await lease.renew('a', 1, 60_000)).toBe(false);
    expect(await lease.tryAcquire('a', 60_000)).toBe(2);
  });

  it('a short TTL runs out by the database clock', async () => {
    const lease = freshLease();
    expect(await lease.tryAcquire('a', 1)).toBe(1);
    // Wait for the condition (the database saying it expired), not for a fixed time.
    for (;;) {
      const state = await lease.current();
      if (state !== undefined && state.expiresInMs < 0) break;
    }
    expect(await lease.tryAcquire('b', 60_000)).toBe(2);
  });

  it('resign lets the next holder take it at once, with a higher term; a stale resign changes nothing', async () => {
    const lease = freshLease();
    expect(await lease.tryAcquire('a', 60_000)).toBe(1);
    await lease.resign('a', 1);
    expect(await lease.tryAcquire('b', 60_000)).toBe(2);
    await lease.resign('a', 1);
    expect(await lease.current()).toMatchObject({ holder: 'b', term: 2 });
    expect(await lease.renew('b', 2, 60_000)).toBe(true);
  });

  it('current is undefined for a lease nobody held', async () => {
    expect(await freshLease().current()).toBeUndefined();
  });

  it('a database failure is an error with a code, not a lost lease', async () => {
    const broken = createPostgresLeaderLease({ pool, name: 'x' });
    await pool.query('ALTER TABLE hookrelay_leases RENAME TO hookrelay_leases_away');
    try {
      await expect(broken.tryAcquire('a', 1000)).rejects.toMatchObject({ code: 'HR_ERR_STORE_LEASE_FAILED' });
    } finally {
      await pool.query('ALTER TABLE hookrelay_leases_away RENAME TO hookrelay_leases');
    }
  });
});
