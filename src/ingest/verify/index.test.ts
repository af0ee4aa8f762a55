import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createVerifier, type VerifierConfig } from './index.js';

const REFERENCE_TIME = Date.UTC(2026, 0, 28, 9, 5, 0);
const NOW_SECONDS = `${REFERENCE_TIME / 1000}`;
const BODY = Buffer.from('{"event":"x"}');
const TRACKPILOTS_SECRET = 'tp-secret';
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const trackpilotsHeaders = {
  'x-webhook-timestamp': NOW_SECONDS,
  'x-webhook-signature': createHmac('sha256', TRACKPILOTS_SECRET)
    .update(`${NOW_SECONDS}.${BODY}`)
    .digest('hex'),
};
const standardHeaders = {
  'webhook-id': 'msg_1',
  'webhook-timestamp': NOW_SECONDS,
  'webhook-signature': `v1,${createHmac('sha256', Buffer.from(SW_SECRET.slice(6), 'base64'))
    .update(`msg_1.${NOW_SECONDS}.${BODY}`)
    .digest('base64')}`,
};
const genericHeaders = { 'x-sig': createHmac('sha256', 'g-secret').update(BODY).digest('base64') };

describe('createVerifier', () => {
  const configs: Record<string, VerifierConfig> = {
    trackpilots: { type: 'trackpilots', secrets: [TRACKPILOTS_SECRET], toleranceMs: 300_000 },
    'standard-webhooks': { type: 'standard-webhooks', secrets: [SW_SECRET], toleranceMs: 300_000 },
    hmac: { type: 'hmac', secrets: ['g-secret'], toleranceMs: 300_000, header: 'x-sig', encoding: 'base64' },
  };
  const requests = {
    trackpilots: trackpilotsHeaders,
    'standard-webhooks': standardHeaders,
    hmac: genericHeaders,
  };

  // Each verifier accepts its own scheme and no other: the dispatch picked the right adapter.
  for (const [type, config] of Object.entries(configs)) {
    for (const [scheme, headers] of Object.entries(requests)) {
      it(`${type} ${type === scheme ? 'accepts' : 'refuses'} a request signed the ${scheme} way`, () => {
        expect(createVerifier(config)(headers, BODY, REFERENCE_TIME).ok).toBe(type === scheme);
      });
    }
  }
});
