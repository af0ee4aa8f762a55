import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleScreenshotEvent } from '../../src/cli/send-samples.js';
import { signSlackRequest } from '../../src/ingest/slack-interactions.js';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Issue 13 §3/§4 through the spawned `hookrelay serve`: the buttons of a Slack alert, clicked. Only a
 * request signed with the destination's signing secret, fresh, and never seen before changes anything;
 * who clicked comes from the signed payload alone.
 */

const SECRET = 'e2e-interactions-source-secret';
const SIGNING_SECRET = 'e2e-slack-signing-secret-8f3a2b';
const ADA = '0d1f2c3e-4b5a-4c6d-8e7f-901a2b3c4d5e';
const q = (value: string) => JSON.stringify(value);

interface Button {
  action_id: string;
  value: string;
}

function rulesYaml(slack: FakeSlack): string {
  return `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${q(SECRET)}], tolerance: 5m }
people:
  - { id: ${ADA}, name: Ada Lovelace, slack: U012ABCDEF }
schedules:
  berlin-days: { timezone: Europe/Berlin, days: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00" }
destinations:
  team-slack:
    type: slack
    token: xoxb-0000-e2e-interactions
    channel: C0123456789
    apiUrl: ${q(slack.apiUrl)}
    allowPrivateNetworks: true
    signingSecret: "\${SLACK_SIGNING_SECRET}"
rules:
  - name: idle-screens
    on: desktop.screenshot_tracking.captured
    if: { screenshot.isIdle: true }
    threshold: { per: user, window: 10m, count: 3 }
    during: berlin-days
    to: [team-slack]
`;
}

function silences(server: ServerProcess): Array<{ matchers: string; created_by: string; ends_at: number }> {
  const db = new Database(server.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT matchers, created_by, ends_at FROM silences').all() as never[];
  } finally {
    db.close();
  }
}

function acknowledgements(server: ServerProcess): Array<{ acked_by: string | null }> {
  const db = new Database(server.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT acked_by FROM conversations').all() as never[];
  } finally {
    db.close();
  }
}

