import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postSigned } from '../../test/helpers/sign.js';
import { waitFor } from '../../test/helpers/wait.js';
import { type App, createApp } from '../app.js';
import { sampleAppEvent } from '../cli/send-samples.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../lib/log.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { SESSION_COOKIE } from './auth.js';
import { CONTENT_SECURITY_POLICY } from './server.js';

/*
 * The admin listener in-process, over real sockets: authentication, CSRF, the security headers, the
 * separation from the webhook port, secrets never shown, and the JSON API's reads. The browser tests
 * (test/e2e/admin-*.test.ts) cover the same ground through Chromium against the spawned binary.
 */

const TOKEN = 'an-admin-token-for-tests-0123456789';
const SLACK_TOKEN = 'xoxb-secret-slack-token-4711';
const HOOK_SECRET = 'hook-secret-trackpilots-99';
const RULES = `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: ["\${TP_SECRET}"] }
destinations:
  console: { type: log }
  team-slack: { type: slack, token: "\${SLACK_TOKEN}", channel: C0123456789 }
rules:
  - name: every-app-event
    on: desktop.app_tracking.captured
    to: [console]
`;

interface Harness {
  app: App;
  dir: string;
  webhook: string;
  admin: string;
}

async function start(token: string | undefined): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-admin-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  const env = { TP_SECRET: HOOK_SECRET, SLACK_TOKEN };
  const loaded = await loadConfig(join(dir, 'rules.yaml'), env);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const store = await openSqliteStore(join(dir, 'hookrelay.db'));
  const app = createApp({
    config: loaded.config,
    store,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    admin: { host: '127.0.0.1', port: 0, ...(token ? { token } : {}), env, cwd: dir },
  });
  const webhook = await app.start({ port: 0, host: '127.0.0.1' });
  return { app, dir, webhook, admin: app.adminAddress as string };
}

async function stop(harness: Harness | undefined): Promise<void> {
  if (!harness) return;
  await harness.app.stop();
  rmSync(harness.dir, { recursive: true, force: true });
}

const bearer = { authorization: `Bearer ${TOKEN}` };

