import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpReceiver, startHttpReceiver } from '../../test/helpers/http-receiver.js';
import { createDestination, destinationConfigSchema, toDestinationOptions } from './index.js';
import { makeContext, makeNotification, testDeps } from './testdata/fixtures.js';

let receiver: HttpReceiver;
beforeAll(async () => {
  receiver = await startHttpReceiver();
});
afterAll(async () => {
  await receiver.close();
});

describe('destination config', () => {
  it('parses every type from the rules-file shape into adapter options', () => {
    const entries = [
      { type: 'slack', token: 'xoxb-1', channel: 'C0123456789' },
      { type: 'discord', webhookUrl: 'https://discord.com/api/webhooks/123456789012345678/tok' },
      { type: 'email', smtp: 'smtp://mail.example.com:587', from: 'a@example.com', to: ['b@example.com'] },
      {
        type: 'webhook',
        url: 'https://hooks.zapier.com/hooks/catch/1/2/',
        signing: { secret: 'whsec_AAAA' },
      },
      { type: 'log' },
    ];
    const options = entries.map((entry) => toDestinationOptions(destinationConfigSchema.parse(entry)));
    expect(options.map((o) => o.type)).toEqual(['slack', 'discord', 'email', 'webhook', 'log']);
    expect(options[0]).toMatchObject({ token: 'xoxb-1', channel: 'C0123456789', timeoutMs: 10_000 });
    expect(options[2]).toMatchObject({ smtpUrl: 'smtp://mail.example.com:587', timeoutMs: 30_000 });
    expect(options[3]).toMatchObject({ signingSecret: 'whsec_AAAA', body: 'alert', timeoutMs: 15_000 });
  });

  it('rejects unknown types and unknown keys with a path', () => {
    const unknownType = destinationConfigSchema.safeParse({ type: 'teams', url: 'x' });
    expect(unknownType.success).toBe(false);
    const typo = destinationConfigSchema.safeParse({
      type: 'webhook',
      url: 'https://x.example/',
      timeut: '5s',
    });
    expect(typo.success).toBe(false);
    expect(typo.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['timeut'] });
    const badTimeout = destinationConfigSchema.safeParse({
      type: 'webhook',
      url: 'https://x.example/',
      timeout: 'soon',
    });
    expect(badTimeout.error?.issues[0]?.path).toEqual(['timeout']);
  });
});

describe('createDestination', () => {
  it('builds each adapter by type', async () => {
    const deps = testDeps();
    const built = [
      createDestination('s', { type: 'slack', token: 'xoxb-1', channel: 'C1', timeoutMs: 1000 }, deps),
      createDestination(
        'd',
        {
          type: 'discord',
          webhookUrl: 'https://discord.com/api/webhooks/123456789012345678/tok',
          timeoutMs: 1000,
        },
        deps,
      ),
      createDestination(
        'e',
        {
          type: 'email',
          smtpUrl: 'smtp://127.0.0.1:1',
          from: 'a@example.com',
          to: ['b@example.com'],
          timeoutMs: 1000,
        },
        deps,
      ),
      createDestination(
        'w',
        {
          type: 'webhook',
          url: `${receiver.origin}/hook`,
          method: 'POST',
          headers: {},
          body: 'alert',
          timeoutMs: 1000,
          allowPrivateNetworks: true,
        },
        deps,
      ),
      createDestination('l', { type: 'log', format: 'json', write: () => undefined }, deps),
    ];
    expect(built.map((d) => [d.name, d.type])).toEqual([
      ['s', 'slack'],
      ['d', 'discord'],
      ['e', 'email'],
      ['w', 'webhook'],
      ['l', 'log'],
    ]);
    // Known before the adapter loads: the deliverer asks for conversations only for these.
    expect(built.map((d) => d.threads === true)).toEqual([true, true, true, false, false]);
    const hook = createDestination(
      'h',
      { type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T/B/x', timeoutMs: 1000 },
      deps,
    );
    expect(hook.threads).not.toBe(true);
    built.push(hook);
    expect(await built[3]?.send(makeNotification(), makeContext())).toEqual({ ok: true });
    await Promise.all(built.map((d) => d.close()));
  });

  it('refuses a Discord URL without id and token', () => {
    expect(() =>
      createDestination(
        'd',
        { type: 'discord', webhookUrl: 'https://discord.com/x', timeoutMs: 1000 },
        testDeps(),
      ),
    ).toThrow(/HR_ERR_DEST_CONFIG|not a Discord webhook URL/);
  });
});
