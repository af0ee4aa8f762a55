// Issue 9 §4: the CLI behaves like a well-made Unix tool when its output goes into a pipe that closes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { sampleActivityEvent, sampleAppEvent } from '../../src/cli/send-samples.js';
import { normalizeTrackpilots } from '../../src/ingest/normalize/trackpilots.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { type ClosedPipeRun, runIntoClosedPipe } from '../helpers/closed-pipe.js';
import { startServer, tempDir } from '../helpers/server-process.js';
import { hookrelay } from '../helpers/wait.js';

/** expectQuietExit asserts the run ended by itself, with status 0 and no stack trace or error on stderr. */
function expectQuietExit(run: ClosedPipeRun): void {
  expect(run.signal).toBeNull();
  expect(run.stderr).not.toMatch(/EPIPE|Error|^\s+at /m);
  expect(run.code).toBe(0);
}

/** seededDatabase stores `requests` app batches of 12 items: far more output than a pipe buffers (64 kB). */
async function seededDatabase(requests: number): Promise<string> {
  const path = join(tempDir('hookrelay-cli-'), 'hookrelay.db');
  const store = await openSqliteStore(path);
  try {
    for (let i = 0; i < requests; i++) {
      const payload = sampleAppEvent({ userId: `user-${i}` });
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
    }
    // Dead letters with every attempt, for `dlq list --json`.
    const ids = Array.from({ length: 300 }, (_, i) => `dead-${i}`);
    const { cursor } = await store.evaluator.load();
    const alert = {
      rule: 'r',
      status: 'firing',
      severity: 'warning',
      title: 'x'.repeat(200),
      text: 'y'.repeat(400),
      key: 'k',
      at: 0,
      simulation: false,
      id: 'a',
    } as const;
    await store.evaluator.commit({
      fromCursor: cursor,
      cursor,
      upserts: [],
      deletes: [],
      notifications: ids.map((id, index) => ({
        id,
        destination: 'zapier',
        alert: { ...alert, id },
        createdAt: index,
        dueAt: 0,
      })),
    });
    await store.outbox.claim({
      now: 1,
      leaseMs: 60_000,
      limitPerDestination: ids.length,
      destinations: ['zapier'],
    });
    await Promise.all(
      ids.map((id) =>
        store.outbox.deadLetter(id, {
          reason: 'payloadRejected: HTTP 400',
          attempt: { at: 1, durationMs: 1, outcome: 'dead', reason: 'payloadRejected', detail: 'HTTP 400' },
        }),
      ),
    );
  } finally {
    await store.close();
  }
  return path;
}

describe('output into a pipe that closes early (| head -1)', () => {
  test('events --json, events, dlq list --json exit 0 quietly', async () => {
    const path = await seededDatabase(30);
    const env = { HOOKRELAY_DB: `sqlite:${path}` };
    for (const args of [
      ['events', '--json', '--limit', '1000'],
      ['events', '--limit', '1000'],
      ['dlq', 'list', '--json', '--limit', '1000'],
    ]) {
      const run = await runIntoClosedPipe(args, { env });
      expect(run.firstLine, args.join(' ')).not.toBe('');
      expectQuietExit(run);
    }
  }, 90_000);

  test('test --explain over many rules exits 0 quietly', async () => {
    const dir = tempDir('hookrelay-cli-');
    const rules = Array.from(
      { length: 1_500 },
      (_, i) => `  - name: seen-${i}\n    on: desktop.activity_tracking.captured\n    to: [console]\n`,
    ).join('');
    writeFileSync(
      join(dir, 'rules.yaml'),
      `version: 1\nsources:\n  trackpilots: { type: trackpilots, secrets: ["s"] }\ndestinations:\n  console: { type: log }\nrules:\n${rules}`,
    );
    writeFileSync(join(dir, 'event.json'), JSON.stringify(sampleActivityEvent({ userId: 'ada' })));
    const run = await runIntoClosedPipe(['test', 'rules.yaml', '--event', 'event.json', '--explain'], {
      cwd: dir,
    });
    expect(run.firstLine).toContain('item(s)');
    expectQuietExit(run);
  }, 90_000);

  test('send --count 5 still sends all five requests', async () => {
    const server = await startServer({
      rulesYaml:
        'version: 1\nsources:\n  trackpilots: { type: trackpilots, secrets: ["pipe-secret"] }\ndestinations: {}\nrules: []\n',
    });
    try {
      const run = await runIntoClosedPipe([
        'send',
        '--count',
        '5',
        '--event',
        'activity',
        '--secret',
        'pipe-secret',
        '--url',
        `${server.url}/webhooks/trackpilots`,
      ]);
      expect(run.firstLine).toMatch(/^#1 200 OK/);
      expectQuietExit(run);
      // serve said at start what it uses (issue 9 §4).
      const startup = server.lines.find((line) => line.includes('serving with this rules file and database'));
      expect(startup).toContain(JSON.stringify(join(server.dir, 'rules.yaml')));
      expect(startup).toContain(JSON.stringify(`sqlite:${server.dbPath}`));
      const listed = await hookrelay(['events', '--json'], server.dbPath);
      expect(listed.stdout.trim().split('\n')).toHaveLength(5);
    } finally {
      await server.stop();
    }
  }, 90_000);
});