describe('with HOOKRELAY_ADMIN_TOKEN', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start(TOKEN);
  });
  afterAll(() => stop(h));

  it('answers 401 without the token, for pages (the login form) and for the API (JSON)', async () => {
    const page = await fetch(`${h.admin}/`);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('name="token"');
    const api = await fetch(`${h.admin}/api/v1/events`);
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await api.json()).toEqual({
      error: { code: 'HR_ERR_ADMIN_UNAUTHORIZED', message: expect.any(String) },
    });
    const wrong = await fetch(`${h.admin}/api/v1/events`, {
      headers: { authorization: 'Bearer nope-nope-nope-nope' },
    });
    expect(wrong.status).toBe(401);
    for (const path of [
      '/events',
      '/alerts',
      '/dead-letters',
      '/destinations',
      '/silences',
      '/rules',
      '/playground',
    ]) {
      expect((await fetch(`${h.admin}${path}`)).status, path).toBe(401);
    }
  });

  it('lets a Bearer request in, and a Bearer POST needs no CSRF token', async () => {
    const events = await fetch(`${h.admin}/api/v1/events`, { headers: bearer });
    expect(events.status).toBe(200);
    expect(await events.json()).toEqual({ events: [] });
    const created = await fetch(`${h.admin}/api/v1/silences`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: { rule: 'a-rule-that-never-fires' },
        endsAt: '1h',
        comment: 'test',
        createdBy: 'ci',
      }),
    });
    expect(created.status).toBe(201);
    const silence = (await created.json()) as { id: string };
    const expired = await fetch(`${h.admin}/api/v1/silences/${silence.id}/expire`, {
      method: 'POST',
      headers: bearer,
    });
    expect(expired.status).toBe(200);
    expect(await expired.json()).toMatchObject({ id: silence.id, state: 'expired' });
  });

  it('logs in with the form: an HttpOnly, SameSite=Strict cookie; a wrong token is 401', async () => {
    const origin = h.admin;
    const form = (token: string) =>
      fetch(`${h.admin}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body: new URLSearchParams({ token, next: '/rules' }).toString(),
      });
    expect((await form('not-the-token-at-all')).status).toBe(401);
    const ok = await form(TOKEN);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/rules');
    const cookie = ok.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const page = await fetch(`${h.admin}/rules`, { headers: { cookie: cookie.split(';')[0] as string } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('every-app-event');
  });

  it('refuses a cookie session’s POST without its CSRF token or from another origin (403)', async () => {
    const login = await fetch(`${h.admin}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.admin },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const html = await (await fetch(`${h.admin}/silences`, { headers: { cookie } })).text();
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(html)?.[1] as string;
    expect(csrf.length).toBeGreaterThan(20);
    const body = JSON.stringify({
      matchers: { rule: 'a-rule-that-never-fires' },
      endsAt: '1h',
      comment: 'x',
      createdBy: 'y',
    });
    const post = (headers: Record<string, string>) =>
      fetch(`${h.admin}/api/v1/silences`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body,
      });
    const missing = await post({ origin: h.admin });
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('HR_ERR_ADMIN_CSRF');
    const wrongToken = await post({ origin: h.admin, 'x-csrf-token': `${csrf}x` });
    expect(wrongToken.status).toBe(403);
    const foreign = await post({ origin: 'http://evil.example', 'x-csrf-token': csrf });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('HR_ERR_ADMIN_ORIGIN');
    const noOrigin = await post({ 'x-csrf-token': csrf });
    expect(noOrigin.status).toBe(403);
    const good = await post({ origin: h.admin, 'x-csrf-token': csrf });
    expect(good.status).toBe(201);
  });

  it('sends a strict CSP and no inline script or style on every page', async () => {
    const login = await fetch(`${h.admin}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.admin },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    for (const path of [
      '/',
      '/events',
      '/alerts',
      '/dead-letters',
      '/destinations',
      '/silences',
      '/rules',
      '/playground',
    ]) {
      const page = await fetch(`${h.admin}${path}`, { headers: { cookie } });
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-security-policy'), path).toBe(CONTENT_SECURITY_POLICY);
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await page.text();
      expect(html, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
      expect(html, path).not.toMatch(/\sstyle=/i);
      expect(html, path).not.toMatch(/\son[a-z]+=/i);
      expect(html, path).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[a-z]/i);
    }
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
  });

  it('never shows a secret from the environment, in the API or on the pages', async () => {
    const login = await fetch(`${h.admin}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.admin },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const seen: string[] = [];
    for (const path of ['/api/v1/destinations', '/api/v1/rules', '/api/v1/overview']) {
      seen.push(await (await fetch(`${h.admin}${path}`, { headers: bearer })).text());
    }
    for (const path of ['/destinations', '/rules', '/']) {
      seen.push(await (await fetch(`${h.admin}${path}`, { headers: { cookie } })).text());
    }
    const all = seen.join('\n');
    expect(all).toContain('C0123456789');
    expect(all).not.toContain(SLACK_TOKEN);
    expect(all).not.toContain(HOOK_SECRET);
    expect(all).not.toContain(TOKEN);
  });

  it('serves none of the admin routes on the webhook port', async () => {
    for (const path of ['/', '/events', '/login', '/api/v1/events', '/api/v1/stream', '/static/app.js']) {
      const answer = await fetch(`${h.webhook}${path}`, { headers: bearer });
      expect(answer.status, path).toBe(404);
    }
    const post = await fetch(`${h.webhook}/api/v1/reload`, { method: 'POST', headers: bearer });
    expect(post.status).toBe(404);
  });

  it('reads events, one event with its payload and alerts, alerts with attempts, and rule counts', async () => {
    const payload = sampleAppEvent({ items: 2 });
    const sent = await postSigned(`${h.webhook}/webhooks/trackpilots`, JSON.stringify(payload), HOOK_SECRET);
    expect(sent.status).toBe(200);
    const get = async <T>(path: string) =>
      (await (await fetch(`${h.admin}${path}`, { headers: bearer })).json()) as T;
    await waitFor('two delivered alerts', async () => {
      const { alerts } = await get<{ alerts: Array<{ status: string }> }>(
        '/api/v1/alerts?rule=every-app-event',
      );
      return alerts.length === 2 && alerts.every((alert) => alert.status === 'delivered');
    });
    const { events } = await get<{ events: Array<{ seq: number; item: { event: string } }> }>(
      '/api/v1/events?type=desktop.*&limit=1',
    );
    expect(events).toHaveLength(1);
    const seq = events[0]?.seq as number;
    const detail = await get<{
      raw: unknown;
      alerts: Array<{ alert: { rule: string }; deliveries: unknown[] }>;
    }>(`/api/v1/events/${seq}`);
    expect(detail.raw).toEqual(payload);
    expect(detail.alerts.map((a) => a.alert.rule)).toEqual(['every-app-event']);
    const { alerts } = await get<{ alerts: Array<{ alert: { id: string } }> }>('/api/v1/alerts?limit=1');
    const one = await get<{
      deliveries: Array<{
        destination: string;
        status: string;
        attempts: Array<{ outcome: string; durationMs: number }>;
      }>;
      previews: { slack: { header: string }; discord: { title: string }; email: { subject: string } };
    }>(`/api/v1/alerts/${encodeURIComponent(alerts[0]?.alert.id as string)}`);
    expect(one.deliveries).toEqual([
      expect.objectContaining({
        destination: 'console',
        status: 'delivered',
        attempts: [expect.objectContaining({ outcome: 'delivered' })],
      }),
    ]);
    expect(one.previews.email.subject).toContain('every-app-event');
    const { rules } = await get<{ rules: Array<{ name: string; alerts: number; lastAlertAt: number }> }>(
      '/api/v1/rules',
    );
    expect(rules).toEqual([
      expect.objectContaining({ name: 'every-app-event', alerts: 2, lastAlertAt: expect.any(Number) }),
    ]);
    const bad = await fetch(`${h.admin}/api/v1/events?limit=0`, { headers: bearer });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('HR_ERR_ADMIN_BAD_REQUEST');
    expect((await fetch(`${h.admin}/api/v1/events/999999`, { headers: bearer })).status).toBe(404);
  });
});

