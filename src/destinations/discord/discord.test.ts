import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  discordError,
  discordRateLimited,
  type FakeDiscord,
  startFakeDiscord,
} from '../../../test/helpers/fake-discord.js';
import { settles, TRICKLE } from '../../../test/helpers/http-receiver.js';
import { TRUNCATION_MARKER } from '../../render/truncate.js';
import {
  BIDI_CONTROLS,
  bidiAlert,
  INJECTION,
  makeContext,
  makeNotification,
  PNG_1X1,
  REFERENCE_TIME,
  testDeps,
} from '../testdata/fixtures.js';
import type { Destination, SendResult } from '../types.js';
import type { DiscordOptions } from './config.js';
import { discordConfigSchema, discordOptionsFromConfig, parseDiscordWebhookUrl } from './config.js';
import { createDiscordDestination } from './discord.js';
import {
  type DiscordEmbed,
  embedTotal,
  MAX_CONTENT_CHARS,
  MAX_EMBED_DESCRIPTION_CHARS,
  MAX_EMBED_TITLE_CHARS,
  MAX_EMBED_TOTAL_CHARS,
  SEVERITY_COLOURS,
} from './render.js';

let discord: FakeDiscord;
const open: Destination[] = [];

beforeAll(async () => {
  discord = await startFakeDiscord();
});
afterAll(async () => {
  await discord.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
  discord.reset();
});

function destination(overrides: Partial<DiscordOptions> = {}): Destination {
  const options = discordOptionsFromConfig(
    discordConfigSchema.parse({
      type: 'discord',
      webhookUrl: discord.webhookUrl,
      allowPrivateNetworks: true,
    }),
  );
  const d = createDiscordDestination('team-discord', { ...options, ...overrides }, testDeps());
  open.push(d);
  return d;
}

function expectNoSecret(result: SendResult): void {
  const text = JSON.stringify(result);
  expect(text).not.toContain(discord.webhookToken);
  expect(text).not.toContain('fakeDiscordWebhookToken');
  expect(text).not.toContain(discord.webhookUrl);
}

function lastEmbed(): DiscordEmbed {
  const embed = (discord.executions.at(-1)?.payload.embeds as DiscordEmbed[] | undefined)?.[0];
  expect(embed).toBeDefined();
  return embed as DiscordEmbed;
}

