import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INGEST_SECRET, type IngestApp, startIngestApp } from '../test/helpers/ingest-app.js';
import { postSigned } from '../test/helpers/sign.js';
import { sampleActivityEvent } from './cli/send-samples.js';
import { createLogger } from './lib/log.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';

/*
 * A full disk under a running relay, made real with SQLite's own limit (PRAGMA max_page_count on every
 * connection of the store): a write that needs a new page fails with SQLITE_FULL, exactly as when the
 * filesystem has no block left, while a write that fits in the pages already there still succeeds, as
 * it does on a full disk (which is why a tiny probe write said "ready").
 */

const SECRET = INGEST_SECRET;

interface LogLine {
  level: number;
  msg: string;
  failures?: number;
  err?: unknown;
}

let dir: string;
let running: IngestApp | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookrelay-full-'));
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** pagesOf returns the page count of a fresh, migrated database at `path` (closing it again). */
async function pagesOf(path: string): Promise<number> {
  await (await openSqliteStore(path)).close();
  const raw = new Database(path, { readonly: true });
  try {
    return Number(raw.pragma('page_count', { simple: true }));
  } finally {
    raw.close();
  }
}

describe('a full disk', () => {
  it('answers every POST 503, says not ready, and logs the repeated failure once with a count', async () => {
    const path = join(dir, 'hookrelay.db');
    const lines: LogLine[] = [];
    const logger = createLogger('info', {
      write(chunk: string) {
        lines.push(JSON.parse(chunk) as LogLine);
      },
    });
    // A few pages of room: small writes fit, a request body of 256 KiB never does.
    const store = await openSqliteStore(path, { logger, maxPageCount: (await pagesOf(path)) + 4 });
    running = await startIngestApp(store, logger);
    const { url } = running;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const errorsBefore = lines.filter((line) => line.level >= 50).length;

    for (let i = 0; i < 10; i += 1) {
      const body = JSON.stringify({
        ...sampleActivityEvent({ userId: `u-${i}` }),
        padding: 'x'.repeat(262_144),
      });
      const answer = await postSigned(`${url}/webhooks/trackpilots`, body, SECRET);
      expect(answer.status).toBe(503);
    }

    // The probe write still fits, but the relay cannot keep what it is sent: not ready.
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not ready', store: 'not writable' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // One error line for the first failure (with its cause), not one stack per request.
    const errors = () => lines.filter((line) => line.level >= 50).slice(errorsBefore);
    expect(errors()).toHaveLength(1);
    expect(JSON.stringify(errors()[0])).toContain('database or disk is full');

    // The rest are counted, and the count is logged (at the end of the interval, or here at stop).
    await running.stop();
    running = undefined;
    expect(errors()).toHaveLength(2);
    expect(errors()[1]).toMatchObject({ failures: 9 });
    expect(errors()[1]?.err).toBeUndefined();
  });
});
