import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createGenericHmacVerifier, type GenericHmacVerifierConfig } from './generic-hmac.js';

const REFERENCE_TIME = Date.UTC(2026, 0, 28, 9, 5, 0);
const NOW_SECONDS = `${REFERENCE_TIME / 1000}`;
const TOLERANCE_MS = 5 * 60_000;
const SECRET = 'generic-secret';
const BODY = Buffer.from('{"type":"build.failed","user":"u-1"}');

function hmac(message: string, encoding: 'hex' | 'base64', algorithm = 'sha256', secret = SECRET): string {
  return createHmac(algorithm, secret).update(message).digest(encoding);
}

function verifier(config: Partial<GenericHmacVerifierConfig>) {
  return createGenericHmacVerifier({
    type: 'hmac',
    secrets: [SECRET],
    toleranceMs: TOLERANCE_MS,
    header: 'x-signature',
    encoding: 'hex',
    ...config,
  });
}

describe('generic hmac verifier accepts', () => {
  const body = BODY.toString();
  it.each([
    {
      name: 'hex of the body',
      config: {},
      headers: { 'x-signature': hmac(body, 'hex') },
      timestampMs: undefined,
    },
    {
      name: 'base64 of the body',
      config: { encoding: 'base64' as const },
      headers: { 'x-signature': hmac(body, 'base64') },
      timestampMs: undefined,
    },
    {
      name: 'a GitHub-style prefix and header name in any case',
      config: { header: 'X-Hub-Signature-256', prefix: 'sha256=' },
      headers: { 'x-hub-signature-256': `sha256=${hmac(body, 'hex')}` },
      timestampMs: undefined,
    },
    {
      name: 'sha1',
      config: { algorithm: 'sha1' as const },
      headers: { 'x-signature': hmac(body, 'hex', 'sha1') },
      timestampMs: undefined,
    },
    {
      name: 'sha512',
      config: { algorithm: 'sha512' as const },
      headers: { 'x-signature': hmac(body, 'hex', 'sha512') },
      timestampMs: undefined,
    },
    {
      name: 'the default {timestamp}.{body} with a timestamp header',
      config: { timestampHeader: 'X-Timestamp' },
      headers: { 'x-signature': hmac(`${NOW_SECONDS}.${body}`, 'hex'), 'x-timestamp': NOW_SECONDS },
      timestampMs: REFERENCE_TIME,
    },
    {
      name: 'a custom template, millisecond timestamp',
      config: { timestampHeader: 'x-ts', signedContent: 'v0:{timestamp}:{body}' },
      headers: { 'x-signature': hmac(`v0:${REFERENCE_TIME}:${body}`, 'hex'), 'x-ts': `${REFERENCE_TIME}` },
      timestampMs: REFERENCE_TIME,
    },
    {
      name: 'several signatures, comma separated',
      config: { prefix: 'v1=' },
      headers: { 'x-signature': `v1=${hmac(body, 'hex', 'sha256', 'old')},v1=${hmac(body, 'hex')}` },
      timestampMs: undefined,
    },
  ])('$name', ({ config, headers, timestampMs }) => {
    const result = verifier(config)(headers, BODY, REFERENCE_TIME);
    expect(result).toEqual(
      timestampMs === undefined ? { ok: true, secretIndex: 0 } : { ok: true, secretIndex: 0, timestampMs },
    );
  });

  it('either secret during a rotation, saying which matched', () => {
    const check = verifier({ secrets: ['old', SECRET] });
    expect(check({ 'x-signature': hmac(body, 'hex') }, BODY, REFERENCE_TIME)).toEqual({
      ok: true,
      secretIndex: 1,
    });
  });
});

