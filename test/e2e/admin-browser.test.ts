import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent, sampleAppEvent, sampleScreenshotEvent } from '../../src/cli/send-samples.js';
import { type AdminServerProcess, startAdminServer } from '../helpers/admin-server.js';
import { type Browser, launchBrowser, STEP_TIMEOUT_MS } from '../helpers/browser.js';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.js';
import { type HttpReceiver, startHttpReceiver } from '../helpers/http-receiver.js';
import { postSigned } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the spawned
 * `hookrelay serve`: issue 12 §4's scenarios, one after the other on one relay, and the security checks
 * on the DOM. Every step waits for a selector or an API state, never for time.
 */

const SECRET = 'admin-e2e-webhook-secret';
const TOKEN = 'admin-e2e-token-0123456789abcdef';
const ADA = 'user-ada-0001';
const q = (text: string) => JSON.stringify(text);
const WAIT = { timeoutMs: 60_000 };

let server: AdminServerProcess;
let browser: Browser;
let page: Page;
let flaky: HttpReceiver;
let slack: FakeSlack;

async function post(payload: unknown): Promise<void> {
  const answer = await postSigned(`${server.url}/webhooks/trackpilots`, JSON.stringify(payload), SECRET);
  expect(answer.status).toBe(200);
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${server.adminUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
  });
  return (await response.json()) as T;
}

/** appEvent is one app-tracking item of `user`, with the app's name and URL as given. */
function appEvent(user: string, app: { name?: string; fullUrl?: string; productivityStatus?: string } = {}) {
  const payload = sampleAppEvent({ userId: user, items: 1 });
  const tracking = payload.data[0]?.tracking as unknown as { app: Record<string, unknown> };
  tracking.app = { ...tracking.app, ...app };
  return payload;
}

/** evaluated waits until the evaluator has passed every stored item. */
async function evaluated(): Promise<void> {
  await waitFor(
    'the evaluator to catch up',
    async () => (await api<{ evaluator: { lagItems: number } }>('/api/v1/overview')).evaluator.lagItems === 0,
    WAIT,
  );
}

async function alertCount(rule: string): Promise<number> {
  return (await api<{ alerts: unknown[] }>(`/api/v1/alerts?rule=${rule}&limit=200`)).alerts.length;
}

beforeAll(async () => {
  flaky = await startHttpReceiver();
  slack = await startFakeSlack();
  server = await startAdminServer({
    env: { HOOKRELAY_ADMIN_TOKEN: TOKEN },
    rulesYaml: `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${q(SECRET)}] }
people:
  - { id: ${ADA}, name: Ada Lovelace }
destinations:
  console: { type: log }
  flaky: { type: webhook, url: ${q(`${flaky.origin}/in`)}, allowPrivateNetworks: true, retry: { maxAttempts: 2, initialDelay: 100ms, maxDelay: 200ms } }
  team-slack: { type: slack, token: xoxb-e2e, channel: C0E2E000001, apiUrl: ${q(slack.apiUrl)}, allowPrivateNetworks: true }
rules:
  - name: app-seen
    on: desktop.app_tracking.captured
    to: [console]
    message: { title: "App {{ app.name }} by {{ person.name | default: user }}" }
  - name: unproductive-only
    on: desktop.app_tracking.captured
    if: { app.productivityStatus: unproductive }
    to: [console]
  - name: work-mode
    on: desktop.activity_tracking.captured
    to: [flaky]
  - name: screens
    on: desktop.screenshot_tracking.captured
    to: [team-slack]
`,
  });
  browser = await launchBrowser();
  page = browser.page;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await Promise.all([flaky?.close(), slack?.close()]);
});

