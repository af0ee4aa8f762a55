import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type DestinationOptions, toDestinationOptions } from '../destinations/index.js';
import { formatIssue, loadConfig } from './load.js';

/*
 * The `destinations:` of the rules file are parsed by the adapters' own schemas
 * (src/destinations/<type>/config.ts): what the loader returns goes to toDestinationOptions as it is.
 */

const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));

describe('destinations in the rules file', () => {
  it('parse into what the adapters take, with retry and rate in milliseconds', async () => {
    const result = await loadConfig(
      'destination-options.yaml',
      { SLACK_BOT_TOKEN: 'xoxb-1' },
      { cwd: TESTDATA },
    );
    if (!result.ok) expect.fail(result.issues.map(formatIssue).join('\n'));
    const raw = result.config.raw.destinations;
    const options = Object.fromEntries(
      Object.entries(raw).map(([name, entry]): [string, DestinationOptions] => [
        name,
        toDestinationOptions(entry),
      ]),
    );
    expect(options).toEqual({
      'team-slack': {
        type: 'slack',
        token: 'xoxb-1',
        channel: 'C0123456789',
        timeoutMs: 10_000,
        allowPrivateNetworks: false,
      },
      'team-discord': {
        type: 'discord',
        webhookUrl: 'https://discord.com/api/webhooks/123456789012345678/tok-en',
        timeoutMs: 5_000,
        allowPrivateNetworks: false,
      },
      managers: {
        type: 'email',
        smtpUrl: 'smtps://user:pass@smtp.example.com:465',
        from: 'hookrelay <alerts@example.com>',
        to: ['lead@example.com'],
        timeoutMs: 30_000,
        allowPrivateNetworks: false,
      },
      zapier: {
        type: 'webhook',
        url: 'https://hooks.zapier.com/hooks/catch/1/abc/',
        method: 'POST',
        headers: {},
        body: 'event',
        signingSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        timeoutMs: 15_000,
        allowPrivateNetworks: false,
      },
      console: { type: 'log', format: 'json' },
    });
    // retry/rate stay in the parsed entry for the deliver stage; the adapters never see them.
    expect(raw['managers']?.retry).toEqual({
      maxAttempts: 5,
      maxAge: 43_200_000,
      initialDelay: 60_000,
      maxDelay: 3_600_000,
    });
    expect(raw['zapier']?.rate).toEqual({ perSecond: 20, burst: 5, concurrency: 2 });
    expect(raw['team-slack']?.rate).toEqual({ perSecond: 0.5 });
  });

  it('report bad durations, retry and rate values with the exact words', async () => {
    const result = await loadConfig('bad-destination-values.yaml', {}, { cwd: TESTDATA });
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual([
      'bad-destination-values.yaml:8:14 destinations.zapier.timeout: expected a duration such as 10s, 1m or 250ms, got 10 (add a unit, e.g. "10s")',
      'bad-destination-values.yaml:9:27 destinations.zapier.retry.maxAttempts: expected a number above 0, got 0',
      'bad-destination-values.yaml:9:38 destinations.zapier.retry.maxAge: expected a duration such as 10s, 1m or 250ms, got "forever"',
      'bad-destination-values.yaml:10:13 destinations.zapier.rate.perSecnd: unknown key "perSecnd" (did you mean "perSecond"?)',
      'bad-destination-values.yaml:11:46 destinations.team-discord.webhookUrl: expected a Discord webhook URL such as https://discord.com/api/webhooks/<id>/<token>, got a secret (not shown)',
      'bad-destination-values.yaml:11:91 destinations.team-discord.timeout: expected a duration above zero, such as 10s, 1m or 250ms, got "0s"',
      'bad-destination-values.yaml:12:75 destinations.console.rate.concurrency: expected a whole number, got 1.5',
    ]);
  });
});
