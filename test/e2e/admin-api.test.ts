import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleAppEvent, sampleScreenshotEvent } from '../../src/cli/send-samples.js';
import { type AdminServerProcess, startAdminServer } from '../helpers/admin-server.js';
import { MAIN, startServer, tempDir } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * The JSON API routes of issue 12 §1–2 that the page and the CLI tests do not reach, against the spawned
 * `hookrelay serve`: POST /api/v1/reload (ok and refused), a silence's preview of the last 24 h and its
 * extension, /api/v1/evaluate (a payload and a stored seq, sending nothing), an event's screenshot, the
 * dry run of a bulk replay; and the admin listener's settings at start (ADMIN_PORT=off, a non-loopback
 * ADMIN_HOST without a token).
 */

const run = promisify(execFile);
const SECRET = 'admin-api-webhook-secret';
const TOKEN = 'admin-api-token-0123456789abcdef';
const WAIT = { timeoutMs: 60_000 };
const rulesYaml = (extraRule = '') => `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${JSON.stringify(SECRET)}] }
destinations:
  console: { type: log }
rules:
  - name: app-seen
    on: desktop.app_tracking.captured
    to: [console]
  - name: screens
    on: desktop.screenshot_tracking.captured
    to: [console]
${extraRule}`;

let dir: string;
let server: AdminServerProcess;

async function api<T>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.adminUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function post(payload: unknown): Promise<void> {
  const answer = await postSigned(`${server.url}/webhooks/trackpilots`, JSON.stringify(payload), SECRET);
  expect(answer.status).toBe(200);
}

async function alertCount(rule: string): Promise<number> {
  return (await api<{ alerts: unknown[] }>(`/api/v1/alerts?rule=${rule}&limit=200`)).body.alerts.length;
}

