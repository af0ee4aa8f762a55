import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../lib/log.js';
import { buildDelivery, closeDestinations, type DeliverySetup, deliveryConfigOf } from './setup.js';

const RULES = `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [s3cret] }
destinations:
  team-slack: { type: slack, token: xoxb-1, channel: C0123456789 }
  managers:
    type: email
    smtp: smtps://user:pass@smtp.example.com:465
    from: alerts@example.com
    to: [lead@example.com]
    retry: { maxAttempts: 5, maxAge: 12h, initialDelay: 1m, maxDelay: 1h }
  zapier:
    type: webhook
    url: https://hooks.zapier.com/hooks/catch/1/abc/
    rate: { perSecond: 20, burst: 5, concurrency: 2 }
rules:
  - { name: all, on: "*", to: [team-slack, managers, zapier] }
`;

let dir: string | undefined;
let setup: DeliverySetup | undefined;
afterEach(async () => {
  if (setup) await closeDestinations(setup.destinations);
  if (dir) rmSync(dir, { recursive: true, force: true });
  setup = undefined;
  dir = undefined;
});

describe('buildDelivery', () => {
  it("gives each destination its type's defaults, overridden by its own retry: and rate:", async () => {
    dir = mkdtempSync(join(tmpdir(), 'hookrelay-setup-'));
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    const loaded = await loadConfig(join(dir, 'rules.yaml'), {});
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    setup = buildDelivery(deliveryConfigOf(loaded.config), { logger: createLogger('silent') });

    expect([...setup.destinations.keys()]).toEqual(['team-slack', 'managers', 'zapier']);
    const policy = (name: string) => setup?.policies.get(name);
    // Slack: the chat defaults and one message a second.
    expect(policy('team-slack')).toMatchObject({
      retry: { maxAttempts: 50, maxAgeMs: 86_400_000, initialDelayMs: 1_000, maxDelayMs: 600_000 },
      pacing: { perSecond: 1, burst: 1, concurrency: 1 },
    });
    // Email: every retry key from the file.
    expect(policy('managers')?.retry).toMatchObject({
      maxAttempts: 5,
      maxAgeMs: 43_200_000,
      initialDelayMs: 60_000,
      maxDelayMs: 3_600_000,
    });
    // Webhook: the rate from the file, the retry defaults untouched.
    expect(policy('zapier')).toMatchObject({
      retry: { maxAttempts: 50, maxAgeMs: 86_400_000 },
      pacing: { perSecond: 20, burst: 5, concurrency: 2 },
    });
  });
});
