import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { INGEST_SECRET, type IngestApp, startIngestApp } from '../test/helpers/ingest-app.js';
import { signedTrackpilotsHeaders } from '../test/helpers/sign.js';
import { sampleActivityEvent } from './cli/send-samples.js';
import { createLogger } from './lib/log.js';
import { openPostgresStore } from './store/postgres/postgres-store.js';
import { TEST_PG_URL, TestSchemas } from './store/postgres/test-schema.js';

/*
 * The relay on PostgreSQL when the database stops taking writes: the events table is held by another
 * session's ACCESS EXCLUSIVE lock (as during a long migration or a stuck transaction), so every append
 * runs into the statement timeout. Nothing may be acknowledged; /readyz must say not ready; and once
 * the lock is gone the same process stores and is ready again, with no restart.
 */

const SECRET = INGEST_SECRET;

const schemas = new TestSchemas();
let running: IngestApp | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});
afterAll(() => schemas.dropAll());

describe('ingest on PostgreSQL when the database fails', () => {
  it('answers 503 with Retry-After, goes not ready, and recovers by itself when the database is back', async () => {
    const schema = await schemas.create();
    const logger = createLogger('silent');
    const store = await openPostgresStore(TEST_PG_URL, {
      schema,
      logger,
      settings: { statementTimeoutMs: 300 },
    });
    running = await startIngestApp(store, logger);
    const { url } = running;
    const post = (user: string) => {
      const body = JSON.stringify(sampleActivityEvent({ userId: user }));
      return fetch(`${url}/webhooks/trackpilots`, {
        method: 'POST',
        headers: signedTrackpilotsHeaders(body, SECRET),
        body,
      });
    };
    expect((await post('before')).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const locker = new pg.Client({ connectionString: TEST_PG_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".events IN ACCESS EXCLUSIVE MODE`);
      const refused = await post('during');
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not ready', store: 'not writable' });
      await locker.query('ROLLBACK');
    } finally {
      await locker.end();
    }

    expect((await post('after')).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const users = (await store.events.readAfter(0, 10)).map((event) => event.item.user);
    expect(users).toEqual(['before', 'after']);
  });
});
