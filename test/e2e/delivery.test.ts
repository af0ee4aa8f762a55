import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  type ActivityEvent,
  SAMPLE_SCREENSHOT_JPEG_BASE64,
  type SampleEvent,
  sampleActivityEvent,
  sampleAppEvent,
  sampleScreenshotEvent,
} from '../../src/cli/send-samples.js';
import { type FakeDiscord, startFakeDiscord } from '../helpers/fake-discord.js';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.js';
import { type FakeSmtp, startFakeSmtp } from '../helpers/fake-smtp.js';
import {
  type HttpReceiver,
  type RecordedRequest,
  startHttpReceiver,
  TRICKLE,
} from '../helpers/http-receiver.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';
import { verifyStandardWebhook } from '../helpers/standard-webhooks.js';
import { hookrelay, waitFor } from '../helpers/wait.js';

/*
 * End-to-end delivery (issue 4 §3): signed Trackpilots POSTs into the spawned `hookrelay serve`, alerts out
 * to real peers on loopback (fake Slack Web API, fake Discord API, in-process SMTP server, plain HTTP
 * receivers). Every assertion is on what the peer received.
 */

const SECRET = 'e2e-delivery-secret-0123456789';
/** A Standard Webhooks secret (`whsec_` + base64 key), the form Svix-style receivers hand out. */
const OUTBOUND_SECRET = `whsec_${Buffer.from('e2e-outbound-signing-key-0123456789').toString('base64')}`;
const SLACK_TOKEN = 'xoxb-0000000000-0000000000000-e2eFakeBotToken';
const ADA = '0d1f2c3e-4b5a-4c6d-8e7f-901a2b3c4d5e';
const SCREENSHOT = 'desktop.screenshot_tracking.captured';
const JPEG = Buffer.from(SAMPLE_SCREENSHOT_JPEG_BASE64, 'base64');

/** What a hostile payload puts in a field that ends up in titles and texts. */
const INJECTION = '<!channel> @everyone <script>alert(1)</script>';
const INJECTED_APP = `${INJECTION}\r\nBcc: victim@example.com`;
/** INJECTION as Slack mrkdwn must carry it (`& < >` escaped). */
const INJECTION_SLACK = '&lt;!channel&gt; @everyone &lt;script&gt;alert(1)&lt;/script&gt;';
/** INJECTION as Discord markdown must carry it (`<`/`>` escaped, a zero-width space after the `@`). */
const INJECTION_DISCORD = '\\<!channel\\> @\u200beveryone \\<script\\>alert(1)\\</script\\>';
const INJECTION_HTML = '&lt;!channel&gt; @everyone &lt;script&gt;alert(1)&lt;/script&gt;';

const q = (value: string) => JSON.stringify(value);

function sourceYaml(): string {
  return `
version: 1
sources:
  trackpilots:
    type: trackpilots
    secrets: [${q(SECRET)}]
    tolerance: 5m
people:
  - id: ${ADA}
    name: Ada Lovelace
    email: ada@example.com
    team: engineering
`;
}

/** post signs and POSTs a payload to the server's Trackpilots source and returns the exact bytes sent. */
async function post(server: ServerProcess, payload: SampleEvent, stored = 1): Promise<string> {
  const raw = JSON.stringify(payload);
  const response = await postSigned(`${server.url}/webhooks/trackpilots`, raw, SECRET);
  expect(response.status).toBe(200);
  expect(JSON.parse(response.body)).toEqual({ ok: true, stored, duplicates: 0 });
  return raw;
}

function screenshotWithApp(appName: string, isIdle = false) {
  const payload = sampleScreenshotEvent({ userId: ADA, isIdle });
  const item = payload.data[0];
  if (!item) throw new Error('the sample has no item');
  item.screenshot.app = { ...item.screenshot.app, name: appName };
  return { payload, item };
}

function jsonBody(request: RecordedRequest | undefined): Record<string, unknown> {
  if (!request) throw new Error('no request');
  return JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
}

