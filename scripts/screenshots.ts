import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { sampleAppEvent, sampleScreenshotEvent } from '../src/cli/send-samples.js';
import { type AdminServerProcess, startAdminServer } from '../test/helpers/admin-server.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { startFakeDiscord } from '../test/helpers/fake-discord.js';
import { startFakeSlack } from '../test/helpers/fake-slack.js';
import { startHttpReceiver } from '../test/helpers/http-receiver.js';
import { postSigned } from '../test/helpers/sign.js';
import { waitFor } from '../test/helpers/wait.js';

/*
 * Regenerates the dashboard screenshots in docs/screenshots/ (`npm run screenshots`): a spawned
 * `hookrelay serve` with local fakes for Slack, Discord and a webhook that always fails, a few signed
 * events, a silence, then one PNG per page, taken with Debian's Chromium.
 */

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const SECRET = 'screenshot-secret';
const ADA = '7b0c2d1e-0000-4000-8000-00000000ada1';
const GRACE = '7b0c2d1e-0000-4000-8000-0000000064ac';
const LINUS = '7b0c2d1e-0000-4000-8000-00000000713a';
const q = (text: string) => JSON.stringify(text);

test('screenshots of the dashboard', async () => {
  mkdirSync(OUT, { recursive: true });
  const slack = await startFakeSlack();
  const discord = await startFakeDiscord();
  discord.script({ status: 401, body: { message: '401: Unauthorized', code: 0 } });
  const zapier = await startHttpReceiver({ status: 500, body: 'upstream error' });
  let server: AdminServerProcess | undefined;
  const browser = await launchBrowser({ viewport: { width: 1360, height: 900 } });
  try {
    server = await startAdminServer({
      rulesYaml: `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${q(SECRET)}] }
people:
  - { id: ${ADA}, name: Ada Lovelace, email: ada@example.com }
  - { id: ${GRACE}, name: Grace Hopper, email: grace@example.com }
  - { id: ${LINUS}, name: Linus Pauling, email: linus@example.com }
destinations:
  team-slack: { type: slack, token: xoxb-demo, channel: C0123456789, apiUrl: ${q(slack.apiUrl)}, allowPrivateNetworks: true }
  team-discord: { type: discord, webhookUrl: ${q(discord.webhookUrl)}, apiUrl: ${q(discord.apiUrl)}, allowPrivateNetworks: true }
  zapier: { type: webhook, url: ${q(`${zapier.origin}/hooks/catch`)}, allowPrivateNetworks: true, retry: { maxAttempts: 2, initialDelay: 100ms } }
  console: { type: log }
rules:
  - name: unproductive-app
    on: desktop.app_tracking.captured
    if: { app.productivityStatus: unproductive }
    cooldown: 1m
    to: [team-slack]
    message:
      title: "Unproductive app: {{ person.name | default: user }}"
      text: "{{ app.name }} for {{ time.durationInSeconds }} s"
  - name: idle-screens
    on: desktop.screenshot_tracking.captured
    if: { screenshot.isIdle: true }
    to: [team-discord, console]
    severity: critical
    message: { title: "Idle screen: {{ person.name | default: user }}" }
  - name: forward-apps
    on: desktop.app_tracking.captured
    to: [zapier]
    severity: info
`,
    });
    const post = async (payload: unknown) => {
      const answer = await postSigned(`${server?.url}/webhooks/trackpilots`, JSON.stringify(payload), SECRET);
      expect(answer.status).toBe(200);
    };
    for (const user of [ADA, GRACE, LINUS]) await post(sampleAppEvent({ userId: user, items: 6 }));
    await post(sampleScreenshotEvent({ userId: GRACE, isIdle: true }));
    await post(sampleScreenshotEvent({ userId: LINUS, isIdle: false }));
    const admin = server.adminUrl;
    const api = async (path: string, body?: unknown) => {
      const init: RequestInit =
        body === undefined
          ? {}
          : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
      return (await fetch(`${admin}${path}`, init)).json() as Promise<Record<string, unknown>>;
    };
    await waitFor(
      'dead letters for zapier and a paused Discord',
      async () => {
        const overview = (await api('/api/v1/overview')) as {
          deadLetters: number;
          destinations: Array<{ paused?: unknown }>;
        };
        return overview.deadLetters >= 2 && overview.destinations.some((d) => d.paused);
      },
      { timeoutMs: 60_000 },
    );
    await api('/api/v1/silences', {
      matchers: { rule: 'unproductive-app', user: LINUS },
      endsAt: '4h',
      comment: 'Linus is on a training course today',
      createdBy: 'ops@example.com',
    });

    const { page } = browser;
    const shoot = async (name: string, path: string, ready: string) => {
      await page.goto(`${admin}${path}`);
      await page.waitForSelector(ready);
      await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
    };
    await shoot('overview', '/', '#recent-events tr');
    await page.waitForSelector('.live-state.on');
    await page.screenshot({ path: join(OUT, 'overview.png'), fullPage: true });
    await shoot('events', '/events', '#results tbody tr');
    const { events } = (await api('/api/v1/events?type=desktop.screenshot_tracking.captured&limit=5')) as {
      events: Array<{ seq: number; item: { screenshot?: { isIdle?: boolean } } }>;
    };
    const idle = events.find((event) => event.item.screenshot?.isIdle) ?? events[0];
    await shoot('event', `/events/${idle?.seq}`, 'pre.json');
    await shoot('alerts', '/alerts', '#results tbody tr');
    const { alerts } = (await api('/api/v1/alerts?rule=unproductive-app&limit=1')) as {
      alerts: Array<{ alert: { id: string } }>;
    };
    await shoot('alert', `/alerts/${encodeURIComponent(alerts[0]?.alert.id ?? '')}`, '.previews');
    await shoot('dead-letters', '/dead-letters', '#dead-list');
    await shoot('destinations', '/destinations', 'table.data');
    await shoot('silences', '/silences', 'table.data');
    await shoot('rules', '/rules', 'table.data');
    await page.goto(`${admin}/playground?seq=${idle?.seq}`);
    await page.waitForSelector('#result table.explain');
    await page.screenshot({ path: join(OUT, 'playground.png'), fullPage: true });
    expect(browser.consoleErrors).toEqual([]);
  } finally {
    await browser.close();
    await server?.stop();
    await Promise.all([slack.close(), discord.close(), zapier.close()]);
  }
});