describe('without a token (loopback only)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start(undefined);
  });
  afterAll(() => stop(h));

  it('answers only to its own host names (no DNS rebinding)', async () => {
    const own = await fetch(`${h.admin}/api/v1/events`);
    expect(own.status).toBe(200);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${h.admin}/api/v1/events`);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          headers: { host: 'attacker.example:3001' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
  });

  it('refuses a browser’s POST without a session, lets the CLI’s in, and checks a session’s CSRF token', async () => {
    const body = JSON.stringify({
      matchers: { rule: 'a-rule-that-never-fires' },
      endsAt: '1h',
      comment: 'x',
      createdBy: 'y',
    });
    const json = { 'content-type': 'application/json' };
    const fromPage = await fetch(`${h.admin}/api/v1/silences`, {
      method: 'POST',
      headers: { ...json, origin: 'http://evil.example' },
      body,
    });
    expect(fromPage.status).toBe(403);
    const fromCli = await fetch(`${h.admin}/api/v1/silences`, { method: 'POST', headers: json, body });
    expect(fromCli.status).toBe(201);
    const page = await fetch(`${h.admin}/silences`);
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(await page.text())?.[1] as string;
    const withSession = (headers: Record<string, string>) =>
      fetch(`${h.admin}/api/v1/silences`, { method: 'POST', headers: { ...json, cookie, ...headers }, body });
    expect((await withSession({ origin: h.admin })).status).toBe(403);
    expect((await withSession({ origin: h.admin, 'x-csrf-token': csrf })).status).toBe(201);
  });
});