describe('the dashboard in Chromium', () => {
  test('asks for the token, then logs in with it', async () => {
    const first = await page.goto(`${server.adminUrl}/`);
    expect(first?.status()).toBe(401);
    await page.fill('input[name="token"]', 'not-the-token-at-all');
    await page.click('button[type="submit"]');
    await page.waitForSelector('p.error');
    await page.fill('input[name="token"]', TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForSelector('h1:text("Overview")');
    const cookies = await browser.context.cookies();
    expect(cookies.find((c) => c.name === 'hookrelay_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
  });

  test('shows signed events and their alerts live on the overview, without a reload', async () => {
    await page.goto(`${server.adminUrl}/`);
    await page.waitForSelector('.live-state.on');
    await post(appEvent(ADA, { name: 'Live Editor' }));
    await page.waitForSelector('#recent-events tr.fresh:has-text("Ada Lovelace")');
    await page.waitForSelector('#recent-alerts tr.fresh:has-text("App Live Editor by Ada Lovelace")');
  });

  test('opens an alert with its deliveries and attempts', async () => {
    await page.click('#recent-alerts a:has-text("App Live Editor")');
    await page.waitForSelector('.delivery[data-destination="console"] .chip-delivered');
    expect(await page.locator('.delivery[data-destination="console"] li.attempt-delivered').count()).toBe(1);
    await page.waitForSelector('.previews .slack-header:has-text("App Live Editor")');
    await page.waitForSelector('iframe.email-frame');
  });

  test('a destination answering 500 dead-letters; replayed from the page it is delivered', async () => {
    flaky.script({ status: 500, body: 'down' }, { status: 500, body: 'down' });
    await post(sampleActivityEvent({ userId: ADA }));
    await waitFor(
      'a dead letter for flaky',
      async () => {
        const { deadLetters } = await api<{ deadLetters: unknown[] }>(
          '/api/v1/dead-letters?destination=flaky',
        );
        return deadLetters.length === 1;
      },
      WAIT,
    );
    await page.goto(`${server.adminUrl}/dead-letters`);
    await page.click('button:has-text("Replay all of flaky (1)")');
    await page.waitForSelector('#confirm h2:text("Replay 1 dead letter?")');
    await page.click('[data-confirm-replay]');
    await page.waitForSelector('.notice:has-text("1 dead letter(s) replayed")');
    await flaky.waitForRequests(3, 60_000);
    await waitFor(
      'the replayed alert delivered',
      async () => {
        const { alerts } = await api<{ alerts: Array<{ status: string }> }>('/api/v1/alerts?rule=work-mode');
        return alerts[0]?.status === 'delivered';
      },
      WAIT,
    );
    expect(flaky.requests.map((r) => r.headers['webhook-id'])).toEqual(
      Array(3).fill(flaky.requests[0]?.headers['webhook-id']),
    );
  });

  test('a paused destination is resumed from the page and its alert goes out', async () => {
    slack.script('chat.postMessage', { body: { ok: false, error: 'channel_not_found' } });
    await post(sampleScreenshotEvent({ userId: ADA }));
    await waitFor(
      'team-slack paused',
      async () => {
        const { destinations } = await api<{ destinations: Array<{ name: string; paused?: unknown }> }>(
          '/api/v1/destinations',
        );
        return destinations.some((d) => d.name === 'team-slack' && d.paused !== undefined);
      },
      WAIT,
    );
    await page.goto(`${server.adminUrl}/destinations`);
    const row = page.locator('tr[data-destination="team-slack"]');
    await row.locator('.chip-paused').waitFor();
    expect(await row.textContent()).toContain('channel_not_found');
    await row.locator('button:has-text("Resume")').click();
    await page.waitForSelector('.notice:has-text("Destination team-slack resumed.")');
    await waitFor('the alert delivered to Slack', () => slack.callsTo('chat.postMessage').length === 2, WAIT);
    await page.reload();
    await page.locator('tr[data-destination="team-slack"] .chip-delivered').waitFor();
  });

  test('a silence created on the page mutes the next alert; expiring it un-mutes', async () => {
    const user = 'user-silenced-7';
    await page.goto(`${server.adminUrl}/silences`);
    await page.selectOption('select[name="rule"]', 'app-seen');
    await page.fill('input[name="field1"]', 'user');
    await page.fill('input[name="value1"]', user);
    await page.fill('input[name="comment"]', 'browser test');
    await page.fill('input[name="createdBy"]', 'e2e');
    await page.click('button:has-text("Create silence")');
    await page.waitForSelector('.notice:has-text("Silence created")');
    await page.waitForSelector('tr.silence-active:has-text("browser test")');

    const before = await alertCount('app-seen');
    await post(appEvent(user, { name: 'Muted App' }));
    await evaluated();
    expect(await alertCount('app-seen')).toBe(before);
    // The playground says why.
    await page.goto(`${server.adminUrl}/events?user=${user}`);
    await page.click('#results tbody a >> nth=0');
    await page.click('a:has-text("Explain in the playground")');
    await page.waitForSelector('#result tr.outcome-silenced:has-text("browser test")');

    await page.goto(`${server.adminUrl}/silences`);
    await page.click('tr.silence-active:has-text("browser test") button[data-expire]');
    await page.waitForSelector('.notice:has-text("Silence expired")');
    await page.waitForSelector('tr.silence-expired:has-text("browser test")');
    await post(appEvent(user, { name: 'Loud App' }));
    await waitFor(
      'the next alert to be sent',
      async () => (await alertCount('app-seen')) === before + 1,
      WAIT,
    );
  });

  test('the playground explains a rule that did not fire, and sends nothing', async () => {
    const before = await alertCount('app-seen');
    await page.goto(`${server.adminUrl}/playground`);
    await page.fill(
      'textarea[name="payload"]',
      JSON.stringify(appEvent(ADA, { name: 'Editor', productivityStatus: 'productive' })),
    );
    await page.click('button:has-text("Evaluate")');
    const row = page.locator('#result tr.outcome-no-match:has-text("unproductive-only")');
    await row.waitFor();
    expect(await row.textContent()).toContain('productivityStatus');
    await page.waitForSelector('#result tr.outcome-fired:has-text("app-seen")');
    await page.waitForSelector('#result .would-send:has-text("console")');
    await evaluated();
    expect(await alertCount('app-seen')).toBe(before);
  });
});

interface DomReport {
  pwned: unknown;
  scripts: Array<string | null>;
  injectedImages: number;
  handlers: number;
  jsLinks: number;
}

describe(
  'dashboard security in Chromium',
  () => {
    const INJECTED = {
      script: '<script>window.__pwned = "script"</script>',
      img: '<img src=x onerror="window.__pwned = \'img\'">',
      link: 'javascript:window.__pwned="link"',
    };

    test('payload text with <script>, <img onerror> and javascript: links is inert on every page', async () => {
      const user = `${INJECTED.img}-user`;
      await page.goto(`${server.adminUrl}/`);
      await page.waitForSelector('.live-state.on');
      await post(appEvent(user, { name: `${INJECTED.script}${INJECTED.img}`, fullUrl: INJECTED.link }));
      // Live: the row arrives through the stream and is built with textContent.
      await page.waitForSelector('#recent-events tr.fresh:has-text("onerror")');
      await evaluated();
      const { events } = await api<{ events: Array<{ seq: number }> }>('/api/v1/events?limit=1');
      const seq = events[0]?.seq as number;
      const { alerts } = await api<{ alerts: Array<{ alert: { id: string } }> }>(
        '/api/v1/alerts?rule=app-seen&limit=1',
      );
      const alertId = encodeURIComponent(alerts[0]?.alert.id as string);
      await api('/api/v1/silences', {
        method: 'POST',
        body: JSON.stringify({
          matchers: { user },
          endsAt: '1h',
          comment: INJECTED.img,
          createdBy: INJECTED.script,
        }),
      });
      const pages = [
        '/',
        '/events',
        `/events/${seq}`,
        '/alerts',
        `/alerts/${alertId}`,
        '/dead-letters',
        '/destinations',
        '/silences',
        '/rules',
        `/playground?seq=${seq}`,
      ];
      for (const path of pages) {
        await page.goto(`${server.adminUrl}${path}`);
        await page.waitForLoadState('load');
        // Runs in the page; written as text, since DOM types are not in this project's lib.
        const dom = await page.evaluate<DomReport>(`({
        pwned: window.__pwned,
        scripts: [...document.scripts].map((s) => s.getAttribute('src')),
        injectedImages: document.querySelectorAll('img[src="x"]').length,
        handlers: [...document.querySelectorAll('*')].filter((el) =>
          [...el.attributes].some((attribute) => attribute.name.startsWith('on'))).length,
        jsLinks: [...document.querySelectorAll('a[href]')].filter((a) =>
          (a.getAttribute('href') || '').trim().toLowerCase().startsWith('javascript:')).length,
      })`);
        expect(dom.pwned, path).toBeUndefined();
        expect(dom.scripts, path).toEqual(['/static/htmx.min.js', '/static/app.js']);
        expect(dom.injectedImages, path).toBe(0);
        expect(dom.handlers, path).toBe(0);
        expect(dom.jsLinks, path).toBe(0);
      }
      // The text itself is shown, as text.
      await page.goto(`${server.adminUrl}/events/${seq}`);
      expect(await page.locator('dd.break .unsafe').textContent()).toBe(INJECTED.link);
      await page.goto(`${server.adminUrl}/silences`);
      expect(await page.locator('body').textContent()).toContain(INJECTED.img);
      expect(browser.consoleErrors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
    });

    test('no token: 401 for a page and for the API', async () => {
      expect((await fetch(`${server.adminUrl}/alerts`)).status).toBe(401);
      const answer = await fetch(`${server.adminUrl}/api/v1/alerts`);
      expect(answer.status).toBe(401);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe(
        'HR_ERR_ADMIN_UNAUTHORIZED',
      );
    });

    test('the session’s changes need the CSRF token and this origin: 403 otherwise', async () => {
      await page.goto(`${server.adminUrl}/silences`);
      const statuses = await page.evaluate<number[]>(`(async () => {
      const body = JSON.stringify({ matchers: { rule: 'app-seen' }, endsAt: '1h', comment: 'c', createdBy: 'b' });
      const headers = { 'content-type': 'application/json' };
      const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
      const without = await fetch('/api/v1/silences', { method: 'POST', headers, body });
      const wrong = await fetch('/api/v1/silences', { method: 'POST', headers: { ...headers, 'x-csrf-token': 'x' }, body });
      const right = await fetch('/api/v1/silences', { method: 'POST', headers: { ...headers, 'x-csrf-token': token }, body });
      return [without.status, wrong.status, right.status];
    })()`);
      expect(statuses).toEqual([403, 403, 201]);
      const cookie = (await browser.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      const csrf = await page.getAttribute('meta[name="csrf-token"]', 'content');
      const foreign = await fetch(`${server.adminUrl}/api/v1/silences`, {
        method: 'POST',
        headers: {
          cookie,
          origin: 'http://evil.example',
          'x-csrf-token': csrf ?? '',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ matchers: { rule: 'app-seen' }, endsAt: '1h', comment: 'c', createdBy: 'b' }),
      });
      expect(foreign.status).toBe(403);
      expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('HR_ERR_ADMIN_ORIGIN');
    });

    test('the webhook port serves none of the admin routes', async () => {
      const auth = { authorization: `Bearer ${TOKEN}` };
      for (const path of [
        '/',
        '/events',
        '/alerts',
        '/silences',
        '/login',
        '/api/v1/events',
        '/api/v1/stream',
        '/static/app.js',
      ]) {
        expect((await fetch(`${server.url}${path}`, { headers: auth })).status, path).toBe(404);
      }
      expect((await fetch(`${server.url}/api/v1/reload`, { method: 'POST', headers: auth })).status).toBe(
        404,
      );
    });
  },
  STEP_TIMEOUT_MS * 4,
);