describe('discord destination', () => {
  it('executes the webhook with wait=true, one embed and mentions disabled', async () => {
    const result = await destination({ username: 'hookrelay' }).send(
      makeNotification({ severity: 'critical', simulation: true }),
      makeContext(),
    );
    expect(result).toEqual({ ok: true, conversation: { messageId: expect.any(String) } });
    const [execution] = discord.executions;
    expect(execution?.webhookId).toBe(discord.webhookId);
    expect(execution?.token).toBe(discord.webhookToken);
    expect(execution?.query.get('wait')).toBe('true');
    expect(execution?.headers.authorization).toBeUndefined();
    expect(execution?.headers['user-agent']).toMatch(/^DiscordBot/);
    expect(execution?.payload).toMatchObject({
      content: '\\[critical\\] Unproductive hour: Ada Lovelace',
      allowed_mentions: { parse: [] },
      username: 'hookrelay',
    });
    const embed = lastEmbed();
    expect(embed).toMatchObject({
      title: 'Unproductive hour: Ada Lovelace',
      description: '31m 00s on unproductive apps in the last hour (latest: Solitaire)',
      color: SEVERITY_COLOURS.critical,
      timestamp: new Date(REFERENCE_TIME).toISOString(),
      footer: { text: 'hookrelay' },
    });
    expect(embed.fields).toEqual(
      expect.arrayContaining([
        { name: 'Severity', value: 'critical', inline: true },
        { name: 'Rule', value: 'unproductive-hour', inline: true },
        { name: 'User', value: 'Ada Lovelace', inline: true },
        { name: 'Simulation', value: 'yes', inline: true },
      ]),
    );
  });

  it('sends to apiUrl when one is set, whatever host the webhook URL names', async () => {
    // A production-shaped URL: only the apiUrl override can bring the request to the fake.
    const production = `https://discord.com/api/webhooks/${discord.webhookId}/${discord.webhookToken}`;
    const result = await destination({ webhookUrl: production, apiUrl: discord.apiUrl }).send(
      makeNotification(),
      makeContext(),
    );
    expect(result.ok).toBe(true);
    expect(discord.executions).toHaveLength(1);
    expect(discord.executions[0]).toMatchObject({
      webhookId: discord.webhookId,
      token: discord.webhookToken,
    });
  });

  it('uses a colour per severity', async () => {
    const d = destination();
    for (const severity of ['info', 'warning', 'critical'] as const) {
      await d.send(makeNotification({ severity }), makeContext());
      expect(lastEmbed().color).toBe(SEVERITY_COLOURS[severity]);
    }
    await d.send(makeNotification({ status: 'resolved' }), makeContext());
    expect(lastEmbed().color).toBe(SEVERITY_COLOURS.resolved);
  });

  it('makes @everyone, mentions, markdown and masked links inert', async () => {
    await destination().send(
      makeNotification({
        title: `Hi ${INJECTION.discordEveryone}`,
        text: `**bold** ${INJECTION.discordEveryone}`,
      }),
      makeContext(),
    );
    const payload = discord.executions[0]?.payload ?? {};
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    const embed = lastEmbed();
    for (const text of [String(payload.content), embed.title, embed.description ?? '']) {
      expect(text).not.toMatch(/@(everyone|here)/);
      expect(text).toContain('@\u200beveryone');
      expect(text).not.toMatch(/(^|[^\\])<@/);
      expect(text).not.toMatch(/(^|[^\\])\[click/);
    }
    expect(embed.description?.startsWith('\\*\\*bold\\*\\*')).toBe(true);
  });

  it('neutralises bidirectional controls in the content, the title, the description and the fields', async () => {
    await destination().send(makeNotification(bidiAlert()), makeContext());
    const payload = discord.executions[0]?.payload ?? {};
    const embed = lastEmbed();
    expect(embed.title).toBe('Title Invoice fdp.exe x y z q r');
    for (const text of [
      String(payload.content),
      embed.title,
      embed.description ?? '',
      ...embed.fields.flatMap((field) => [field.name, field.value]),
    ]) {
      expect(text).not.toMatch(BIDI_CONTROLS);
    }
  });

  it('cuts oversize content to the Discord limits with a visible marker', async () => {
    const result = await destination().send(
      makeNotification({ title: `${'T'.repeat(3000)}`, text: `${'😀*'.repeat(5000)}` }),
      makeContext(),
    );
    expect(result.ok).toBe(true);
    const payload = discord.executions[0]?.payload ?? {};
    const embed = lastEmbed();
    expect(Array.from(String(payload.content)).length).toBeLessThanOrEqual(MAX_CONTENT_CHARS);
    expect(Array.from(embed.title).length).toBeLessThanOrEqual(MAX_EMBED_TITLE_CHARS);
    expect(embed.title.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(Array.from(embed.description ?? '').length).toBeLessThanOrEqual(MAX_EMBED_DESCRIPTION_CHARS);
    expect(embed.description?.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(embedTotal(embed)).toBeLessThanOrEqual(MAX_EMBED_TOTAL_CHARS);
    expect(embed.description).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('attaches the screenshot as a file and shows it as the embed image', async () => {
    const result = await destination().send(
      makeNotification({ attachScreenshot: true }),
      makeContext({ image: { bytes: PNG_1X1, mime: 'image/png' } }),
    );
    expect(result).toEqual({ ok: true, conversation: { messageId: expect.any(String) } });
    const execution = discord.executions[0];
    expect(execution?.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(execution?.files).toHaveLength(1);
    expect(execution?.files[0]).toMatchObject({
      field: 'files[0]',
      filename: 'screenshot.png',
      type: 'image/png',
    });
    expect(execution?.files[0]?.bytes.equals(PNG_1X1)).toBe(true);
    expect(execution?.payload.attachments).toEqual([
      { id: 0, filename: 'screenshot.png', description: 'Screenshot attached to the alert' },
    ]);
    expect(lastEmbed().image).toEqual({ url: 'attachment://screenshot.png' });
    expect(execution?.payload.allowed_mentions).toEqual({ parse: [] });
  });

  it('reports a 429 with retry_after as rateLimited, without waiting or retrying', async () => {
    discord.script(discordRateLimited(2.5));
    const started = Date.now();
    const result = await destination().send(makeNotification(), makeContext());
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'rateLimited' });
    expect(result.ok ? 0 : result.retryAfterMs).toBeGreaterThanOrEqual(2_500);
    expect(result.ok ? 0 : result.retryAfterMs).toBeLessThan(3_000);
    expect(discord.executions).toHaveLength(1);
    expectNoSecret(result);
  });

  it('reads retry_after from the body when the header is missing', async () => {
    discord.script(discordRateLimited(1.25, { header: false }));
    const result = await destination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'rateLimited' });
    expect(result.ok ? 0 : result.retryAfterMs).toBeGreaterThanOrEqual(1_250);
  });

  it('reports a bucket it knows is exhausted as rateLimited without sending', async () => {
    const d = destination();
    discord.script({
      status: 200,
      headers: { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': '2' },
      body: { id: '1', channel_id: '2' },
    });
    expect((await d.send(makeNotification(), makeContext())).ok).toBe(true);
    const result = await d.send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'rateLimited' });
    expect(result.ok ? 0 : result.retryAfterMs).toBeGreaterThan(1_000);
    expect(discord.executions).toHaveLength(1);
  });

  it.each([500, 502, 503])('reports HTTP %i as a serverError retry after one call', async (status) => {
    discord.script({ status, body: { message: 'upstream' } });
    const result = await destination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'serverError' });
    expect(discord.executions).toHaveLength(1);
    expectNoSecret(result);
  });

  it.each([
    ['404 Unknown Webhook', discordError(404, 10015, 'Unknown Webhook'), 'broken', 'notFound'],
    ['401 Invalid Webhook Token', discordError(401, 50027, 'Invalid Webhook Token'), 'broken', 'authError'],
    ['403 Missing Permissions', discordError(403, 50013, 'Missing Permissions'), 'broken', 'authError'],
    ['400 Invalid Form Body', discordError(400, 50035, 'Invalid Form Body'), 'dead', 'payloadRejected'],
    [
      '400 Cannot send an empty message',
      discordError(400, 50006, 'Cannot send an empty message'),
      'dead',
      'payloadRejected',
    ],
    [
      '413 Request entity too large',
      discordError(413, 40005, 'Request entity too large'),
      'dead',
      'payloadRejected',
    ],
  ] as const)('classifies %s as %s/%s', async (_label, answer, outcome, reason) => {
    discord.script(answer);
    const result = await destination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome, reason });
    expect(discord.executions).toHaveLength(1);
    expectNoSecret(result);
  });

  it('does not follow a redirect and does not take it for success', async () => {
    discord.script({ status: 301, headers: { location: 'https://elsewhere.example/api/webhooks/1/2' } });
    const result = await destination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'broken', reason: 'clientError' });
    expect(discord.executions).toHaveLength(1);
    expectNoSecret(result);
  });

  it('classifies a slow API as a timeout', async () => {
    discord.script({ status: 200, delayMs: 2_000, body: { id: '1' } });
    const result = await destination({ timeoutMs: 200 }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
    expectNoSecret(result);
  });

  it('bounds the whole attempt: a 200 whose body trickles is a timeout (wait=true: the body is the message)', async () => {
    discord.script({ status: 200, trickle: TRICKLE });
    const result = await settles(
      destination({ timeoutMs: 300 }).send(makeNotification(), makeContext()),
      'an execute-webhook whose body trickles',
    );
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
    expectNoSecret(result);
  });

  it('classifies a caller abort as a retry', async () => {
    discord.script({ status: 200, delayMs: 2_000, body: { id: '1' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await destination().send(makeNotification(), makeContext({ signal: controller.signal }));
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
  });

  it('classifies an unreachable API as a network retry', async () => {
    const gone = await startFakeDiscord();
    const webhookUrl = gone.webhookUrl;
    await gone.close();
    const result = await destination({ webhookUrl }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'network' });
    expect(JSON.stringify(result)).not.toContain(gone.webhookToken);
  });

  it('refuses a loopback webhook URL unless allowPrivateNetworks is set', async () => {
    const result = await destination({ allowPrivateNetworks: false }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'broken', reason: 'refused' });
    expect(discord.executions).toHaveLength(0);
    expectNoSecret(result);
  });
});

