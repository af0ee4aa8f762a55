import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent, sampleAppEvent } from '../../src/cli/send-samples.js';
import { type AdminServerProcess, startAdminServer } from '../helpers/admin-server.js';
import { type HttpReceiver, startHttpReceiver } from '../helpers/http-receiver.js';
import { MAIN, tempDir } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * `hookrelay dlq …` against a spawned relay through its admin API (--url, or HOOKRELAY_ADMIN_URL; token
 * from HOOKRELAY_ADMIN_TOKEN), as an operator reaches a relay in a container: the CLI runs in a directory
 * with no database, so everything it shows and changes comes over the API (issue 12 §2).
 */

const run = promisify(execFile);
const SECRET = 'admin-dlq-webhook-secret';
const TOKEN = 'admin-dlq-token-0123456789abcdef';
const WAIT = { timeoutMs: 60_000 };

let server: AdminServerProcess;
let flaky: HttpReceiver;
let locked: HttpReceiver;
/** Where the CLI runs: no ./data/hookrelay.db, so a local read would fail (HR_ERR_STORE_NOT_FOUND). */
let elsewhere: string;

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], {
      cwd: elsewhere,
      env: { PATH: process.env.PATH ?? '', HOOKRELAY_ADMIN_TOKEN: TOKEN, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${server.adminUrl}${path}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return (await response.json()) as T;
}

async function post(payload: unknown): Promise<void> {
  const answer = await postSigned(`${server.url}/webhooks/trackpilots`, JSON.stringify(payload), SECRET);
  expect(answer.status).toBe(200);
}

async function statusOf(rule: string): Promise<string | undefined> {
  return (await api<{ alerts: Array<{ status: string }> }>(`/api/v1/alerts?rule=${rule}`)).alerts[0]?.status;
}

beforeAll(async () => {
  elsewhere = tempDir('hookrelay-dlq-cli-');
  flaky = await startHttpReceiver();
  locked = await startHttpReceiver();
  const q = JSON.stringify;
  server = await startAdminServer({
    dir: tempDir(),
    env: { HOOKRELAY_ADMIN_TOKEN: TOKEN },
    rulesYaml: `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${q(SECRET)}] }
destinations:
  flaky: { type: webhook, url: ${q(`${flaky.origin}/in`)}, allowPrivateNetworks: true, retry: { maxAttempts: 2, initialDelay: 100ms, maxDelay: 200ms } }
  locked: { type: webhook, url: ${q(`${locked.origin}/in`)}, allowPrivateNetworks: true }
rules:
  - name: work-mode
    on: desktop.activity_tracking.captured
    to: [flaky]
  - name: app-seen
    on: desktop.app_tracking.captured
    to: [locked]
`,
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await flaky?.close();
  await locked?.close();
});

describe('hookrelay dlq against the admin API', () => {
  test('list, replay (unknown id, by destination) through --url; the replayed alert is delivered', async () => {
    flaky.script({ status: 500, body: 'down' }, { status: 500, body: 'down' });
    await post(sampleActivityEvent({ userId: 'user-dlq-1' }));
    await waitFor(
      'a dead letter for flaky',
      async () =>
        (await api<{ deadLetters: unknown[] }>('/api/v1/dead-letters?destination=flaky')).deadLetters
          .length === 1,
      WAIT,
    );

    const listed = await cli(['dlq', 'list', '--json', '--url', server.adminUrl]);
    expect(listed.code, listed.stderr).toBe(0);
    const letters = listed.stdout
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as { id: string; destination: string; rule: string; attempts: unknown[] },
      );
    expect(letters).toEqual([
      expect.objectContaining({ destination: 'flaky', rule: 'work-mode', attempts: expect.any(Array) }),
    ]);
    expect(letters[0]?.attempts).toHaveLength(2);
    const table = await cli(['dlq', 'list', '--url', server.adminUrl]);
    expect(table.stdout).toContain(letters[0]?.id);

    const unknown = await cli(['dlq', 'replay', 'no-such-id', '--url', server.adminUrl]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('not a dead letter (unknown id, or not dead): no-such-id');

    const replayed = await cli(['dlq', 'replay', '--destination', 'flaky', '--url', server.adminUrl]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toBe('requeued 1 dead letter\n');
    await waitFor(
      'the replayed alert delivered',
      async () => (await statusOf('work-mode')) === 'delivered',
      WAIT,
    );
    const empty = await cli(['dlq', 'list', '--url', server.adminUrl]);
    expect(empty).toMatchObject({ code: 0, stdout: 'no dead letters\n' });
  });

  test('paused and resume through HOOKRELAY_ADMIN_URL; an unknown destination exits 1', async () => {
    const viaEnv = { HOOKRELAY_ADMIN_URL: server.adminUrl };
    locked.script({ status: 401, body: 'who are you' });
    await post(sampleAppEvent({ userId: 'user-dlq-2', items: 1 }));
    await waitFor(
      'locked paused',
      async () =>
        (
          await api<{ destinations: Array<{ name: string; paused?: unknown }> }>('/api/v1/destinations')
        ).destinations.some((d) => d.name === 'locked' && d.paused !== undefined),
      WAIT,
    );

    const paused = await cli(['dlq', 'paused', '--json'], viaEnv);
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout.trim())).toEqual(
      expect.objectContaining({
        destination: 'locked',
        reason: expect.any(String),
        pausedAt: expect.any(String),
      }),
    );

    const typo = await cli(['dlq', 'resume', 'lockd'], viaEnv);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('"lockd" is not paused (did you mean "locked"?)');

    const resumed = await cli(['dlq', 'resume', 'locked'], viaEnv);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resumed locked; \d+ pending notification\(s\) will be sent\n$/);
    await waitFor(
      'the paused alert delivered',
      async () => (await statusOf('app-seen')) === 'delivered',
      WAIT,
    );
    const none = await cli(['dlq', 'paused'], viaEnv);
    expect(none).toMatchObject({ code: 0, stdout: 'no destination is paused\n' });
  });

  test('a wrong token and the webhook port fail clearly (exit 1), and the token is never printed', async () => {
    const wrong = await cli(['dlq', 'list', '--url', server.adminUrl], {
      HOOKRELAY_ADMIN_TOKEN: 'wrong-token-wrong',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('HR_ERR_ADMIN_UNAUTHORIZED');
    expect(wrong.stderr).not.toContain('wrong-token-wrong');
    const webhookPort = await cli(['dlq', 'paused', '--url', server.url]);
    expect(webhookPort.code).toBe(1);
    expect(webhookPort.stderr).toContain('HR_ERR_ADMIN_BAD_RESPONSE');
  });
});
