// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the rules file references ${VAR}s.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { sampleActivityEvent } from './send-samples.js';
import { runTest } from './test-rules.js';
import { runValidate } from './validate.js';

// Every kind of value a secret fills: plain text, a URL, an SMTP URL, a whsec_ secret, part of a URL.
const RULES = `version: 1
sources:
  trackpilots: { type: trackpilots, secrets: ["\${TRACKPILOTS_WEBHOOK_SECRET}"] }
  billing: { type: standard-webhooks, secrets: ["\${BILLING_WHSEC}"] }
destinations:
  team-slack: { type: slack, token: "\${SLACK_BOT_TOKEN}", channel: C0123456789 }
  team-discord: { type: discord, webhookUrl: "\${DISCORD_WEBHOOK_URL}" }
  managers: { type: email, smtp: "\${SMTP_URL}", from: "hookrelay <a@example.com>", to: [lead@example.com] }
  zapier: { type: webhook, url: "https://hooks.zapier.com/hooks/catch/\${ZAP_PATH}" }
rules:
  - name: seen
    on: desktop.activity_tracking.captured
    to: [team-slack, team-discord, managers, zapier]
tests:
  - name: an activity alerts
    events: [event.json]
    expect: [{ rule: seen, to: team-slack }, { rule: seen, to: team-discord }, { rule: seen, to: managers }, { rule: seen, to: zapier }]
`;
const VARIABLES = [
  'TRACKPILOTS_WEBHOOK_SECRET',
  'BILLING_WHSEC',
  'SLACK_BOT_TOKEN',
  'DISCORD_WEBHOOK_URL',
  'SMTP_URL',
  'ZAP_PATH',
];

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-ci-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  writeFileSync(join(dir, 'event.json'), JSON.stringify(sampleActivityEvent({ userId: 'ada' })));
  return dir;
}

describe('validate and test without production secrets (issue 9 §2)', () => {
  it('validate refuses unset variables by default and warns with --allow-missing-env', async () => {
    const dir = project();
    const strict = captureIo({ cwd: dir });
    expect(await runValidate(['rules.yaml'], strict)).toBe(1);
    for (const name of VARIABLES) expect(strict.err()).toContain(`environment variable ${name} is not set`);

    const ci = captureIo({ cwd: dir });
    expect(await runValidate(['rules.yaml', '--allow-missing-env'], ci), ci.err()).toBe(0);
    expect(ci.out()).toBe('ok: rules.yaml (2 sources, 4 destinations, 1 rule)\n');
    for (const name of VARIABLES) {
      expect(ci.err()).toMatch(
        new RegExp(`^warning: rules.yaml:\\d+:\\d+ .*environment variable ${name} is not set`, 'm'),
      );
    }
    expect(ci.err()).not.toContain('unset.invalid');
  });

  it('test runs the tests: with --allow-missing-env', async () => {
    const dir = project();
    const strict = captureIo({ cwd: dir });
    expect(await runTest(['rules.yaml'], strict)).toBe(1);
    const ci = captureIo({ cwd: dir });
    expect(await runTest(['rules.yaml', '--allow-missing-env'], ci), ci.err() + ci.out()).toBe(0);
    expect(ci.out()).toContain('ok    an activity alerts');
    expect(ci.err()).toContain('environment variable SLACK_BOT_TOKEN is not set');
  });

  it('a set variable is used as it is', async () => {
    const dir = project();
    const env = Object.fromEntries(
      VARIABLES.map((name) => [
        name,
        name === 'BILLING_WHSEC'
          ? 'whsec_c2VjcmV0'
          : name === 'SMTP_URL'
            ? 'smtp://mail.example.com'
            : name === 'DISCORD_WEBHOOK_URL'
              ? 'https://discord.com/api/webhooks/1/x'
              : 'value',
      ]),
    );
    const io = captureIo({ cwd: dir, env });
    expect(await runValidate(['rules.yaml'], io), io.err()).toBe(0);
  });
});