describe('generic hmac verifier refuses', () => {
  const body = BODY.toString();
  const withTimestamp = { timestampHeader: 'x-timestamp' };
  it.each([
    { name: 'missing signature', config: {}, headers: {}, code: 'HR_ERR_SIG_MISSING' },
    {
      name: 'missing timestamp',
      config: withTimestamp,
      headers: { 'x-signature': hmac(`${NOW_SECONDS}.${body}`, 'hex') },
      code: 'HR_ERR_SIG_TIMESTAMP_MISSING',
    },
    {
      name: 'non-numeric timestamp',
      config: withTimestamp,
      headers: { 'x-signature': hmac(`now.${body}`, 'hex'), 'x-timestamp': 'now' },
      code: 'HR_ERR_SIG_TIMESTAMP_INVALID',
    },
    {
      name: 'too old',
      config: withTimestamp,
      headers: { 'x-signature': hmac(`1000.${body}`, 'hex'), 'x-timestamp': '1000' },
      code: 'HR_ERR_SIG_TIMESTAMP_TOO_OLD',
    },
    {
      name: 'timestamp changed',
      config: withTimestamp,
      headers: {
        'x-signature': hmac(`${NOW_SECONDS}.${body}`, 'hex'),
        'x-timestamp': `${REFERENCE_TIME / 1000 + 1}`,
      },
      code: 'HR_ERR_SIG_MISMATCH',
    },
    { name: 'bad hex', config: {}, headers: { 'x-signature': 'xyz' }, code: 'HR_ERR_SIG_MALFORMED' },
    {
      name: 'hex where base64 is configured',
      config: { encoding: 'base64' as const },
      headers: { 'x-signature': hmac(body, 'hex') },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'prefix missing',
      config: { prefix: 'sha256=' },
      headers: { 'x-signature': hmac(body, 'hex') },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'wrong secret',
      config: {},
      headers: { 'x-signature': hmac(body, 'hex', 'sha256', 'other') },
      code: 'HR_ERR_SIG_MISMATCH',
    },
    {
      name: 'sha1 signature where sha256 is configured',
      config: {},
      headers: { 'x-signature': hmac(body, 'hex', 'sha1') },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'duplicated signature header',
      config: {},
      headers: { 'x-signature': [hmac(body, 'hex'), hmac(body, 'hex')] },
      code: 'HR_ERR_SIG_MALFORMED',
    },
  ])('$name', ({ config, headers, code }) => {
    expect(verifier(config)(headers, BODY, REFERENCE_TIME)).toEqual({ ok: false, code });
  });

  it('body changed by one byte', () => {
    const changed = Buffer.from(BODY);
    changed[0] = 0x20;
    expect(verifier({})({ 'x-signature': hmac(body, 'hex') }, changed, REFERENCE_TIME)).toEqual({
      ok: false,
      code: 'HR_ERR_SIG_MISMATCH',
    });
  });
});

describe('generic hmac config', () => {
  it.each([
    {
      name: 'no {body}',
      config: { signedContent: '{timestamp}', timestampHeader: 'x-ts' },
      message: /\{body\} exactly once/,
    },
    { name: '{body} twice', config: { signedContent: '{body}{body}' }, message: /\{body\} exactly once/ },
    {
      name: 'an unknown placeholder',
      config: { signedContent: '{id}.{body}' },
      message: /unknown placeholder \{id\}/,
    },
    {
      name: '{timestamp} without a timestamp header',
      config: { signedContent: '{timestamp}.{body}' },
      message: /no timestampHeader/,
    },
    {
      name: 'a timestamp header that is not signed',
      config: { timestampHeader: 'x-ts', signedContent: '{body}' },
      message: /does not sign \{timestamp\}/,
    },
    { name: 'no secrets', config: { secrets: [] }, message: /at least one secret/ },
    { name: 'an empty header name', config: { header: '' }, message: /header/ },
  ])('throws HR_ERR_CONFIG_INVALID for $name', ({ config, message }) => {
    expect(() => verifier(config)).toThrow(
      expect.objectContaining({ code: 'HR_ERR_CONFIG_INVALID', message: expect.stringMatching(message) }),
    );
  });
});