/** userOf reads the user id of an alert JSON body (activity events: one item, user = the sample's userId). */
function userOf(request: RecordedRequest): unknown {
  return jsonBody(request).user;
}

/** logAlerts returns the alert lines the `log` destination printed (JSON with a rule, not a pino line). */
function logAlerts(server: ServerProcess): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of server.lines) {
    if (!line.startsWith('{')) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (!('level' in parsed) && typeof parsed.rule === 'string') out.push(parsed);
  }
  return out;
}

/** metric reads one sample of the server's /metrics (undefined when the series is absent). */
async function metric(server: ServerProcess, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const sawLog = (server: ServerProcess, needle: string) => () =>
  server.lines.some((line) => line.includes(needle));
const showLog = (server: ServerProcess) => () => `server log:\n${server.lines.slice(-30).join('\n')}`;

describe('hookrelay serve: a signed POST becomes a message at each peer', () => {
  let slack: FakeSlack;
  let discord: FakeDiscord;
  let smtp: FakeSmtp;
  let zapier: HttpReceiver;
  let forward: HttpReceiver;
  let server: ServerProcess;

  beforeAll(async () => {
    [slack, discord, smtp, zapier, forward] = await Promise.all([
      startFakeSlack(),
      startFakeDiscord(),
      startFakeSmtp(),
      startHttpReceiver(),
      startHttpReceiver(),
    ]);
    const rulesYaml = `${sourceYaml()}
destinations:
  team-slack:
    type: slack
    token: ${q(SLACK_TOKEN)}
    channel: C0123456789
    apiUrl: ${q(slack.apiUrl)}
    allowPrivateNetworks: true
  team-discord:
    type: discord
    webhookUrl: ${q(discord.webhookUrl)}
    apiUrl: ${q(discord.apiUrl)}
    allowPrivateNetworks: true
  managers:
    type: email
    smtp: ${q(smtp.url)}
    from: "hookrelay <alerts@example.com>"
    to: [lead@example.com]
    timeout: 5s
    allowPrivateNetworks: true
  zapier:
    type: webhook
    url: ${q(`${zapier.origin}/hooks/alerts`)}
    allowPrivateNetworks: true
    signing: { secret: ${q(OUTBOUND_SECRET)} }
  forward:
    type: webhook
    url: ${q(`${forward.origin}/forward`)}
    allowPrivateNetworks: true
    body: event
  console: { type: log }
rules:
  - name: screenshot-seen
    on: ${SCREENSHOT}
    if: { screenshot.isIdle: false }
    to: [team-slack, team-discord, managers, zapier]
    message:
      title: "{{ name }} on {{ app.name }}"
      text: "Active app: {{ app.name }}"
  - name: idle-screenshot
    on: ${SCREENSHOT}
    if: { screenshot.isIdle: true }
    severity: critical
    attach: screenshot
    to: [team-slack, team-discord, managers]
  - name: app-forward
    on: desktop.app_tracking.captured
    to: [forward]
  - name: work-mode
    on: desktop.activity_tracking.captured
    severity: info
    to: [console, zapier]
`;
    server = await startServer({ rulesYaml });
  });

  afterAll(async () => {
    await server?.stop();
    await Promise.all([slack?.close(), discord?.close(), smtp?.close(), zapier?.close(), forward?.close()]);
  });

  beforeEach(() => {
    for (const peer of [slack, discord, smtp, zapier, forward]) peer.reset();
  });

  test('one screenshot with injection strings: Slack, Discord, email and webhook each get it, inert', async () => {
    const { payload, item } = screenshotWithApp(INJECTED_APP);
    await post(server, payload);
    await waitFor(
      'a message at all four peers',
      () =>
        slack.callsTo('chat.postMessage').length >= 1 &&
        discord.executions.length >= 1 &&
        smtp.messages.length >= 1 &&
        zapier.requests.length >= 1,
      { explain: showLog(server) },
    );
    const title = `Ada Lovelace on ${INJECTION} Bcc: victim@example.com`;

    // Slack: chat.postMessage with the bot token; every mrkdwn string escaped, the header plain_text.
    const posts = slack.callsTo('chat.postMessage');
    expect(posts).toHaveLength(1);
    const slackCall = posts[0]!;
    expect(slackCall.headers.authorization).toBe(`Bearer ${SLACK_TOKEN}`);
    expect(slackCall.params.channel).toBe('C0123456789');
    expect(slackCall.params.text).toBe(
      `[warning] Ada Lovelace on ${INJECTION_SLACK} Bcc: victim@example.com — Active app: ${INJECTION_SLACK}\r\nBcc: victim@example.com`,
    );
    const blocks = slackCall.params.blocks as { type: string; text?: { type: string; text: string } }[];
    expect(blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: `:warning: ${title}`, emoji: true },
    });
    expect(blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: `Active app: ${INJECTION_SLACK}\r\nBcc: victim@example.com` },
    });
    const context = JSON.stringify(blocks[2]);
    expect(context).toContain('*Rule:* screenshot-seen');
    expect(context).toContain('*User:* Ada Lovelace');
    expect(context).toContain(`*Event:* ${SCREENSHOT}`);
    // Outside the plain_text header (never parsed by Slack) no `<` reaches Slack unescaped.
    expect(JSON.stringify([slackCall.params.text, blocks.slice(1)])).not.toContain('<');

    // Discord: one execute-webhook with wait=true, mentions disabled, markdown and mentions escaped.
    expect(discord.executions).toHaveLength(1);
    const execution = discord.executions[0]!;
    expect(execution.webhookId).toBe(discord.webhookId);
    expect(execution.token).toBe(discord.webhookToken);
    expect(execution.query.get('wait')).toBe('true');
    expect(execution.payload.allowed_mentions).toEqual({ parse: [] });
    const embed = (execution.payload.embeds as Record<string, unknown>[])[0]!;
    expect(embed.title).toBe(`Ada Lovelace on ${INJECTION_DISCORD} Bcc: victim@example.com`);
    expect(embed.description).toBe(`Active app: ${INJECTION_DISCORD}\r\nBcc: victim@example.com`);
    expect(embed.color).toBe(0xf1c40f);
    expect(embed.fields).toEqual(
      expect.arrayContaining([
        { name: 'Rule', value: 'screenshot-seen', inline: true },
        { name: 'User', value: 'Ada Lovelace', inline: true },
      ]),
    );
    expect(execution.payload.content).toBe(
      `\\[warning\\] Ada Lovelace on ${INJECTION_DISCORD} Bcc: victim@example.com`,
    );
    const discordText = JSON.stringify(execution.payload);
    expect(discordText).not.toMatch(/@everyone/);
    expect(discordText).not.toMatch(/(?<!\\\\)</);

    // Email: the CRLF in the title did not make a header; HTML escaped, plain text verbatim.
    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0]!;
    expect(mail.envelope).toEqual({ from: 'alerts@example.com', to: ['lead@example.com'] });
    expect(smtp.recipients).toEqual(['lead@example.com']);
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.subject).toBe(`[warning] ${title}`);
    expect(mail.text).toContain(`Active app: ${INJECTION}\nBcc: victim@example.com`);
    expect(mail.text).toContain('Rule: screenshot-seen');
    expect(mail.html).toContain(`Active app: ${INJECTION_HTML}`);
    expect(mail.html).toContain(`Ada Lovelace on ${INJECTION_HTML} Bcc: victim@example.com</h2>`);
    expect(mail.html).not.toContain('<script>');

    // Webhook: the alert JSON, signed the Standard Webhooks way.
    expect(zapier.requests).toHaveLength(1);
    const request = zapier.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/hooks/alerts');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toMatch(/^\S{8,}$/);
    expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(verifyStandardWebhook(request.headers, request.body, OUTBOUND_SECRET)).toBe(true);
    expect(verifyStandardWebhook(request.headers, Buffer.from(`${request.body} `), OUTBOUND_SECRET)).toBe(
      false,
    );
    const alert = jsonBody(request);
    expect(alert).toMatchObject({
      rule: 'screenshot-seen',
      status: 'firing',
      severity: 'warning',
      // The alert JSON carries values as rendered (JSON-escaped only; a title is one line); each medium
      // escapes for itself.
      title: `Ada Lovelace on ${INJECTION} Bcc: victim@example.com`,
      text: `Active app: ${INJECTED_APP}`,
      key: ADA,
      user: ADA,
      person: { id: ADA, name: 'Ada Lovelace', email: 'ada@example.com', team: 'engineering' },
      event: SCREENSHOT,
      at: Date.parse(item.screenshot.time.capturedAt),
      simulation: false,
      item: {
        event: SCREENSHOT,
        user: ADA,
        app: { name: INJECTED_APP },
        screenshot: { id: item.screenshot.screenshotId, isIdle: false },
      },
    });
    expect(typeof alert.id).toBe('string');
    // The same alert everywhere: the email carries its id, and image bytes never go inline.
    expect(mail.headers.get('x-hookrelay-alert-id')).toBe(alert.id);
    expect(request.body.toString('utf8')).not.toContain(SAMPLE_SCREENSHOT_JPEG_BASE64.slice(0, 64));
  });

  test('attach: screenshot carries the JPEG bytes to Slack, Discord and email', async () => {
    await post(server, screenshotWithApp('Figma', true).payload);
    await waitFor(
      'the screenshot at Slack, Discord and email',
      () =>
        slack.callsTo('files.completeUploadExternal').length >= 1 &&
        discord.executions.length >= 1 &&
        smtp.messages.length >= 1,
      { explain: showLog(server) },
    );

    const execution = discord.executions[0]!;
    expect(execution.files).toHaveLength(1);
    expect(execution.files[0]).toMatchObject({
      field: 'files[0]',
      filename: 'screenshot.jpg',
      type: 'image/jpeg',
    });
    expect(execution.files[0]!.bytes.equals(JPEG)).toBe(true);
    const embed = (execution.payload.embeds as Record<string, unknown>[])[0]!;
    expect(embed.title).toBe('idle-screenshot: Ada Lovelace');
    expect(embed.image).toEqual({ url: 'attachment://screenshot.jpg' });
    expect(embed.color).toBe(0xe74c3c);
    expect(execution.payload.allowed_mentions).toEqual({ parse: [] });

    const mail = smtp.messages[0]!;
    expect(mail.subject).toBe('[critical] idle-screenshot: Ada Lovelace');
    expect(mail.attachments).toHaveLength(1);
    expect(mail.attachments[0]).toMatchObject({ filename: 'screenshot.jpg', contentType: 'image/jpeg' });
    expect(mail.attachments[0]!.content.equals(JPEG)).toBe(true);

    const posted = slack.callsTo('chat.postMessage');
    expect(posted).toHaveLength(1);
    const upload = slack.callsTo('upload')[0];
    expect(Object.values(upload?.files ?? {})[0]?.bytes.equals(JPEG)).toBe(true);
    expect(slack.callsTo('files.getUploadURLExternal')[0]?.params).toMatchObject({
      filename: 'screenshot.jpg',
      length: String(JPEG.length),
    });
    // Uploaded into the thread of the alert's message.
    const complete = slack.callsTo('files.completeUploadExternal')[0]!.params;
    expect(complete).toMatchObject({ channel_id: 'C0123456789' });
    expect(complete.thread_ts).toMatch(/^1700000000\.\d{6}$/);
  });

  test('body: event forwards a 12-item batch once, byte for byte', async () => {
    const batch = await post(server, sampleAppEvent({ userId: ADA, items: 12 }), 12);
    // A later one-item batch to the same destination: once it is there, anything sent for the first is too
    // (one queue per destination, in order).
    const sentinel = await post(server, sampleAppEvent({ userId: ADA, items: 1 }), 1);
    await forward.waitForRequests(2);
    expect(forward.requests).toHaveLength(2);
    const [first, second] = forward.requests;
    expect(first!.body.equals(Buffer.from(batch, 'utf8'))).toBe(true);
    expect(second!.body.equals(Buffer.from(sentinel, 'utf8'))).toBe(true);
    expect(first!.url).toBe('/forward');
    expect(first!.headers['content-type']).toBe('application/json');
    expect(first!.headers['webhook-id']).not.toBe(second!.headers['webhook-id']);
    expect(first!.headers['webhook-signature']).toBeUndefined();
  });

  test('log prints one JSON line per alert; simulations say so; the webhook gets the same alert', async () => {
    const payload = sampleActivityEvent({ userId: ADA, simulation: true, workMode: false });
    await post(server, payload);
    await zapier.waitForRequests(1);
    const sent = jsonBody(zapier.requests[0]);
    await waitFor('the log line', () => logAlerts(server).some((a) => a.id === sent.id), {
      explain: showLog(server),
    });
    const printed = logAlerts(server).filter((a) => a.id === sent.id);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toEqual(sent);
    expect(printed[0]).toMatchObject({
      rule: 'work-mode',
      status: 'firing',
      severity: 'info',
      title: '[simulation] work-mode: Ada Lovelace',
      key: ADA,
      user: ADA,
      person: { id: ADA, name: 'Ada Lovelace' },
      event: 'desktop.activity_tracking.captured',
      simulation: true,
      item: { simulation: true, activity: { workMode: false } },
    });
    expect(printed[0]!.at).toEqual(expect.any(Number));
  });
});

