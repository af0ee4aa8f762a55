import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../../../test/helpers/fake-slack.js';
import { settles, TRICKLE } from '../../../test/helpers/http-receiver.js';
import { TRUNCATION_MARKER } from '../../render/truncate.js';
import {
  BIDI_CONTROLS,
  bidiAlert,
  INJECTION,
  makeContext,
  makeNotification,
  PNG_1X1,
  testDeps,
} from '../testdata/fixtures.js';
import type { Destination, SendResult } from '../types.js';
import type { SlackOptions } from './config.js';
import { slackConfigSchema, slackOptionsFromConfig } from './config.js';
import { MAX_HEADER_CHARS, MAX_SECTION_TEXT_CHARS, type SlackBlock } from './render.js';
import { createSlackDestination } from './slack.js';

const TOKEN = 'xoxb-1111-2222-fakeSecretTokenValue';

let slack: FakeSlack;
const open: Destination[] = [];

beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
  slack.reset();
});

function botDestination(overrides: Partial<SlackOptions> = {}): Destination {
  const options = slackOptionsFromConfig(
    slackConfigSchema.parse({
      type: 'slack',
      token: TOKEN,
      channel: 'C0123456789',
      apiUrl: slack.apiUrl,
      allowPrivateNetworks: true,
    }),
  );
  const d = createSlackDestination('team-slack', { ...options, ...overrides }, testDeps());
  open.push(d);
  return d;
}

function webhookDestination(overrides: Partial<SlackOptions> = {}): Destination {
  const options = slackOptionsFromConfig(
    slackConfigSchema.parse({ type: 'slack', webhookUrl: slack.webhookUrl, allowPrivateNetworks: true }),
  );
  const d = createSlackDestination('team-slack-hook', { ...options, ...overrides }, testDeps());
  open.push(d);
  return d;
}

function expectNoSecret(result: SendResult): void {
  const text = JSON.stringify(result);
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain('fakeSecretTokenValue');
  expect(text).not.toContain(slack.webhookUrl);
  expect(text).not.toContain('fakeWebhookSecret');
}

function posted(method = 'chat.postMessage'): { params: Record<string, unknown>; blocks: SlackBlock[] } {
  const call = slack.callsTo(method).at(-1);
  expect(call).toBeDefined();
  return { params: call?.params ?? {}, blocks: (call?.params.blocks ?? []) as SlackBlock[] };
}

function mrkdwnTexts(blocks: SlackBlock[]): string[] {
  const out: string[] = [];
  for (const block of blocks) {
    if (block.type === 'section') out.push(block.text.text);
    if (block.type === 'context') out.push(...block.elements.map((e) => e.text));
  }
  return out;
}

