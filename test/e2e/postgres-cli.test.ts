// Issue 11 §1: the admin CLI (events, dlq list/replay/paused/resume) works against a PostgreSQL URL.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { normalizeTrackpilots } from '../../src/ingest/normalize/trackpilots.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { TEST_PG_URL, TestSchemas } from '../../src/store/postgres/test-schema.js';
import { MAIN } from '../helpers/server-process.js';

const run = promisify(execFile);
const schemas = new TestSchemas();
afterAll(() => schemas.dropAll());

/** The test database URL working in `schema` (libpq `options`, which node-postgres passes on). */
function urlFor(schema: string): string {
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function cli(args: string[], db: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = { PATH: process.env.PATH ?? '', HOOKRELAY_DB: db };
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { env, timeout: 15_000 });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: unknown };
    return {
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
      code: typeof failed.code === 'number' ? failed.code : 1,
    };
  }
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

    const events = await cli(['events', '--json'], db);
    expect(events.code).toBe(0);
    expect(events.stdout).toContain('user-pg');

    const dead = await cli(['dlq', 'list', '--json'], db);
    expect(dead.code).toBe(0);
    expect(dead.stdout).toContain('dead-1');
    expect(dead.stdout).toContain('payload rejected');

    const paused = await cli(['dlq', 'paused'], db);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('team-slack');

    expect((await cli(['dlq', 'resume', 'team-slack'], db)).code).toBe(0);
    expect((await cli(['dlq', 'resume', 'team-slack'], db)).code).toBe(1);
    expect((await cli(['dlq', 'replay', 'dead-1'], db)).code).toBe(0);

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