/** activity is a work-mode event of one user: no per-item id, so fresh org/team ids keep each distinct. */
const activity = (userId: string): ActivityEvent => sampleActivityEvent({ userId });
const seq = (n: number) => Array.from({ length: n }, (_, i) => `u-${String(i + 1).padStart(2, '0')}`);

describe('hookrelay serve: at-least-once delivery', () => {
  async function killDuringDelivery(): Promise<void> {
    const receiver = await startHttpReceiver();
    const rulesYaml = `${sourceYaml()}
destinations:
  hook:
    type: webhook
    url: ${q(`${receiver.origin}/in`)}
    allowPrivateNetworks: true
    timeout: 30s
    signing: { secret: ${q(OUTBOUND_SECRET)} }
rules:
  - name: work-mode
    on: desktop.activity_tracking.captured
    to: [hook]
`;
    let first: ServerProcess | undefined;
    let second: ServerProcess | undefined;
    try {
      // The receiver holds its answer: the delivery is in flight when the process dies.
      receiver.script({ status: 200, delayMs: 120_000 });
      first = await startServer({ rulesYaml });
      await post(first, activity('u-crash'));
      await receiver.waitForRequests(1);
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');

      // The restarted process owns the database alone: it releases the dead one's lease (60 s) at start.
      second = await startServer({ rulesYaml, dir: first.dir });
      await receiver.waitForRequests(2, 5_000);
      expect(second.lines.filter((line) => line.includes('"released":1'))).toHaveLength(1);
      await waitFor(
        'the outbox to record the delivery',
        async () =>
          (await metric(
            second!,
            'hookrelay_deliveries_total{destination="hook",outcome="delivered",reason="ok"}',
          )) === 1,
        { explain: showLog(second) },
      );
      expect(await metric(second, 'hookrelay_outbox_pending{destination="hook"}')).toBe(0);
      // At-least-once: every copy is the same notification, same id, same alert, each signed.
      const ids = new Set(receiver.requests.map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(1);
      const alerts = new Set(receiver.requests.map((r) => jsonBody(r).id));
      expect(alerts.size).toBe(1);
      expect(userOf(receiver.requests[0]!)).toBe('u-crash');
      for (const r of receiver.requests)
        expect(verifyStandardWebhook(r.headers, r.body, OUTBOUND_SECRET)).toBe(true);
    } finally {
      await first?.stop('SIGKILL');
      await second?.stop();
      await receiver.close();
    }
  }

  test('kill -9 while a delivery is in flight: the alert is sent again after restart, same webhook-id', async () => {
    await killDuringDelivery();
  });

  test('a destination down for a while: every alert arrives once it is back, in order', async () => {
    const flaky = await startHttpReceiver();
    // A receiver that is not there at all (connection refused), brought back later on the same port.
    const gone = await startHttpReceiver();
    const offlinePort = Number(new URL(gone.origin).port);
    await gone.close();
    let offline: HttpReceiver | undefined;
    const retry = '{ initialDelay: 100ms, maxDelay: 500ms }';
    const rulesYaml = `${sourceYaml()}
destinations:
  flaky: { type: webhook, url: ${q(`${flaky.origin}/in`)}, allowPrivateNetworks: true, retry: ${retry} }
  offline: { type: webhook, url: ${q(`${gone.origin}/in`)}, allowPrivateNetworks: true, retry: ${retry} }
rules:
  - name: work-mode
    on: desktop.activity_tracking.captured
    to: [flaky, offline]
`;
    const DOWN = 4;
    flaky.script(...Array.from({ length: DOWN }, () => ({ status: 503, body: 'maintenance' })));
    const server = await startServer({ rulesYaml });
    try {
      const users = seq(10);
      for (const user of users) await post(server, activity(user));

      // flaky: the head of the queue waited through the 503s; nothing behind it overtook it.
      await flaky.waitForRequests(DOWN + users.length);
      const refused = flaky.requests.slice(0, DOWN);
      const accepted = flaky.requests.slice(DOWN);
      expect(refused.map(userOf)).toEqual(Array.from({ length: DOWN }, () => 'u-01'));
      expect(new Set(refused.map((r) => r.headers['webhook-id']))).toEqual(
        new Set([accepted[0]!.headers['webhook-id']]),
      );
      expect(accepted.map(userOf)).toEqual(users);
      expect(new Set(accepted.map((r) => r.headers['webhook-id'])).size).toBe(users.length);

      // offline: a few refused connections, then it comes back at the same address.
      await waitFor(
        'two failed attempts to the offline destination',
        () =>
          server.lines.filter((l) => l.includes('delivery to \\"offline\\" failed; will retry')).length >= 2,
        { explain: showLog(server) },
      );
      expect(server.lines.join('\n')).toMatch(/"destination":"offline".*"reason":"network"/);
      offline = await startHttpReceiver(undefined, { port: offlinePort });
      await offline.waitForRequests(users.length);
      expect(offline.requests.map(userOf)).toEqual(users);
      await waitFor(
        'both queues to be empty',
        async () =>
          (await metric(server, 'hookrelay_outbox_pending{destination="offline"}')) === 0 &&
          (await metric(server, 'hookrelay_outbox_pending{destination="flaky"}')) === 0,
      );
      expect(offline.requests).toHaveLength(users.length);
      expect(flaky.requests).toHaveLength(DOWN + users.length);
    } finally {
      await server.stop();
      await Promise.all([flaky.close(), offline?.close()]);
    }
  });
});

describe('hookrelay serve: a destination that answers and then trickles its body', () => {
  test('each attempt ends at the timeout: the alert counts as delivered and the ones behind it follow', async () => {
    const receiver = await startHttpReceiver();
    const rulesYaml = `${sourceYaml()}
destinations:
  hook: { type: webhook, url: ${q(`${receiver.origin}/in`)}, allowPrivateNetworks: true, timeout: 500ms }
rules:
  - name: work-mode
    on: desktop.activity_tracking.captured
    to: [hook]
`;
    // The first answer is a 200 whose body never ends; the next ones are ordinary.
    receiver.script({ status: 200, trickle: TRICKLE });
    const server = await startServer({ rulesYaml });
    try {
      const users = seq(3);
      for (const user of users) await post(server, activity(user));
      await receiver.waitForRequests(users.length, 15_000);
      expect(receiver.requests.map(userOf)).toEqual(users);
      await receiver.waitForHangUps(1);
      await waitFor(
        'the queue to be empty',
        async () => (await metric(server, 'hookrelay_outbox_pending{destination="hook"}')) === 0,
        { explain: showLog(server) },
      );
      // Delivered once (the 200 is the answer), with a note saying the body was cut.
      expect(receiver.requests).toHaveLength(users.length);
      const note = server.lines.find((line) => line.includes('delivered, with a note'));
      expect(note).toContain('HTTP 200, but the body did not end within 500 ms');
      expect(
        await metric(
          server,
          'hookrelay_deliveries_total{destination="hook",outcome="delivered",reason="ok"}',
        ),
      ).toBe(users.length);
    } finally {
      await server.stop();
      await receiver.close();
    }
  });
});

describe('hookrelay serve: a broken destination pauses and resumes', () => {
  test('Slack channel_not_found: paused with the reason, listed by dlq paused, resumed by dlq resume', async () => {
    const slack = await startFakeSlack();
    const rulesYaml = `${sourceYaml()}
destinations:
  team-slack:
    type: slack
    token: ${q(SLACK_TOKEN)}
    channel: C0GONE00000
    apiUrl: ${q(slack.apiUrl)}
    allowPrivateNetworks: true
rules:
  - name: work-mode
    on: desktop.activity_tracking.captured
    to: [team-slack]
    message: { title: "work mode of {{ user }}" }
`;
    slack.script('chat.postMessage', { body: { ok: false, error: 'channel_not_found' } });
    const server = await startServer({ rulesYaml });
    try {
      await post(server, activity('u-p1'));
      await waitFor('the pause to be logged', sawLog(server, 'destination \\"team-slack\\" is paused'), {
        explain: showLog(server),
      });
      const line = server.lines.find((l) => l.includes('destination \\"team-slack\\" is paused'))!;
      const logged = JSON.parse(line) as Record<string, unknown>;
      expect(logged).toMatchObject({ destination: 'team-slack', reason: 'notFound' });
      expect(logged.msg).toContain('channel_not_found');
      expect(logged.msg).toContain('hookrelay dlq resume team-slack');
      expect(line).not.toContain(SLACK_TOKEN);

      const paused = await hookrelay(['dlq', 'paused', '--json'], server.dbPath);
      expect(paused.code).toBe(0);
      const rows = paused.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ destination: 'team-slack' });
      expect(rows[0]!.reason).toMatch(/^notFound: slack chat\.postMessage: channel_not_found/);
      expect(rows[0]!.pausedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

      // While paused, new alerts wait (kept, not sent, not dead-lettered).
      await post(server, activity('u-p2'));
      await waitFor(
        'two alerts waiting for the paused destination',
        async () => (await metric(server, 'hookrelay_outbox_pending{destination="team-slack"}')) === 2,
      );
      expect(
        await metric(server, 'hookrelay_destination_paused{destination="team-slack",reason="notFound"}'),
      ).toBe(1);
      expect(slack.callsTo('chat.postMessage')).toHaveLength(1);

      // The channel is fixed (the fake answers ok again): resume, and both arrive in order.
      const resumed = await hookrelay(['dlq', 'resume', 'team-slack'], server.dbPath);
      expect(resumed).toMatchObject({
        code: 0,
        stdout: 'resumed team-slack; 2 pending notification(s) will be sent\n',
      });
      await waitFor('both alerts at Slack', () => slack.callsTo('chat.postMessage').length >= 3, {
        timeoutMs: 8_000,
        explain: showLog(server),
      });
      const texts = slack.callsTo('chat.postMessage').map((c) => c.params.text);
      expect(texts).toEqual([
        expect.stringContaining('work mode of u-p1'),
        expect.stringContaining('work mode of u-p1'),
        expect.stringContaining('work mode of u-p2'),
      ]);
      expect((await hookrelay(['dlq', 'paused'], server.dbPath)).stdout).toBe('no destination is paused\n');
      expect((await hookrelay(['dlq', 'list'], server.dbPath)).stdout).toBe('no dead letters\n');
      await waitFor('the resume to be logged', sawLog(server, 'destination \\"team-slack\\" resumed'), {
        explain: showLog(server),
      });
    } finally {
      await server.stop();
      await slack.close();
    }
  });
});
