import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Holder, spawnHolder } from '../../bench/failover.js';
import { createPostgresLeaderLease } from '../../src/store/postgres/leader-lease.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg-database.js';

/*
 * The leader lease across real processes with `hookrelay serve`'s default timing (TTL 3 s, renew 1 s,
 * poll 0.5 s): each process runs the leadership loop alone (dist/bench/lease-holder.js). Failover times
 * are printed, not asserted (figures belong to `node dist/bench/failover.js`).
 */

const HOLDER_JS = fileURLToPath(new URL('../../dist/bench/lease-holder.js', import.meta.url));
let db: TestDatabase;
const children: Holder[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  await db.migrate();
});
afterAll(async () => {
  for (const holder of children) holder.child.kill('SIGKILL');
  await Promise.all(children.map((holder) => holder.exited));
  await db?.drop();
});

function start(name: string): Holder {
  const holder = spawnHolder(db.url, name, HOLDER_JS);
  children.push(holder);
  return holder;
}

describe('evaluator failover between processes on one PostgreSQL database', () => {
  it('kill -9 of the leader: a standby takes over with term + 1; SIGTERM of the next: the third takes over', async () => {
    const a = start('a');
    expect((await a.next('leader')).term).toBe(1);
    const b = start('b');
    await b.next('started');

    let at = performance.now();
    a.child.kill('SIGKILL');
    const took = await b.next('leader');
    const killFailoverMs = performance.now() - at;
    expect(took.term).toBe(2);
    await a.exited;

    const c = start('c');
    await c.next('started');
    at = performance.now();
    b.child.kill('SIGTERM');
    const next = await c.next('leader');
    const handoverMs = performance.now() - at;
    expect(next.term).toBe(3);
    await b.exited;
    expect(b.child.exitCode).toBe(0);

    const lease = createPostgresLeaderLease({ pool: db.pool({ max: 1 }), name: 'evaluator' });
    expect(await lease.current()).toMatchObject({ holder: 'c', term: 3 });
    console.log(
      `failover after kill -9: ${killFailoverMs.toFixed(0)} ms; handover after SIGTERM: ${handoverMs.toFixed(0)} ms`,
    );
  }, 30_000);
});