describe('discord destination (one conversation per alert)', () => {
  it('a first message starts the conversation with its saved id (wait=true)', async () => {
    const result = await destination().send(makeNotification(), makeContext());
    expect(result).toEqual({ ok: true, conversation: { messageId: expect.stringMatching(/^12\d+$/) } });
  });

  it('a resolve edits the original (PATCH …/messages/<id>), then posts the follow-up', async () => {
    const original = { messageId: '1200000000000000042' };
    const result = await destination().send(
      makeNotification({ status: 'resolved' }),
      makeContext({ conversation: original }),
    );
    expect(result).toEqual({ ok: true });
    expect(discord.edits).toHaveLength(1);
    const [edit] = discord.edits;
    expect(edit?.messageId).toBe(original.messageId);
    expect(String(edit?.payload.content)).toMatch(/^Resolved at \d{4}-/);
    expect(edit?.payload.allowed_mentions).toEqual({ parse: [] });
    expect(discord.executions).toHaveLength(1);
    expect(discord.executions[0]?.query.get('thread_id')).toBeNull();
  });

  it('a failed edit retries and posts nothing yet', async () => {
    discord.scriptEdit({ status: 500, body: 'upstream trouble' });
    const result = await destination().send(
      makeNotification({ status: 'resolved' }),
      makeContext({ conversation: { messageId: '1200000000000000042' } }),
    );
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'serverError' });
    expect(discord.executions).toHaveLength(0);
  });

  it('forum channels: the first message starts a post (thread_name); follow-ups go in it (thread_id)', async () => {
    const d = destination({ forum: true });
    const started = await d.send(makeNotification(), makeContext());
    expect(discord.executions[0]?.payload.thread_name).toBe('Unproductive hour: Ada Lovelace');
    const conversation = started.ok ? started.conversation : undefined;
    expect(conversation?.threadId).toMatch(/^33\d+$/);
    await d.send(makeNotification({ status: 'resolved' }), makeContext(conversation ? { conversation } : {}));
    expect(discord.edits[0]?.query.get('thread_id')).toBe(conversation?.threadId);
    const followUp = discord.executions[1];
    expect(followUp?.query.get('thread_id')).toBe(conversation?.threadId);
    expect(followUp?.payload.thread_name).toBeUndefined();
  });
});

