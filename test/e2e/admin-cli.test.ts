import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleAppEvent } from '../../src/cli/send-samples.js';
import { type AdminServerProcess, startAdminServer } from '../helpers/admin-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { MAIN, tempDir } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * `hookrelay alerts` and `hookrelay silence …` against a spawned relay through its admin API (--url and
 * HOOKRELAY_ADMIN_TOKEN), as an operator would reach a relay in a container; and stored silences
 * surviving a restart, on both engines (SQLite file, then a fresh PostgreSQL database).
 */

const run = promisify(execFile);
const SECRET = 'admin-cli-webhook-secret';
const TOKEN = 'admin-cli-token-0123456789abcdef';
const RULES = `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${JSON.stringify(SECRET)}] }
destinations:
  console: { type: log }
rules:
  - name: app-seen
    on: desktop.app_tracking.captured
    to: [console]
`;

let dir: string;
let server: AdminServerProcess;
/** The relay's environment for this engine (HOOKRELAY_DB for PostgreSQL; the helper's SQLite file otherwise). */
let engineEnv: Record<string, string> = {};

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], {
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

async function alerts(): Promise<Array<{ alert: { key: string }; deliveries: Array<{ status: string }> }>> {
  const { code, stdout } = await cli(['alerts', '--url', server.adminUrl, '--json', '--limit', '100']);
  expect(code).toBe(0);
  return JSON.parse(stdout);
}

async function post(user: string): Promise<void> {
  const body = JSON.stringify(sampleAppEvent({ userId: user, items: 1 }));
  expect((await postSigned(`${server.url}/webhooks/trackpilots`, body, SECRET)).status).toBe(200);
}

async function evaluated(): Promise<void> {
  await waitFor(
    'the evaluator to catch up',
    async () => {
      const answer = await fetch(`${server.adminUrl}/api/v1/overview`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return ((await answer.json()) as { evaluator: { lagItems: number } }).evaluator.lagItems === 0;
    },
    { timeoutMs: 30_000 },
  );
}

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`hookrelay alerts / silence against the admin API (${engine})`, () => {
    let database: TestDatabase | undefined;
    beforeAll(async () => {
      dir = tempDir();
      database = engine === 'postgres' ? await createTestDatabase() : undefined;
      engineEnv = database ? { HOOKRELAY_DB: database.url } : {};
      server = await startAdminServer({
        rulesYaml: RULES,
        dir,
        env: { HOOKRELAY_ADMIN_TOKEN: TOKEN, ...engineEnv },
      });
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      await database?.drop();
    });

    test('silence add mutes, survives a restart, list shows it, expire un-mutes; alerts shows delivery status', async () => {
      const added = await cli([
        'silence',
        'add',
        '--url',
        server.adminUrl,
        '--matcher',
        'rule=app-seen',
        '--matcher',
        'user=u-quiet',
        '--for',
        '2h',
        '--comment',
        'on leave',
        '--by',
        'ops',
        '--json',
      ]);
      expect(added.code, added.stderr).toBe(0);
      const silence = JSON.parse(added.stdout) as { id: string; state: string };
      expect(silence.state).toBe('active');

      await post('u-quiet');
      await post('u-loud');
      await evaluated();
      await waitFor('the loud alert delivered', async () =>
        (await alerts()).some((a) => a.alert.key === 'u-loud' && a.deliveries[0]?.status === 'delivered'),
      );
      expect((await alerts()).map((a) => a.alert.key)).toEqual(['u-loud']);
      const table = await cli(['alerts', '--url', server.adminUrl]);
      expect(table.stdout).toMatch(/app-seen\s.*\[console:delivered\]/);

      // A restart: the silence is still stored and still applied.
      await server.stop();
      server = await startAdminServer({
        rulesYaml: RULES,
        dir,
        env: { HOOKRELAY_ADMIN_TOKEN: TOKEN, ...engineEnv },
      });
      const listed = await cli(['silence', 'list', '--url', server.adminUrl]);
      expect(listed.stdout).toContain(silence.id);
      expect(listed.stdout).toContain('on leave (ops)');
      await post('u-quiet');
      await evaluated();
      expect((await alerts()).map((a) => a.alert.key)).toEqual(['u-loud']);

      const expired = await cli(['silence', 'expire', silence.id, '--url', server.adminUrl]);
      expect(expired.code, expired.stderr).toBe(0);
      expect(expired.stdout).toContain('expired');
      expect((await cli(['silence', 'list', '--url', server.adminUrl])).stdout).toBe(
        'no active or pending silence\n',
      );
      await post('u-quiet');
      await waitFor('the un-muted alert', async () =>
        (await alerts()).some((a) => a.alert.key === 'u-quiet'),
      );
    });

    // The CLI's errors do not depend on the engine: checked once, against the SQLite relay.
    if (engine === 'sqlite')
      test('HOOKRELAY_ADMIN_URL works; a wrong token, a dead URL and the webhook port fail clearly (exit 1)', async () => {
        const viaEnv = await cli(['silence', 'list', '--all'], { HOOKRELAY_ADMIN_URL: server.adminUrl });
        expect(viaEnv.code).toBe(0);
        const events = await cli(['events', '--json', '--limit', '2', '--url', server.adminUrl]);
        expect(events.code, events.stderr).toBe(0);
        const lines = events.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { event: string });
        expect(lines).toHaveLength(2);
        expect(lines[0]?.event).toBe('desktop.app_tracking.captured');
        const wrong = await cli(['alerts', '--url', server.adminUrl], {
          HOOKRELAY_ADMIN_TOKEN: 'wrong-token-wrong-token',
        });
        expect(wrong.code).toBe(1);
        expect(wrong.stderr).toContain('HR_ERR_ADMIN_UNAUTHORIZED');
        expect(wrong.stderr).not.toContain('wrong-token-wrong-token');
        const dead = await cli(['alerts', '--url', 'http://127.0.0.1:9']);
        expect(dead.code).toBe(1);
        expect(dead.stderr).toContain('HR_ERR_ADMIN_UNREACHABLE');
        const webhookPort = await cli(['alerts', '--url', server.url]);
        expect(webhookPort.code).toBe(1);
        expect(webhookPort.stderr).toContain('HR_ERR_ADMIN_BAD_RESPONSE');
        const usage = await cli([
          'silence',
          'add',
          '--url',
          server.adminUrl,
          '--for',
          '1h',
          '--comment',
          'x',
        ]);
        expect(usage.code).toBe(2);
        const badMatcher = await cli([
          'silence',
          'add',
          '--url',
          server.adminUrl,
          '--matcher',
          'user=x',
          '--for',
          'soon',
          '--comment',
          'x',
        ]);
        expect(badMatcher.code).toBe(1);
        expect(badMatcher.stderr).toContain('HR_ERR_ADMIN_BAD_REQUEST');
      });
  });
}
