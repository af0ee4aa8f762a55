import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postSigned, signedTrackpilotsHeaders } from '../test/helpers/sign.js';
import { waitFor } from '../test/helpers/wait.js';
import { type App, createApp } from './app.js';
import { sampleActivityEvent } from './cli/send-samples.js';
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

describe('/metrics', () => {
  /** sample reads one unlabelled series of /metrics. */
  async function sample(name: string): Promise<number> {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
    if (line === undefined) throw new Error(`${name} is not in /metrics`);
    return Number(line.slice(name.length + 1));
  }

  it('counts durable commits and the requests they carried, so requests per fsync can be read off', async () => {
    expect(await sample('hookrelay_store_appends_committed_total')).toBe(0);
    expect(await sample('hookrelay_store_append_commits_total')).toBe(0);

    const webhook = `${url}/webhooks/trackpilots`;
    const first = await postSigned(webhook, JSON.stringify(sampleActivityEvent()), 'a-test-secret');
    expect(first.status).toBe(200);
    expect(await sample('hookrelay_store_appends_committed_total')).toBe(1);
    expect(await sample('hookrelay_store_append_commits_total')).toBe(1);

    // Sent together, they may share commits (group-commit.test.ts proves that they do when they can).
    const together = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        postSigned(webhook, JSON.stringify(sampleActivityEvent({ userId: `u-${i}` })), 'a-test-secret'),
      ),
    );
    expect(together.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(await sample('hookrelay_store_appends_committed_total')).toBe(21);
    const commits = await sample('hookrelay_store_append_commits_total');
    expect(commits).toBeGreaterThanOrEqual(2);
    expect(commits).toBeLessThanOrEqual(21);

    // A refused request commits nothing.
    const refused = await postSigned(webhook, JSON.stringify(sampleActivityEvent()), 'not-the-secret');
    expect(refused.status).toBe(401);
    expect(await sample('hookrelay_store_appends_committed_total')).toBe(21);
  });
});

describe('reload', () => {
  it('applies a new retention.events to the background pruning', async () => {
    // An app of its own: a clock this test moves, and pruning every 50 ms.
    await app.stop();
    let now = Date.now();
    const clock = { now: () => now };
    const file = join(dir, 'retention.yaml');
    const load = async (retention: string) => {
      writeFileSync(file, `${RULES}retention: { events: ${retention} }\n`);
      const loaded = await loadConfig(file, {});
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
      return loaded.config;
    };
    const store = await openSqliteStore(join(dir, 'retention.db'));
    // Counts the pruning runs, so the test waits for them instead of sleeping.
    let runs = 0;
    const pruneEvents = store.events.pruneOlderThan.bind(store.events);
    store.events.pruneOlderThan = (cutoffMs) => {
      runs += 1;
      return pruneEvents(cutoffMs);
    };
    app = createApp({
      config: await load('7d'),
      store,
      logger: createLogger('silent'),
      clock,
      retentionIntervalMs: 50,
    });
    url = await app.start({ port: 0, host: '127.0.0.1' });
    const body = JSON.stringify(sampleActivityEvent());
    const answer = await fetch(`${url}/webhooks/trackpilots`, {
      method: 'POST',
      headers: signedTrackpilotsHeaders(body, 'a-test-secret', String(now)),
      body,
    });
    expect(answer.status).toBe(200);

    // Two days later: kept under 7 days, pruned once the file says 1 day.
    now += 2 * 86_400_000;
    // Three pruning runs after the clock moved (counted, not slept for): none of them removed the event.
    const after = runs;
    await waitFor('three pruning runs', async () => runs >= after + 3);
    expect(await store.events.list({ limit: 10 })).toHaveLength(1);
    await app.reload(await load('1d'));
    await waitFor(
      'the event to be pruned',
      async () => (await store.events.list({ limit: 10 })).length === 0,
    );
  });
});
