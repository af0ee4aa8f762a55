import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type App, createApp } from './app.js';
import { loadConfig } from './config/load.js';
import { createLogger } from './lib/log.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';

const RULES = `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [a-test-secret] }
destinations:
  console: { type: log }
rules: []
`;

let dir: string;
let app: App;
let url: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hookrelay-app-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  const loaded = await loadConfig(join(dir, 'rules.yaml'), {});
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  // A short busy timeout: a held write lock makes the readiness check fail fast instead of after 5 s.
  const store = await openSqliteStore(join(dir, 'hookrelay.db'), { busyTimeoutMs: 50 });
  app = createApp({ config: loaded.config, store, logger: createLogger('silent') });
  url = await app.start({ port: 0, host: '127.0.0.1' });
});

afterEach(async () => {
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('/readyz', () => {
  it('answers 503 while the database cannot take a write, and 200 again once it can', async () => {
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', sources: ['trackpilots'] });

    // Another process holding the write lock (a backup tool, a stuck `sqlite3` shell) is the real case.
    const other = new Database(join(dir, 'hookrelay.db'));
    try {
      other.exec('BEGIN IMMEDIATE');
      const blocked = await fetch(`${url}/readyz`);
      expect(blocked.status).toBe(503);
      expect(await blocked.json()).toEqual({ status: 'not ready', store: 'not writable' });
      // Liveness is not readiness: the process itself is fine.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }

    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });
});