describe('slack destination (Web API)', () => {
  it('posts Block Kit with a text fallback, unfurls off, token as a bearer header', async () => {
    const result = await botDestination({ username: 'hookrelay', iconEmoji: ':bell:' }).send(
      makeNotification({ simulation: true }),
      makeContext(),
    );
    expect(result).toEqual({ ok: true, conversation: { channel: 'C0123456789', ts: expect.any(String) } });
    const call = slack.callsTo('chat.postMessage')[0];
    expect(call?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const { params, blocks } = posted();
    expect(params).toMatchObject({
      channel: 'C0123456789',
      unfurl_links: 'false',
      unfurl_media: 'false',
      username: 'hookrelay',
      icon_emoji: ':bell:',
    });
    expect(params.text).toBe(
      '[warning] Unproductive hour: Ada Lovelace — 31m 00s on unproductive apps in the last hour (latest: Solitaire)',
    );
    expect(blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':warning: Unproductive hour: Ada Lovelace', emoji: true },
    });
    expect(blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: '31m 00s on unproductive apps in the last hour (latest: Solitaire)' },
    });
    const context = mrkdwnTexts(blocks).slice(1);
    expect(context).toEqual(
      expect.arrayContaining([
        '*Severity:* warning',
        '*Rule:* unproductive-hour',
        '*User:* Ada Lovelace',
        '*Simulation:* yes',
        '*Value:* 1860 (sum gte 1800 over 1h)',
      ]),
    );
  });

  it('reports 429 + Retry-After as rateLimited without the SDK retrying', async () => {
    slack.script('chat.postMessage', {
      status: 429,
      headers: { 'retry-after': '3' },
      body: { ok: false, error: 'ratelimited' },
    });
    const result = await botDestination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'rateLimited', retryAfterMs: 3000 });
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    expectNoSecret(result);
  });

  it.each([500, 502, 503])('reports HTTP %i as a serverError retry after one call', async (status) => {
    slack.script('chat.postMessage', { status, body: 'upstream trouble' });
    const result = await botDestination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'serverError' });
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
  });

  it.each([
    ['ratelimited', 'retry', 'rateLimited'],
    ['internal_error', 'retry', 'serverError'],
    ['fatal_error', 'retry', 'serverError'],
    ['invalid_auth', 'broken', 'authError'],
    ['token_revoked', 'broken', 'authError'],
    ['missing_scope', 'broken', 'authError'],
    ['channel_not_found', 'broken', 'notFound'],
    ['not_in_channel', 'broken', 'notFound'],
    ['is_archived', 'broken', 'notFound'],
    ['msg_too_long', 'dead', 'payloadRejected'],
    ['invalid_blocks', 'dead', 'payloadRejected'],
    ['msg_blocks_too_long', 'dead', 'payloadRejected'],
    ['something_new', 'dead', 'clientError'],
  ] as const)('classifies {ok:false, error:%s} as %s/%s', async (error, outcome, reason) => {
    slack.script('chat.postMessage', { body: { ok: false, error } });
    const result = await botDestination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome, reason });
    expect(result.ok || result.detail).toContain(error);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    expectNoSecret(result);
  });

  it('classifies a slow API as a timeout', async () => {
    slack.script('chat.postMessage', { delayMs: 2_000, body: { ok: true, ts: '1.2' } });
    const result = await botDestination({ timeoutMs: 200 }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
  });

  it('bounds the whole attempt: a 200 whose body trickles is a timeout (the body holds the answer)', async () => {
    slack.script('chat.postMessage', { status: 200, trickle: TRICKLE });
    const result = await settles(
      botDestination({ timeoutMs: 300 }).send(makeNotification(), makeContext()),
      'a chat.postMessage whose body trickles',
    );
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
    expectNoSecret(result);
  });

  it('classifies a caller abort as a retry', async () => {
    slack.script('chat.postMessage', { delayMs: 2_000, body: { ok: true, ts: '1.2' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await botDestination().send(
      makeNotification(),
      makeContext({ signal: controller.signal }),
    );
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
  });

  it('classifies an unreachable API as a network retry', async () => {
    const gone = await startFakeSlack();
    const apiUrl = gone.apiUrl;
    await gone.close();
    const result = await botDestination({ apiUrl }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'network' });
    expectNoSecret(result);
  });

  it('refuses a loopback apiUrl unless allowPrivateNetworks is set', async () => {
    const result = await botDestination({ allowPrivateNetworks: false }).send(
      makeNotification(),
      makeContext(),
    );
    expect(result).toMatchObject({ ok: false, outcome: 'broken', reason: 'refused' });
    expect(slack.calls).toHaveLength(0);
  });

  it('uploads the screenshot into the thread of the posted message', async () => {
    slack.script('chat.postMessage', { body: { ok: true, channel: 'C0123456789', ts: '1700000000.000042' } });
    const result = await botDestination().send(
      makeNotification({ attachScreenshot: true }),
      makeContext({ image: { bytes: PNG_1X1, mime: 'image/png' } }),
    );
    expect(result).toEqual({ ok: true, conversation: { channel: 'C0123456789', ts: '1700000000.000042' } });
    const message = slack.callsTo('chat.postMessage')[0];
    expect(slack.callsTo('files.getUploadURLExternal')[0]?.params).toMatchObject({
      filename: 'screenshot.png',
      length: String(PNG_1X1.length),
    });
    const upload = slack.callsTo('upload')[0];
    const uploaded = Object.values(upload?.files ?? {})[0];
    expect(uploaded?.bytes.equals(PNG_1X1)).toBe(true);
    expect(upload?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const complete = slack.callsTo('files.completeUploadExternal')[0]?.params;
    expect(complete).toMatchObject({ channel_id: 'C0123456789', thread_ts: '1700000000.000042' });
    expect(complete?.files).toEqual([{ id: 'F1', title: 'Screenshot: Unproductive hour: Ada Lovelace' }]);
    expect(message?.params.channel).toBe('C0123456789');
  });

  it('reports a failed upload as a note on a delivered message (never re-posts)', async () => {
    slack.script('files.getUploadURLExternal', { body: { ok: false, error: 'missing_scope' } });
    const result = await botDestination().send(
      makeNotification({ attachScreenshot: true }),
      makeContext({ image: { bytes: PNG_1X1, mime: 'image/png' } }),
    );
    expect(result.ok).toBe(true);
    expect(result.ok && result.detail).toContain('screenshot not attached');
    expect(result.ok && result.detail).toContain('missing_scope');
    expectNoSecret(result);
  });
});

describe('slack destination (one conversation per alert)', () => {
  const ORIGINAL = { channel: 'C0123456789', ts: '1700000000.000007' };

  it('posts a repeat in the thread of the first message and leaves the original as it is', async () => {
    const result = await botDestination().send(makeNotification(), makeContext({ conversation: ORIGINAL }));
    expect(result).toEqual({ ok: true });
    expect(slack.topLevelPosts()).toHaveLength(0);
    expect(slack.threadReplies(ORIGINAL.ts)).toHaveLength(1);
    expect(slack.callsTo('chat.update')).toHaveLength(0);
  });

  it('updates the original to resolved (with the time), then replies in its thread', async () => {
    const resolved = makeNotification({ status: 'resolved' });
    const result = await botDestination().send(resolved, makeContext({ conversation: ORIGINAL }));
    expect(result).toEqual({ ok: true });
    const [update] = slack.callsTo('chat.update');
    expect(update?.params).toMatchObject({ channel: ORIGINAL.channel, ts: ORIGINAL.ts });
    expect(String(update?.params.text)).toMatch(/^Resolved: /);
    const blocks = (update?.params.blocks ?? []) as SlackBlock[];
    expect(blocks[0]).toMatchObject({
      type: 'header',
      text: { text: expect.stringMatching(/^:white_check_mark: /) },
    });
    expect(mrkdwnTexts(blocks)).toContain(`*Resolved* at ${new Date(resolved.alert.at).toISOString()}`);
    expect(slack.threadReplies(ORIGINAL.ts)).toHaveLength(1);
    expect(slack.topLevelPosts()).toHaveLength(0);
    // The update goes first: it is idempotent, so a failed reply retried updates again, harmlessly.
    expect(slack.calls.map((c) => c.method)).toEqual(['chat.update', 'chat.postMessage']);
  });

  it('a failed update is a retry and posts no reply (the retry updates, then replies)', async () => {
    slack.script('chat.update', { body: { ok: false, error: 'ratelimited' } });
    const d = botDestination();
    const resolved = makeNotification({ status: 'resolved' });
    const first = await d.send(resolved, makeContext({ conversation: ORIGINAL }));
    expect(first).toMatchObject({ ok: false, outcome: 'retry', reason: 'rateLimited' });
    expect(slack.threadReplies(ORIGINAL.ts)).toHaveLength(0);
    expect(await d.send(resolved, makeContext({ conversation: ORIGINAL, attempt: 2 }))).toEqual({ ok: true });
    expect(slack.callsTo('chat.update')).toHaveLength(2);
    expect(slack.threadReplies(ORIGINAL.ts)).toHaveLength(1);
  });

  it('an original that was deleted is noted; the reply still goes out', async () => {
    slack.script('chat.update', { body: { ok: false, error: 'message_not_found' } });
    const result = await botDestination().send(
      makeNotification({ status: 'resolved' }),
      makeContext({ conversation: ORIGINAL }),
    );
    expect(result).toEqual({ ok: true, detail: expect.stringContaining('message_not_found') });
    expect(slack.threadReplies(ORIGINAL.ts)).toHaveLength(1);
  });

  it('incoming-webhook mode cannot thread: it does not ask for conversations and posts a new message', async () => {
    const d = webhookDestination();
    expect(d.threads).not.toBe(true);
    expect(botDestination().threads).toBe(true);
  });
});

describe('slack destination (mentions)', () => {
  const ada = { id: 'u-ada', name: 'Ada Lovelace', slack: 'U012ABCDEF', manager: 'u-grace' };
  const grace = { id: 'u-grace', name: 'Grace Hopper', slack: 'U0GRACE01' };

  it('mention: person pings exactly the directory id, in the text that notifies and in the blocks', async () => {
    await botDestination({ mention: ['person'] }).send(
      makeNotification({ person: ada, manager: grace }),
      makeContext(),
    );
    const { params, blocks } = posted();
    const text = String(params.text);
    expect(text.startsWith('<@U012ABCDEF> ')).toBe(true);
    expect(text.match(/<[@!#][^>]*>/g)).toEqual(['<@U012ABCDEF>']);
    expect(mrkdwnTexts(blocks)).toContain('<@U012ABCDEF>');
    expect(JSON.stringify(blocks)).not.toContain('U0GRACE01');
  });

  it('mention: [person, manager] pings both; a person without a usable id is named, not mentioned', async () => {
    await botDestination({ mention: ['person', 'manager'] }).send(
      makeNotification({ person: { ...ada, slack: '<!channel>' }, manager: grace }),
      makeContext(),
    );
    const text = String(posted().params.text);
    expect(text.startsWith('Ada Lovelace <@U0GRACE01> ')).toBe(true);
    expect(text.match(/<[@!#][^>]*>/g)).toEqual(['<@U0GRACE01>']);
  });

  it('payload text with <@U999>, <!channel> or @everyone never pings, with or without mentions', async () => {
    await botDestination({ mention: ['person'] }).send(
      makeNotification({
        person: ada,
        title: 'Quiet <@U999> <!channel> @everyone',
        text: `${INJECTION.slackChannel} @here`,
      }),
      makeContext(),
    );
    const { params, blocks } = posted();
    const everything = `${String(params.text)} ${mrkdwnTexts(blocks).join(' ')}`;
    expect(everything.match(/<[@!#][^>]*>/g)).toEqual(['<@U012ABCDEF>', '<@U012ABCDEF>']);
    expect(everything).toContain('&lt;@U999&gt;');
    expect(params.link_names).toBeUndefined();
    expect(params.parse).toBeUndefined();
  });
});

describe('slack destination (buttons)', () => {
  const actionsOf = (blocks: SlackBlock[]) => blocks.filter((b) => b.type === 'actions');

  it('a signing secret adds Acknowledge / Silence buttons to firing alerts, naming the alert', async () => {
    await botDestination({ signingSecret: 'shh-signing-secret' }).send(makeNotification(), makeContext());
    const [actions] = actionsOf(posted().blocks);
    expect(actions?.type === 'actions' && actions.elements.map((e) => e.text.text)).toEqual([
      'Acknowledge',
      'Silence 1h',
      'Silence until tomorrow 09:00',
    ]);
    const value = actions?.type === 'actions' ? actions.elements[0]?.value : undefined;
    expect(JSON.parse(value ?? '{}')).toEqual({ d: 'team-slack', r: 'unproductive-hour', k: 'user-ada' });
  });

  it('no buttons without a signing secret, on a resolve, or on the updated original', async () => {
    const ORIGINAL = { channel: 'C0123456789', ts: '1700000000.000007' };
    await botDestination().send(makeNotification(), makeContext());
    expect(actionsOf(posted().blocks)).toEqual([]);
    slack.reset();
    await botDestination({ signingSecret: 'shh' }).send(
      makeNotification({ status: 'resolved' }),
      makeContext({ conversation: ORIGINAL }),
    );
    expect(actionsOf(posted().blocks)).toEqual([]);
    expect(actionsOf(posted('chat.update').blocks)).toEqual([]);
  });
});

describe('slack destination (incoming webhook)', () => {
  it('posts the same Block Kit JSON to the webhook URL', async () => {
    const result = await webhookDestination().send(makeNotification(), makeContext());
    expect(result).toEqual({ ok: true });
    expect(result.ok && result.conversation).toBeFalsy();
    const call = slack.callsTo('webhook')[0];
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.params).toMatchObject({ unfurl_links: false, unfurl_media: false });
    expect(String(call?.params.text)).toContain('Unproductive hour');
    expect((call?.params.blocks as SlackBlock[] | undefined)?.[0]?.type).toBe('header');
  });

  it('sees Retry-After on 429', async () => {
    slack.script('webhook', { status: 429, headers: { 'retry-after': '12' }, body: 'rate_limited' });
    const result = await webhookDestination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({
      ok: false,
      outcome: 'retry',
      reason: 'rateLimited',
      retryAfterMs: 12_000,
    });
    expectNoSecret(result);
  });

  it.each([
    [500, 'service_unavailable', 'retry', 'serverError'],
    [400, 'invalid_payload', 'dead', 'payloadRejected'],
    [400, 'too_many_attachments', 'dead', 'payloadRejected'],
    [403, 'invalid_token', 'broken', 'authError'],
    [403, 'action_prohibited', 'broken', 'authError'],
    [404, 'no_service', 'broken', 'notFound'],
    [404, 'channel_not_found', 'broken', 'notFound'],
    [410, 'channel_is_archived', 'broken', 'notFound'],
  ] as const)('classifies HTTP %i %s as %s/%s', async (status, body, outcome, reason) => {
    slack.script('webhook', { status, body });
    const result = await webhookDestination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome, reason });
    expectNoSecret(result);
  });

  it('bounds the whole attempt: a 200 whose body trickles is delivered and cut at the timeout', async () => {
    slack.script('webhook', { status: 200, trickle: TRICKLE });
    const result = await settles(
      webhookDestination({ timeoutMs: 300 }).send(makeNotification(), makeContext()),
      'an incoming-webhook post whose body trickles',
    );
    expect(result).toEqual({
      ok: true,
      detail: expect.stringMatching(
        /^slack incoming webhook 127\.0\.0\.1:\d+: HTTP 200, but the body did not end within 300 ms/,
      ),
    });
    expectNoSecret(result);
  });

  it('delivers but says the screenshot cannot be attached', async () => {
    const result = await webhookDestination().send(
      makeNotification({ attachScreenshot: true }),
      makeContext({ image: { bytes: PNG_1X1, mime: 'image/png' } }),
    );
    expect(result.ok).toBe(true);
    expect(result.ok && result.detail).toContain('cannot upload files');
  });

  it('refuses a loopback webhook URL unless allowPrivateNetworks is set', async () => {
    const result = await webhookDestination({ allowPrivateNetworks: false }).send(
      makeNotification(),
      makeContext(),
    );
    expect(result).toMatchObject({ ok: false, outcome: 'broken', reason: 'refused' });
    expectNoSecret(result);
    expect(slack.calls).toHaveLength(0);
  });
});

describe('slack config', () => {
  it('needs token + channel or a webhook URL', () => {
    expect(slackConfigSchema.safeParse({ type: 'slack', token: 'xoxb-1' }).success).toBe(false);
    expect(slackConfigSchema.safeParse({ type: 'slack', token: 'xoxb-1', channel: 'C1' }).success).toBe(true);
    expect(
      slackConfigSchema.safeParse({ type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T/B/X' })
        .success,
    ).toBe(true);
    expect(slackConfigSchema.safeParse({ type: 'slack', webhookUrl: 'x', chanel: 'C1' }).success).toBe(false);
  });
});

// The two modes share the rendering; both are checked, since each builds its own request.
describe.each([
  { mode: 'bot', make: () => botDestination(), method: 'chat.postMessage' },
  { mode: 'incoming webhook', make: () => webhookDestination(), method: 'webhook' },
])('slack destination ($mode): payload text', ({ make, method }) => {
  it('escapes payload text so <!channel> and links never take effect', async () => {
    await make().send(
      makeNotification({
        title: `Alert ${INJECTION.slackChannel}`,
        text: `Text ${INJECTION.slackChannel} & more`,
      }),
      makeContext(),
    );
    const { params, blocks } = posted(method);
    for (const text of [...mrkdwnTexts(blocks), String(params.text)]) {
      expect(text).not.toMatch(/<[!@#]/);
      expect(text).not.toContain('<https://');
    }
    expect(blocks[1]).toMatchObject({
      text: {
        text: 'Text &lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; &amp; more',
      },
    });
    // The header is plain_text, which Slack never parses for mentions or links.
    expect(blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
  });

  it('neutralises bidirectional controls in the header, the text, the facts and the fallback', async () => {
    await make().send(makeNotification(bidiAlert()), makeContext());
    const { params, blocks } = posted(method);
    const header = blocks[0]?.type === 'header' ? blocks[0].text.text : '';
    expect(header).toContain('Title Invoice fdp.exe');
    for (const text of [header, ...mrkdwnTexts(blocks), String(params.text)]) {
      expect(text).not.toMatch(BIDI_CONTROLS);
    }
  });

  it('cuts oversize title and text to the block limits with a visible marker', async () => {
    const result = await make().send(
      makeNotification({ title: 'T'.repeat(400), text: `${'😀'.repeat(2000)}<&>`.repeat(3) }),
      makeContext(),
    );
    expect(result.ok).toBe(true);
    const { params, blocks } = posted(method);
    const header = blocks[0]?.type === 'header' ? blocks[0].text.text : '';
    const section = blocks[1]?.type === 'section' ? blocks[1].text.text : '';
    expect(header.length).toBeLessThanOrEqual(MAX_HEADER_CHARS);
    expect(header.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(section.length).toBeLessThanOrEqual(MAX_SECTION_TEXT_CHARS);
    expect(section.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(section).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(String(params.text).endsWith(TRUNCATION_MARKER)).toBe(true);
  });
});
