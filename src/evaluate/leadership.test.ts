import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/pg-database.js';
import { postSigned } from '../../test/helpers/sign.js';
import { waitFor } from '../../test/helpers/wait.js';
import { createApp } from '../app.js';
import { sampleActivityEvent } from '../cli/send-samples.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../lib/log.js';
import type { Fence, LeaderLease } from '../store/leader-port.js';
import { createPostgresLeaderLease } from '../store/postgres/leader-lease.js';
import { openPostgresStore } from '../store/postgres/postgres-store.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createLeadership } from './leadership.js';

const logger = createLogger('silent');
// Short, so the tests see expiry and failover in well under a second; the ratios are the defaults'.
const TIMING = { ttlMs: 600, renewMs: 200, pollMs: 50 };
/** The apps' retention interval, short so a test sees several runs (the first comes one interval after start). */
const RETENTION_MS = 25;

/** The rules of the app tests: every desktop event is one alert to the log. */
const RULES = `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [a-test-secret] }
destinations:
  console: { type: log }
rules:
  - name: any-activity
    on: desktop.*
    to: [console]
`;

let db: TestDatabase;
let pool: pg.Pool;
let leases = 0;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool({ max: 8 });
  await db.migrate();
  dir = mkdtempSync(join(tmpdir(), 'hookrelay-leadership-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

/** elect runs the leadership loop for `holder` on the lease `name` (a fresh real lease unless one is given). */
function elect(
  holder: string,
  name: string,
  duties: ReturnType<typeof recordingDuties>['duties'],
  lease: LeaderLease = createPostgresLeaderLease({ pool, name }),
) {
  return createLeadership({ lease, duties, logger, holder, ...TIMING });
}

function freshLeaseName(): string {
  leases += 1;
  return `evaluator-${leases}`;
}

/** Duties that only record, so the loop itself is what is observed. */
function recordingDuties() {
  const log: string[] = [];
  let running = false;
  return {
    log,
    get running() {
      return running;
    },
    duties: {
      start: async () => {
        running = true;
        log.push('start');
      },
      stop: async () => {
        running = false;
        log.push('stop');
      },
    },
  };
}

/**
 * pausable wraps a real lease so that renewals can be held, as a process frozen by a GC pause or a
 * network partition would hold them: the loop still believes it leads while the row runs out.
 */
function pausable(lease: LeaderLease) {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  return {
    lease: {
      ...lease,
      name: lease.name,
      async renew(holder: string, term: number, ttlMs: number) {
        if (gate) await gate;
        return lease.renew(holder, term, ttlMs);
      },
    } satisfies LeaderLease,
    pause() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    resume() {
      gate = undefined;
      open?.();
    },
  };
}

describe('leadership on a PostgreSQL lease', () => {
  it('of two instances exactly one leads; when it stops (SIGTERM) it resigns and the other takes over at once', async () => {
    const name = freshLeaseName();
    const a = recordingDuties();
    const b = recordingDuties();
    const first = elect('a', name, a.duties);
    const second = elect('b', name, b.duties);
    await first.start();
    await second.start();
    expect([first.leader, second.leader]).toEqual([true, false]);
    expect(first.fence()).toEqual({ lease: name, holder: 'a', term: 1 });
    expect(second.fence()).toBeUndefined();
    expect(a.running).toBe(true);
    expect(b.running).toBe(false);

    await first.stop();
    expect(a.log).toEqual(['start', 'stop']);
    const lease = createPostgresLeaderLease({ pool, name });
    // Resigned: expired at once, not after the TTL.
    expect((await lease.current())?.expiresInMs).toBeLessThan(0);
    await waitFor('the standby to lead', () => second.leader);
    expect(b.running).toBe(true);
    expect(second.term).toBe(2);
    await second.stop();
  });

  it('a leader that cannot renew (paused past its TTL) is replaced with term + 1, and stands down when it wakes', async () => {
    const name = freshLeaseName();
    const a = recordingDuties();
    const b = recordingDuties();
    const frozen = pausable(createPostgresLeaderLease({ pool, name }));
    const first = elect('a', name, a.duties, frozen.lease);
    const second = elect('b', name, b.duties);
    await first.start();
    await second.start();
    expect(first.leader).toBe(true);

    frozen.pause();
    await waitFor('the standby to take the expired lease', () => second.leader, { timeoutMs: 10_000 });
    expect(second.term).toBe(2);
    // The paused leader still believes it leads (the danger fencing exists for), but with no renewal
    // confirmed for longer than its TTL it no longer hands out a fence: its commits are refused locally.
    expect(first.leader).toBe(true);
    expect(first.fence()).toBeUndefined();

    frozen.resume();
    await waitFor('the old leader to stand down', () => !first.leader);
    expect(a.log).toEqual(['start', 'stop']);
    expect(second.leader).toBe(true);
    // It stays a standby while the other renews.
    await first.stop();
    await second.stop();
  });

  it('a refused (fenced) commit makes the leader stand down before its next renewal', async () => {
    const name = freshLeaseName();
    const a = recordingDuties();
    const lease = createPostgresLeaderLease({ pool, name });
    const leadership = createLeadership({
      lease,
      duties: a.duties,
      logger,
      holder: 'a',
      ttlMs: 60_000,
      renewMs: 60_000,
      pollMs: 60_000,
    });
    await leadership.start();
    expect(leadership.leader).toBe(true);
    leadership.fenced();
    await waitFor('the duties to stop', () => !a.running);
    expect(leadership.fence()).toBeUndefined();
    await leadership.stop();
  });

  it('a renewal that errs (database unreachable) stops the duties; the lease is taken back when it answers again', async () => {
    const name = freshLeaseName();
    const a = recordingDuties();
    const real = createPostgresLeaderLease({ pool, name });
    let broken = false;
    const lease: LeaderLease = {
      ...real,
      name,
      async renew(holder, term, ttlMs) {
        // The real lease's own error, from a statement the database refuses.
        if (broken) await pool.query('SELECT * FROM no_such_table');
        return real.renew(holder, term, ttlMs);
      },
    };
    const leadership = elect('a', name, a.duties, lease);
    await leadership.start();
    broken = true;
    await waitFor('the duties to stop', () => !a.running);
    broken = false;
    // Its own row is still live: taken back with the same term, the duties started again.
    await waitFor('the duties to start again', () => a.running);
    expect(leadership.term).toBe(1);
    await leadership.stop();
  });
});

describe('an app on a shared lease', () => {
  async function startApp(
    lease: LeaderLease,
    file: string,
    fences: Array<Fence | undefined>,
    appLogger = logger,
  ) {
    const loaded = await loadConfig(join(dir, 'rules.yaml'), {});
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const store = await openSqliteStore(join(dir, file));
    // Records the fence each commit carries (the SQLite engine itself ignores it).
    const commit = store.evaluator.commit.bind(store.evaluator);
    store.evaluator.commit = (input) => {
      fences.push(input.fence);
      return commit(input);
    };
    // Counts the retention runs (each one prunes the event log), which only the leader may make.
    const retention = { runs: 0 };
    const prune = store.events.pruneOlderThan.bind(store.events);
    store.events.pruneOlderThan = (cutoff) => {
      retention.runs += 1;
      return prune(cutoff);
    };
    const app = createApp({
      config: loaded.config,
      store,
      logger: appLogger,
      lease,
      leaseTiming: TIMING,
      retentionIntervalMs: RETENTION_MS,
    });
    const url = await app.start({ port: 0, host: '127.0.0.1' });
    return { app, url, store, retention };
  }

  it('runs retention only while it leads: none as a standby, then again once it takes the lease', async () => {
    const name = freshLeaseName();
    const other = createPostgresLeaderLease({ pool, name });
    expect(await other.tryAcquire('elsewhere', 60_000)).toBe(1);
    const { app, retention } = await startApp(createPostgresLeaderLease({ pool, name }), 'retention.db', []);
    try {
      expect(app.leadership.leader).toBe(false);
      // Twenty retention intervals as a standby: a retention that ran anyway would have run by now.
      await new Promise((resolve) => setTimeout(resolve, 20 * RETENTION_MS));
      expect(retention.runs).toBe(0);
      await other.resign('elsewhere', 1);
      await waitFor('the app to lead', () => app.leadership.leader);
      await waitFor('a retention run on the leader', () => retention.runs > 0);
    } finally {
      await app.stop();
    }
  });

  async function sample(url: string, name: string): Promise<number> {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
    if (line === undefined) throw new Error(`${name} is not in /metrics`);
    return Number(line.slice(name.length + 1));
  }

  it('a standby accepts webhooks but does not evaluate them; it evaluates once it takes the lease, fencing every commit', async () => {
    const name = freshLeaseName();
    const other = createPostgresLeaderLease({ pool, name });
    expect(await other.tryAcquire('elsewhere', 60_000)).toBe(1);
    const fences: Array<Fence | undefined> = [];
    const { app, url, store } = await startApp(
      createPostgresLeaderLease({ pool, name }),
      'standby.db',
      fences,
    );
    let stopped = false;
    try {
      expect(app.leadership.leader).toBe(false);
      expect(await sample(url, 'hookrelay_evaluator_leader')).toBe(0);
      expect(await sample(url, 'hookrelay_evaluator_lag_seconds')).toBe(0);

      const answer = await postSigned(
        `${url}/webhooks/trackpilots`,
        JSON.stringify(sampleActivityEvent()),
        'a-test-secret',
      );
      expect(answer.status).toBe(200);
      const [stored] = await store.events.list({ limit: 1 });
      expect(stored).toBeDefined();
      // Stored, not evaluated: the lag of the standby's view is the item's age.
      await waitFor(
        'the item to have an age',
        async () => (await sample(url, 'hookrelay_evaluator_lag_seconds')) > 0,
      );
      expect((await store.evaluator.load()).cursor).toBe(0);
      expect(fences).toEqual([]);

      await other.resign('elsewhere', 1);
      await waitFor('the app to lead', () => app.leadership.leader);
      await waitFor(
        'the item to be evaluated',
        async () => (await store.evaluator.load()).cursor === stored?.seq,
      );
      expect(await sample(url, 'hookrelay_evaluator_leader')).toBe(1);
      expect(await sample(url, 'hookrelay_evaluator_lease_term')).toBe(2);
      expect(await sample(url, 'hookrelay_evaluator_lag_seconds')).toBe(0);
      expect(fences.length).toBeGreaterThan(0);
      expect(fences.every((fence) => fence?.holder === app.leadership.holder && fence.term === 2)).toBe(true);

      await app.stop();
      stopped = true;
      // Closing resigned: the next instance need not wait for the TTL.
      expect((await other.current())?.expiresInMs).toBeLessThan(0);
      expect(await other.tryAcquire('elsewhere', 60_000)).toBe(3);
    } finally {
      if (!stopped) await app.stop();
    }
  });

  // The store's own refusal of a stale fence is the PostgreSQL engine's (HR_ERR_STORE_FENCED); this is
  // the loop's side: a leader whose renewals hang past the TTL commits nothing, before it learns it lost.
  it('a leader whose renewals hang past its lease commits nothing, and stands down when they return', async () => {
    const name = freshLeaseName();
    const frozen = pausable(createPostgresLeaderLease({ pool, name }));
    const fences: Array<Fence | undefined> = [];
    const lines: string[] = [];
    const capture = { write: (line: string) => void lines.push(line) };
    const { app, url, store } = await startApp(
      frozen.lease,
      'paused.db',
      fences,
      createLogger('info', capture),
    );
    try {
      expect(app.leadership.leader).toBe(true);
      frozen.pause();
      const other = createPostgresLeaderLease({ pool, name });
      await waitFor(
        'another holder to take the lease',
        async () => (await other.tryAcquire('b', 60_000)) === 2,
        {
          timeoutMs: 10_000,
        },
      );
      const before = fences.length;
      const answer = await postSigned(
        `${url}/webhooks/trackpilots`,
        JSON.stringify(sampleActivityEvent()),
        'a-test-secret',
      );
      expect(answer.status).toBe(200);
      await waitFor('the evaluator to refuse its own commit', () =>
        lines.some((line) => line.includes('refused as fenced')),
      );
      // Still paused, still believing it leads, and yet nothing reached the store.
      expect(app.leadership.leader).toBe(true);
      expect(fences.length).toBe(before);
      expect((await store.evaluator.load()).cursor).toBe(0);
      expect(fences.every((fence) => fence?.term === 1)).toBe(true);

      frozen.resume();
      await waitFor('the paused leader to stand down', () => !app.leadership.leader);
      expect(await sample(url, 'hookrelay_evaluator_leader')).toBe(0);
    } finally {
      await app.stop();
    }
  });
});

describe('fencing on the PostgreSQL engine', () => {
  it('a leader paused at its commit past its lease is refused (HR_ERR_STORE_FENCED, nothing written); the new leader sends the alert once', async () => {
    const name = freshLeaseName();
    const loaded = await loadConfig(join(dir, 'rules.yaml'), {});
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const storeA = await openPostgresStore(db.url, { logger });
    const storeB = await openPostgresStore(db.url, { logger });

    // The pause: A's commit leaves the evaluator with A's fence, then waits here (a GC pause, a slow
    // network) before it reaches the database.
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    let outcome: string | undefined;
    const commitA = storeA.evaluator.commit.bind(storeA.evaluator);
    storeA.evaluator.commit = async (input) => {
      if (input.cursor > input.fromCursor) {
        held = true;
        await gate;
      }
      try {
        const result = await commitA(input);
        outcome = 'committed';
        return result;
      } catch (error) {
        outcome = (error as { code?: string }).code ?? 'error';
        throw error;
      }
    };

    const appA = createApp({
      config: loaded.config,
      store: storeA,
      logger,
      lease: createPostgresLeaderLease({ pool, name }),
      leaseTiming: TIMING,
    });
    const urlA = await appA.start({ port: 0, host: '127.0.0.1' });
    const appB = createApp({
      config: loaded.config,
      store: storeB,
      logger,
      lease: createPostgresLeaderLease({ pool, name }),
      leaseTiming: TIMING,
    });
    let startedB = false;
    try {
      expect(appA.leadership.leader).toBe(true);
      const answer = await postSigned(
        `${urlA}/webhooks/trackpilots`,
        JSON.stringify(sampleActivityEvent()),
        'a-test-secret',
      );
      expect(answer.status).toBe(200);
      await waitFor('A to reach its commit with the fence of term 1', () => held);

      // A's lease runs out while it is paused, and another holder is elected (it writes nothing yet).
      await pool.query(
        `UPDATE hookrelay_leases SET expires_at = now() - interval '1 second' WHERE name = $1`,
        [name],
      );
      const other = createPostgresLeaderLease({ pool, name });
      expect(await other.tryAcquire('other', 60_000)).toBe(2);

      release?.();
      await waitFor('A’s commit to be answered', () => outcome !== undefined);
      expect(outcome).toBe('HR_ERR_STORE_FENCED');
      await waitFor('A to stand by', () => !appA.leadership.leader);
      // Nothing of A's step was written: no cursor move, no state, no notification.
      expect((await storeA.evaluator.load()).cursor).toBe(0);
      expect((await storeA.evaluator.load()).state).toEqual([]);
      expect((await pool.query('SELECT id FROM notifications')).rows).toHaveLength(0);

      // The next leader (an app, once the other holder resigns) evaluates from the committed cursor:
      // the item once, its alert once.
      await other.resign('other', 2);
      await appB.start({ port: 0, host: '127.0.0.1' });
      startedB = true;
      await waitFor('B to lead', () => appB.leadership.leader);
      expect(appB.leadership.term).toBe(3);
      const [stored] = await storeB.events.list({ limit: 1 });
      await waitFor(
        'B to evaluate the item',
        async () => (await storeB.evaluator.load()).cursor === stored?.seq,
      );
      const rows = await pool.query<{ id: string }>('SELECT id FROM notifications');
      expect(rows.rows).toHaveLength(1);
    } finally {
      release?.();
      await appA.stop();
      if (startedB) await appB.stop();
      else await storeB.close();
    }
  });
});