describe('hookrelay serve: Slack buttons and POST /integrations/slack/interactions', {
  timeout: 60_000,
}, () => {
  let slack: FakeSlack;
  let server: ServerProcess;
  let buttons: Button[];
  let message: { ts: string; text: string; blocks: unknown[] };

  beforeAll(async () => {
    slack = await startFakeSlack();
    server = await startServer({
      rulesYaml: rulesYaml(slack),
      env: { SLACK_SIGNING_SECRET: SIGNING_SECRET },
    });
    const at = Date.now() - 60_000;
    for (const i of [0, 1, 2]) {
      const payload = sampleScreenshotEvent({ userId: ADA, isIdle: true });
      const item = payload.data[0];
      if (!item) throw new Error('the sample has no item');
      item.screenshot.time = { capturedAt: new Date(at + i * 1000).toISOString() };
      const response = await postSigned(
        `${server.url}/webhooks/trackpilots`,
        JSON.stringify(payload),
        SECRET,
      );
      expect(response.status).toBe(200);
    }
    await waitFor('the alert at Slack', () => slack.topLevelPosts().length === 1, { timeoutMs: 15_000 });
    const posted = slack.callsTo('chat.postMessage')[0];
    const blocks = (posted?.params.blocks ?? []) as Array<{ type: string; elements?: Button[] }>;
    buttons = blocks.find((block) => block.type === 'actions')?.elements ?? [];
    message = { ts: '1700000000.000001', text: String(posted?.params.text), blocks };
  });
  afterAll(async () => {
    await server?.stop();
    await slack?.close();
  });

  function click(actionId: string, user = { id: 'U0ADA', name: 'Ada' }): string {
    const button = buttons.find((b) => b.action_id === actionId);
    const payload = {
      type: 'block_actions',
      user,
      container: { type: 'message', channel_id: 'C0123456789', message_ts: message.ts },
      channel: { id: 'C0123456789' },
      message,
      actions: [{ action_id: actionId, block_id: 'hookrelay-actions', value: button?.value, type: 'button' }],
    };
    return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  }

  async function send(
    body: string,
    headers: Record<string, string>,
    path = '/integrations/slack/interactions',
  ) {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
    return response.status;
  }

  const signed = (body: string, at = Math.floor(Date.now() / 1000)) => ({
    'x-slack-request-timestamp': String(at),
    'x-slack-signature': signSlackRequest(SIGNING_SECRET, String(at), body),
  });

  test('bot-mode alerts carry Acknowledge, Silence 1h and Silence until tomorrow 09:00', () => {
    expect(buttons.map((b) => b.action_id)).toEqual([
      'hookrelay.acknowledge',
      'hookrelay.silence-1h',
      'hookrelay.silence-tomorrow',
    ]);
    expect(JSON.parse(buttons[0]?.value ?? '{}')).toEqual({ d: 'team-slack', r: 'idle-screens', k: ADA });
  });

  test('a wrong signature, a stale timestamp, or a body changed after signing: 401, nothing changes', async () => {
    const body = click('hookrelay.silence-1h');
    const now = Math.floor(Date.now() / 1000);
    expect(await send(body, { ...signed(body), 'x-slack-signature': `v0=${'0'.repeat(64)}` })).toBe(401);
    expect(
      await send(body, {
        'x-slack-request-timestamp': String(now),
        'x-slack-signature': signSlackRequest('not-the-secret', String(now), body),
      }),
    ).toBe(401);
    expect(await send(body, signed(body, now - 6 * 60))).toBe(401);
    expect(await send(body, {})).toBe(401);
    // A forged user id added to the signed body breaks the signature.
    const headers = signed(body);
    expect(await send(`${body}&user_id=UEVIL`, headers)).toBe(401);
    expect(silences(server)).toEqual([]);
    expect(slack.callsTo('chat.update')).toHaveLength(0);
  });

  test('a correctly signed click silences for 1h, attributed to the signed user; the original shows it', async () => {
    const body = click('hookrelay.silence-1h');
    const headers = signed(body);
    const before = Date.now();
    // Anything outside the signed body (here a query string) names nobody.
    expect(await send(body, headers, '/integrations/slack/interactions?user_id=UEVIL')).toBe(200);
    const rows = silences(server);
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]?.matchers ?? '{}')).toEqual({ rule: 'idle-screens', key: ADA });
    expect(rows[0]?.created_by).toBe('slack:U0ADA (Ada)');
    expect(rows[0]?.ends_at).toBeGreaterThanOrEqual(before + 3_600_000);
    await waitFor('the original to be updated', () => slack.callsTo('chat.update').length === 1);
    const update = slack.callsTo('chat.update')[0];
    expect(update?.params).toMatchObject({ channel: 'C0123456789', ts: message.ts });
    expect(String(update?.params.text)).toMatch(/^Silenced for 1h by Ada: /);
    const blocks = (update?.params.blocks ?? []) as Array<{ type: string; text?: { text: string } }>;
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(blocks[1]?.text?.text).toMatch(/^\*Silenced for 1h by Ada\* at /);

    // The same signed request again is a replay.
    expect(await send(body, headers)).toBe(401);
    expect(silences(server)).toHaveLength(1);
    // And still after a restart: the used signature is kept in the database (what lets every instance
    // sharing a PostgreSQL database refuse it too), not in the process's memory.
    await server.stop();
    server = await startServer({
      rulesYaml: rulesYaml(slack),
      dir: server.dir,
      env: { SLACK_SIGNING_SECRET: SIGNING_SECRET },
    });
    expect(await send(body, headers)).toBe(401);
    expect(silences(server)).toHaveLength(1);
  });

  test('until tomorrow 09:00 is in the rule schedule timezone; Acknowledge marks the alert', async () => {
    const tomorrow = click('hookrelay.silence-tomorrow', { id: 'U0GRACE', name: 'Grace' });
    expect(await send(tomorrow, signed(tomorrow))).toBe(200);
    const row = silences(server).find((r) => r.created_by === 'slack:U0GRACE (Grace)');
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(row?.ends_at ?? 0));
    expect(local).toBe('09:00');
    expect((row?.ends_at ?? 0) - Date.now()).toBeGreaterThan(0);
    expect((row?.ends_at ?? 0) - Date.now()).toBeLessThanOrEqual(33 * 3_600_000);

    const ack = click('hookrelay.acknowledge');
    expect(await send(ack, signed(ack))).toBe(200);
    expect(acknowledgements(server)).toEqual([{ acked_by: 'slack:U0ADA (Ada)' }]);
    await waitFor(
      'the original to show the acknowledgement',
      () => slack.callsTo('chat.update').length === 3,
    );
    expect(String(slack.callsTo('chat.update').at(-1)?.params.text)).toMatch(/^Acknowledged by Ada: /);
  });
});
