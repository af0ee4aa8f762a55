import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { sampleScreenshotEvent } from '../../src/cli/send-samples.js';
import { type FakeDiscord, startFakeDiscord } from '../helpers/fake-discord.js';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Issue 13 §1/§4 through the spawned `hookrelay serve`: a threshold alert fires and resolves; at Slack
 * (bot mode) and Discord that is one original message, updated in place, and one reply in its thread.
 * A kill -9 while the update is in flight still leaves one message, updated after the restart.
 */

const SECRET = 'e2e-chat-secret-0123456789';
const SLACK_TOKEN = 'xoxb-0000000000-0000000000000-e2eChatBotToken';
const ADA = '0d1f2c3e-4b5a-4c6d-8e7f-901a2b3c4d5e';
const q = (value: string) => JSON.stringify(value);

function rulesYaml(slack: FakeSlack, discord: FakeDiscord): string {
  return `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${q(SECRET)}], tolerance: 5m }
people:
  - { id: ${ADA}, name: Ada Lovelace, slack: U012ABCDEF, discord: "123456789012345678" }
destinations:
  team-slack:
    type: slack
    token: ${q(SLACK_TOKEN)}
    channel: C0123456789
    apiUrl: ${q(slack.apiUrl)}
    allowPrivateNetworks: true
    mention: person
  team-discord:
    type: discord
    webhookUrl: ${q(discord.webhookUrl)}
    apiUrl: ${q(discord.apiUrl)}
    allowPrivateNetworks: true
rules:
  - name: idle-screens
    on: desktop.screenshot_tracking.captured
    if: { screenshot.isIdle: true }
    threshold: { per: user, window: 10m, count: 3, resolve: true }
    to: [team-slack, team-discord]
`;
}

/**
 * postIdleScreens sends three idle screenshots of Ada timed two hours ago, a minute apart (the count fires
 * on the third), then one an hour later: alone in its window, it resolves the alert.
 */
async function postIdleScreens(server: ServerProcess): Promise<void> {
  const at = Date.now() - 2 * 3_600_000;
  for (const i of [0, 1, 2, 60]) {
    const payload = sampleScreenshotEvent({ userId: ADA, isIdle: true });
    const item = payload.data[0];
    if (!item) throw new Error('the sample has no item');
    item.screenshot.time = { capturedAt: new Date(at + i * 60_000).toISOString() };
    const response = await postSigned(`${server.url}/webhooks/trackpilots`, JSON.stringify(payload), SECRET);
    expect(response.status).toBe(200);
  }
}

const showLog = (server: ServerProcess | undefined, slack: FakeSlack) => () =>
  `slack calls: ${slack.calls.map((c) => `${c.method} ${String(c.params.thread_ts ?? '')}`).join(', ')}\n` +
  `server log:\n${server?.lines.slice(-30).join('\n') ?? ''}`;

describe('hookrelay serve: one conversation per alert at Slack and Discord', { timeout: 60_000 }, () => {
  let slack: FakeSlack;
  let discord: FakeDiscord;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    [slack, discord] = await Promise.all([startFakeSlack(), startFakeDiscord()]);
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    slack.reset();
    discord.reset();
  });
  afterAll(async () => {
    await Promise.all([slack.close(), discord.close()]);
  });

  test('fires, then resolves: one original updated in place, one reply in its thread', async () => {
    server = await startServer({ rulesYaml: rulesYaml(slack, discord) });
    await postIdleScreens(server);
    const explain = showLog(server, slack);
    await waitFor('the Slack original to be updated', () => slack.callsTo('chat.update').length === 1, {
      timeoutMs: 15_000,
      explain,
    });
    const [original] = slack.topLevelPosts();
    const ts = '1700000000.000001';
    expect(slack.topLevelPosts()).toHaveLength(1);
    expect(original?.params.text).toMatch(/^<@U012ABCDEF> \[warning\]/);
    await waitFor('the reply in the thread', () => slack.threadReplies(ts).length === 1, { explain });
    const update = slack.callsTo('chat.update')[0];
    expect(update?.params).toMatchObject({ channel: 'C0123456789', ts });
    expect(String(update?.params.text)).toMatch(/^Resolved: /);
    expect(slack.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(2);

    await waitFor('the Discord original to be edited', () => discord.edits.length === 1, { explain });
    await waitFor('the Discord follow-up', () => discord.executions.length === 2, { explain });
    expect(discord.edits[0]?.messageId).toBe('1200000000000000001');
    expect(String(discord.edits[0]?.payload.content)).toMatch(/^Resolved at /);
  });

  test('kill -9 while the update is in flight: after the restart still one message, updated', async () => {
    // The first chat.update never answers in time: the process dies while waiting for it.
    slack.script('chat.update', { delayMs: 120_000, body: { ok: true } });
    server = await startServer({ rulesYaml: rulesYaml(slack, discord) });
    const dir = server.dir;
    await postIdleScreens(server);
    const explain = showLog(server, slack);
    await waitFor('the first chat.update to reach Slack', () => slack.callsTo('chat.update').length === 1, {
      timeoutMs: 15_000,
      explain,
    });
    await server.stop('SIGKILL');
    server = await startServer({ rulesYaml: rulesYaml(slack, discord), dir });
    await waitFor('the update to be sent again', () => slack.callsTo('chat.update').length === 2, {
      timeoutMs: 15_000,
      explain: showLog(server, slack),
    });
    const ts = '1700000000.000001';
    await waitFor('the reply in the thread', () => slack.threadReplies(ts).length === 1, { explain });
    expect(slack.topLevelPosts()).toHaveLength(1);
    for (const update of slack.callsTo('chat.update')) {
      expect(update.params).toMatchObject({ channel: 'C0123456789', ts });
    }
  });
});