describe('discord destination (mentions)', () => {
  const ada = { id: 'u-ada', name: 'Ada Lovelace', discord: '123456789012345678', manager: 'u-grace' };
  const grace = { id: 'u-grace', name: 'Grace Hopper', discord: '223456789012345678' };

  it('mention: person pings exactly the directory id: <@id> in content, allowed_mentions.users', async () => {
    await destination({ mention: ['person'] }).send(
      makeNotification({ person: ada, manager: grace }),
      makeContext(),
    );
    const payload = discord.executions[0]?.payload;
    expect(String(payload?.content).startsWith('<@123456789012345678> ')).toBe(true);
    expect(payload?.allowed_mentions).toEqual({ parse: [], users: ['123456789012345678'] });
    expect(JSON.stringify(payload?.embeds)).not.toContain('<@123456789012345678>');
  });

  it('mention: [person, manager]; a person without a usable id is named, not mentioned', async () => {
    await destination({ mention: ['person', 'manager'] }).send(
      makeNotification({ person: { ...ada, discord: '@everyone' }, manager: grace }),
      makeContext(),
    );
    const payload = discord.executions[0]?.payload;
    expect(String(payload?.content).startsWith('Ada Lovelace <@223456789012345678> ')).toBe(true);
    expect(payload?.allowed_mentions).toEqual({ parse: [], users: ['223456789012345678'] });
  });

  it('payload text with <@id>, @everyone or @here never pings', async () => {
    await destination({ mention: ['person'] }).send(
      makeNotification({ person: ada, title: INJECTION.discordEveryone, text: INJECTION.discordEveryone }),
      makeContext(),
    );
    const payload = discord.executions[0]?.payload;
    expect(payload?.allowed_mentions).toEqual({ parse: [], users: ['123456789012345678'] });
    const content = String(payload?.content);
    expect(content.match(/(?<!\\)<@[!&]?\d+>/g)).toEqual(['<@123456789012345678>']);
    expect(content).not.toMatch(/@(everyone|here)/);
  });
});

describe('discord webhook URL', () => {
  it('takes production and local URLs apart', () => {
    expect(parseDiscordWebhookUrl('https://discord.com/api/webhooks/123456789012345678/abc-DEF_ghi')).toEqual(
      {
        api: 'https://discord.com/api',
        id: '123456789012345678',
        token: 'abc-DEF_ghi',
      },
    );
    expect(parseDiscordWebhookUrl('https://ptb.discord.com/api/v10/webhooks/1/t?thread_id=99')).toEqual({
      api: 'https://ptb.discord.com/api',
      id: '1',
      token: 't',
      threadId: '99',
    });
    expect(parseDiscordWebhookUrl(discord.webhookUrl)?.api).toBe(discord.apiUrl);
    expect(parseDiscordWebhookUrl('https://discord.com/api/channels/1/messages')).toBeUndefined();
    expect(
      discordConfigSchema.safeParse({ type: 'discord', webhookUrl: 'https://example.com/x' }).success,
    ).toBe(false);
  });
});
