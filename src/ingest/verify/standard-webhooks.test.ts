import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HeaderMap } from './result.js';
import {
  createStandardWebhooksVerifier,
  signStandardWebhook,
  standardWebhookKey,
} from './standard-webhooks.js';

// The known-answer vector shared by every Standard Webhooks reference library's test suite.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const REFERENCE_TIME = Date.UTC(2026, 0, 28, 9, 5, 0);
const NOW_SECONDS = `${REFERENCE_TIME / 1000}`;
const TOLERANCE_MS = 5 * 60_000;
const SECRET = 'whsec_dGVzdC1zZWNyZXQtZm9yLWhvb2tyZWxheS0xMjM0NQ==';
const OLD_SECRET = 'whsec_b2xkLXNlY3JldC1mb3ItaG9va3JlbGF5LTY3ODkw';
const ID = 'msg_2a3b4c5d';
const BODY = Buffer.from('{"type":"invoice.paid","timestamp":"2026-01-28T09:05:00Z","data":{"id":"in_1"}}');

/** The spec's own recipe, written out here rather than calling the module under test. */
function expectedSignature(id: string, timestamp: string, body: Buffer | string, secret = SECRET): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body.toString()}`).digest('base64')}`;
}

function signedHeaders(
  timestamp = NOW_SECONDS,
  body: Buffer | string = BODY,
  secret = SECRET,
  id = ID,
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': expectedSignature(id, timestamp, body, secret),
  };
}

const verify = createStandardWebhooksVerifier({
  type: 'standard-webhooks',
  secrets: [SECRET],
  toleranceMs: TOLERANCE_MS,
});

describe('standard webhooks known-answer vector', () => {
  it('signStandardWebhook produces the reference signature', () => {
    expect(signStandardWebhook(VECTOR)).toBe(VECTOR.signature);
  });

  it('the verifier accepts the reference message at its own time', () => {
    const check = createStandardWebhooksVerifier({
      type: 'standard-webhooks',
      secrets: [VECTOR.secret],
      toleranceMs: TOLERANCE_MS,
    });
    const headers = {
      'webhook-id': VECTOR.id,
      'webhook-timestamp': `${VECTOR.timestamp}`,
      'webhook-signature': VECTOR.signature,
    };
    expect(check(headers, Buffer.from(VECTOR.body), VECTOR.timestamp * 1000)).toEqual({
      ok: true,
      secretIndex: 0,
      timestampMs: VECTOR.timestamp * 1000,
    });
  });
});

describe('standard webhooks verifier refuses', () => {
  const flipped = Buffer.from(BODY);
  flipped[3] = flipped[3]! ^ 0x01;
  const good = signedHeaders();
  const cases: { name: string; headers: HeaderMap; body?: Buffer; code: string }[] = [
    {
      name: 'missing signature',
      headers: { 'webhook-id': ID, 'webhook-timestamp': NOW_SECONDS },
      code: 'HR_ERR_SIG_MISSING',
    },
    {
      name: 'missing id',
      headers: { 'webhook-timestamp': NOW_SECONDS, 'webhook-signature': good['webhook-signature'] },
      code: 'HR_ERR_SIG_ID_MISSING',
    },
    {
      name: 'missing timestamp',
      headers: { 'webhook-id': ID, 'webhook-signature': good['webhook-signature'] },
      code: 'HR_ERR_SIG_TIMESTAMP_MISSING',
    },
    {
      name: 'non-numeric timestamp',
      headers: signedHeaders('yesterday'),
      code: 'HR_ERR_SIG_TIMESTAMP_INVALID',
    },
    {
      name: 'too old',
      headers: signedHeaders(`${REFERENCE_TIME / 1000 - 301}`),
      code: 'HR_ERR_SIG_TIMESTAMP_TOO_OLD',
    },
    {
      name: 'too far in the future',
      headers: signedHeaders(`${REFERENCE_TIME / 1000 + 301}`),
      code: 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE',
    },
    // The spec says seconds; a millisecond value is not guessed at here.
    {
      name: 'milliseconds timestamp',
      headers: signedHeaders(`${REFERENCE_TIME}`),
      code: 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE',
    },
    {
      name: 'bad base64',
      headers: { ...good, 'webhook-signature': 'v1,not*base64!' },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'truncated signature',
      headers: { ...good, 'webhook-signature': good['webhook-signature']!.slice(0, -8) },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'no version prefix',
      headers: { ...good, 'webhook-signature': good['webhook-signature']!.slice(3) },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'only an unsupported version (v1a)',
      headers: { ...good, 'webhook-signature': good['webhook-signature']!.replace('v1,', 'v1a,') },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'wrong secret',
      headers: signedHeaders(NOW_SECONDS, BODY, OLD_SECRET),
      code: 'HR_ERR_SIG_MISMATCH',
    },
    { name: 'body changed by one byte', headers: good, body: flipped, code: 'HR_ERR_SIG_MISMATCH' },
    {
      name: 'timestamp changed',
      headers: { ...good, 'webhook-timestamp': `${REFERENCE_TIME / 1000 - 1}` },
      code: 'HR_ERR_SIG_MISMATCH',
    },
    { name: 'id changed', headers: { ...good, 'webhook-id': 'msg_other' }, code: 'HR_ERR_SIG_MISMATCH' },
    {
      name: 'duplicated signature header',
      headers: { ...good, 'webhook-signature': [good['webhook-signature']!, good['webhook-signature']!] },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'duplicated id header',
      headers: { ...good, 'webhook-id': [ID, 'msg_other'] },
      code: 'HR_ERR_SIG_MALFORMED',
    },
  ];
  it.each(cases)('$name', ({ headers, body, code }) => {
    expect(verify(headers, body ?? BODY, REFERENCE_TIME)).toEqual({ ok: false, code });
  });
});

