// Issue 11 §1: the admin CLI (events, dlq list/replay/paused/resume) works against a PostgreSQL URL.
import { afterAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { normalizeTrackpilots } from '../../src/ingest/normalize/trackpilots.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { TEST_PG_URL, TestSchemas } from '../../src/store/postgres/test-schema.js';
import { hookrelay } from '../helpers/wait.js';

const schemas = new TestSchemas();
afterAll(() => schemas.dropAll());

/** The test database URL working in `schema` (libpq `options`, which node-postgres passes on). */
function urlFor(schema: string): string {
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

describe('the admin CLI on PostgreSQL', () => {
  test('events, dlq list, replay, paused and resume read and change the PostgreSQL database', async () => {
    const schema = await schemas.create();
    const db = urlFor(schema);
    const store = await openPostgresStore(db);
    try {
      expect(store.schema).toBe(schema);
      const payload = sampleActivityEvent({ userId: 'user-pg' });
      const normalised = normalizeTrackpilots(payload, { source: 'trackpilots', receivedAt: Date.now() });
      if (!normalised.ok) throw new Error(normalised.reason);
      await store.events.append({
        request: {
          source: 'trackpilots',
          event: normalised.event,
          receivedAt: Date.now(),
          body: Buffer.from(JSON.stringify(payload)),
        },
        events: normalised.events,
      });
      const alert = {
        rule: 'r',
        status: 'firing',
        severity: 'warning',
        title: 't',
        text: 'x',
        key: 'k',
        at: 0,
        simulation: false,
        id: 'dead-1',
      } as const;
      await store.evaluator.commit({
        fromCursor: 0,
        cursor: 0,
        upserts: [],
        deletes: [],
        notifications: [{ id: 'dead-1', destination: 'zapier', alert, createdAt: 1, dueAt: 1 }],
      });
      const [claimed] = await store.outbox.claim({
        now: 2,
        leaseMs: 60_000,
        limitPerDestination: 1,
        destinations: ['zapier'],
      });
      await store.outbox.deadLetter(
        'dead-1',
        {
          reason: 'payload rejected',
          attempt: { at: 3, durationMs: 1, outcome: 'dead', reason: 'badRequest' },
        },
        claimed?.claimToken,
      );
      await store.deadLetters.pauseDestination('team-slack', { reason: 'token revoked', at: 4 });
    } finally {
      await store.close();
    }

    const events = await hookrelay(['events', '--json'], db);
    expect(events.code).toBe(0);
    expect(events.stdout).toContain('user-pg');

    const dead = await hookrelay(['dlq', 'list', '--json'], db);
    expect(dead.code).toBe(0);
    expect(dead.stdout).toContain('dead-1');
    expect(dead.stdout).toContain('payload rejected');

    const paused = await hookrelay(['dlq', 'paused'], db);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('team-slack');

    expect((await hookrelay(['dlq', 'resume', 'team-slack'], db)).code).toBe(0);
    expect((await hookrelay(['dlq', 'resume', 'team-slack'], db)).code).toBe(1);
    expect((await hookrelay(['dlq', 'replay', 'dead-1'], db)).code).toBe(0);

    const after = await openPostgresStore(db);
    try {
      expect(await after.deadLetters.listPausedDestinations()).toEqual([]);
      expect(await after.deadLetters.listDead({ limit: 10 })).toEqual([]);
      expect(await after.outbox.pendingCounts()).toEqual({ zapier: 1 });
    } finally {
      await after.close();
    }
  });
});