beforeAll(async () => {
  dir = tempDir();
  server = await startAdminServer({ rulesYaml: rulesYaml(), dir, env: { HOOKRELAY_ADMIN_TOKEN: TOKEN } });
  await post(sampleAppEvent({ userId: 'user-api-1', items: 2 }));
  await waitFor('two app-seen alerts', async () => (await alertCount('app-seen')) === 2, WAIT);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('the admin JSON API against the spawned relay', () => {
  test('POST /api/v1/reload applies a valid file and refuses a broken one with its errors (422), keeping the rules', async () => {
    writeFileSync(
      join(dir, 'rules.yaml'),
      rulesYaml('  - name: added-by-reload\n    on: desktop.activity_tracking.captured\n    to: [console]\n'),
    );
    const ok = await api<{ ok: boolean; rules: number }>('/api/v1/reload', {});
    expect(ok).toMatchObject({ status: 200, body: { ok: true, rules: 3 } });
    writeFileSync(join(dir, 'rules.yaml'), `${rulesYaml()}  - name: broken\n    on: [\n`);
    const refused = await api<{ ok: boolean; errors: string[] }>('/api/v1/reload', {});
    expect(refused.status).toBe(422);
    expect(refused.body.ok).toBe(false);
    expect(refused.body.errors.length).toBeGreaterThan(0);
    const { rules } = (await api<{ rules: Array<{ name: string }> }>('/api/v1/rules')).body;
    expect(rules.map((r) => r.name)).toEqual(['app-seen', 'screens', 'added-by-reload']);
    writeFileSync(join(dir, 'rules.yaml'), rulesYaml());
    expect((await api<{ ok: boolean }>('/api/v1/reload', {})).body.ok).toBe(true);
  });

  test('a silence preview counts the last 24 h alerts it would have muted; extend moves its end', async () => {
    const preview = await api<{ matched: number; sample: Array<{ rule: string }> }>(
      '/api/v1/silences/preview',
      {
        matchers: { rule: 'app-seen' },
      },
    );
    expect(preview.status).toBe(200);
    expect(preview.body.matched).toBe(2);
    expect(preview.body.sample.map((a) => a.rule)).toEqual(['app-seen', 'app-seen']);
    const none = await api<{ matched: number }>('/api/v1/silences/preview', {
      matchers: { rule: 'screens' },
    });
    expect(none.body.matched).toBe(0);

    const created = await api<{ id: string; endsAt: number }>('/api/v1/silences', {
      matchers: { rule: 'screens' },
      endsAt: '1h',
      comment: 'extend me',
      createdBy: 'e2e',
    });
    expect(created.status).toBe(201);
    const later = created.body.endsAt + 3 * 60 * 60 * 1000;
    const extended = await api<{ id: string; endsAt: number }>(`/api/v1/silences/${created.body.id}/extend`, {
      endsAt: new Date(later).toISOString(),
    });
    expect(extended).toMatchObject({ status: 200, body: { id: created.body.id, endsAt: later } });
    expect((await api<{ endsAt: number }>(`/api/v1/silences/${created.body.id}`)).body.endsAt).toBe(later);
    await api(`/api/v1/silences/${created.body.id}/expire`, {});
  });

  test('/api/v1/evaluate explains a payload and a stored item, and sends nothing', async () => {
    const before = await alertCount('app-seen');
    const payload = sampleAppEvent({ userId: 'user-api-2', items: 1 });
    const byPayload = await api<{
      items: unknown[];
      explanations: Array<{ rule: string; outcome: string; reason: string }>;
      alerts: Array<{ alert: { rule: string }; destinations: Array<{ name: string; preview: string }> }>;
    }>('/api/v1/evaluate', { payload });
    expect(byPayload.status).toBe(200);
    expect(byPayload.body.items).toHaveLength(1);
    expect(byPayload.body.explanations.map((e) => e.rule).sort()).toEqual(['app-seen', 'screens']);
    expect(byPayload.body.explanations.find((e) => e.rule === 'screens')?.reason).toContain('does not watch');
    expect(byPayload.body.alerts).toEqual([
      expect.objectContaining({
        alert: expect.objectContaining({ rule: 'app-seen' }),
        destinations: [expect.objectContaining({ name: 'console', preview: expect.any(String) })],
      }),
    ]);
    const { events } = (await api<{ events: Array<{ seq: number }> }>('/api/v1/events?limit=1')).body;
    const bySeq = await api<{ items: unknown[]; alerts: unknown[] }>('/api/v1/evaluate', {
      seq: events[0]?.seq,
    });
    expect(bySeq.status).toBe(200);
    expect(bySeq.body.alerts).toHaveLength(1);
    const bad = await api<{ error: { code: string } }>('/api/v1/evaluate', {});
    expect(bad.status).toBe(400);
    expect(await alertCount('app-seen')).toBe(before);
  });

  test("an event's screenshot is served as an image, sandboxed; an event without one is 404", async () => {
    await post(sampleScreenshotEvent({ userId: 'user-api-3' }));
    await waitFor('the screens alert', async () => (await alertCount('screens')) === 1, WAIT);
    const { events } = (
      await api<{ events: Array<{ seq: number; hasImage: boolean }> }>(
        '/api/v1/events?type=desktop.screenshot_tracking.captured&limit=1',
      )
    ).body;
    expect(events[0]?.hasImage).toBe(true);
    const image = await fetch(`${server.adminUrl}/api/v1/events/${events[0]?.seq}/screenshot`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toMatch(/^image\//);
    expect(image.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect((await image.arrayBuffer()).byteLength).toBeGreaterThan(100);
    const app = (
      await api<{ events: Array<{ seq: number }> }>(
        '/api/v1/events?type=desktop.app_tracking.captured&limit=1',
      )
    ).body.events[0];
    const none = await fetch(`${server.adminUrl}/api/v1/events/${app?.seq}/screenshot`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(none.status).toBe(404);
  });

  test('a bulk replay can be asked as a dry run first: it reports how many would move, and moves none', async () => {
    const dry = await api<{ matching: number }>('/api/v1/dead-letters/replay', { all: true, dryRun: true });
    expect(dry).toEqual({ status: 200, body: { matching: 0 } });
    const neither = await api<{ error: { code: string } }>('/api/v1/dead-letters/replay', {});
    expect(neither.status).toBe(400);
    expect(neither.body.error.code).toBe('HR_ERR_ADMIN_BAD_REQUEST');
  });
});

describe('the admin listener settings at start', () => {
  const serve = async (env: Record<string, string>) => {
    const where = tempDir();
    writeFileSync(join(where, 'rules.yaml'), rulesYaml());
    try {
      await run(process.execPath, [MAIN, 'serve'], {
        cwd: where,
        env: {
          PATH: process.env.PATH ?? '',
          HOOKRELAY_CONFIG: join(where, 'rules.yaml'),
          HOOKRELAY_DB: `sqlite:${join(where, 'hookrelay.db')}`,
          PORT: '0',
          HOST: '127.0.0.1',
          ...env,
        },
        timeout: 30_000,
      });
      return { code: 0, stderr: '' };
    } catch (error) {
      const failed = error as { code?: unknown; stderr?: string };
      return { code: failed.code, stderr: failed.stderr ?? '' };
    }
  };

  test('a non-loopback ADMIN_HOST without HOOKRELAY_ADMIN_TOKEN refuses to start, saying why', async () => {
    const refused = await serve({ ADMIN_HOST: '0.0.0.0', ADMIN_PORT: '0' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ADMIN_HOST=0.0.0.0 would open the dashboard');
    expect(refused.stderr).toContain('HR_ERR_ADMIN_');
  });

  test('ADMIN_PORT=off serves no admin listener', async () => {
    const off = await startServer({ rulesYaml: rulesYaml(), env: { ADMIN_PORT: 'off' } });
    try {
      // "admin listening" is logged before "hookrelay listening" whenever the admin listener starts.
      await waitFor(
        'the listening line',
        () => off.lines.some((line) => line.includes('hookrelay listening')),
        WAIT,
      );
      expect(off.lines.filter((line) => line.includes('admin listening'))).toEqual([]);
      // The webhook port answers; nothing of the admin API is on it.
      expect((await fetch(`${off.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${off.url}/api/v1/events`)).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});