describe('standard webhooks verifier accepts', () => {
  const good = signedHeaders();
  const wrong = signedHeaders(NOW_SECONDS, BODY, OLD_SECRET)['webhook-signature']!;
  it.each([
    { name: 'one signature', signature: good['webhook-signature']! },
    { name: 'several signatures, the matching one last', signature: `${wrong} ${good['webhook-signature']}` },
    {
      name: 'several signatures, the matching one first',
      signature: `${good['webhook-signature']} ${wrong}`,
    },
    {
      name: 'an asymmetric entry beside the v1 one',
      signature: `v1a,${'A'.repeat(86)}== ${good['webhook-signature']}`,
    },
    { name: 'a malformed entry beside the v1 one', signature: `v1,%%% ${good['webhook-signature']}` },
  ])('$name', ({ signature }) => {
    expect(verify({ ...good, 'webhook-signature': signature }, BODY, REFERENCE_TIME)).toEqual({
      ok: true,
      secretIndex: 0,
      timestampMs: REFERENCE_TIME,
    });
  });

  it('either secret during a rotation, saying which matched', () => {
    const rotating = createStandardWebhooksVerifier({
      type: 'standard-webhooks',
      secrets: [OLD_SECRET, SECRET],
      toleranceMs: TOLERANCE_MS,
    });
    expect(rotating(good, BODY, REFERENCE_TIME)).toEqual({
      ok: true,
      secretIndex: 1,
      timestampMs: REFERENCE_TIME,
    });
  });

  it('a secret given without the whsec_ prefix', () => {
    const bare = createStandardWebhooksVerifier({
      type: 'standard-webhooks',
      secrets: [SECRET.slice(6)],
      toleranceMs: TOLERANCE_MS,
    });
    expect(bare(good, BODY, REFERENCE_TIME)).toMatchObject({ ok: true });
  });
});

describe('signStandardWebhook', () => {
  it('matches the spec recipe for a Buffer body and a string timestamp', () => {
    expect(signStandardWebhook({ id: ID, timestamp: NOW_SECONDS, body: BODY, secret: SECRET })).toBe(
      expectedSignature(ID, NOW_SECONDS, BODY),
    );
  });

  it('throws HR_ERR_CONFIG_INVALID for a secret that is not base64', () => {
    expect(() =>
      signStandardWebhook({ id: ID, timestamp: 1, body: '', secret: 'whsec_not base64!' }),
    ).toThrow(expect.objectContaining({ code: 'HR_ERR_CONFIG_INVALID' }));
  });
});

describe('standardWebhookKey', () => {
  it.each([
    { secret: VECTOR.secret, hex: Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64').toString('hex') },
    {
      secret: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      hex: Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64').toString('hex'),
    },
    { secret: 'whsec_***', hex: undefined },
  ])('$secret', ({ secret, hex }) => {
    expect(standardWebhookKey(secret)?.toString('hex')).toBe(hex);
  });

  it('the verifier refuses to start with an undecodable secret', () => {
    expect(() =>
      createStandardWebhooksVerifier({
        type: 'standard-webhooks',
        secrets: ['whsec_***'],
        toleranceMs: TOLERANCE_MS,
      }),
    ).toThrow(expect.objectContaining({ code: 'HR_ERR_CONFIG_INVALID' }));
  });
});
