import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeaderMap } from './result.js';
import { createTrackpilotsVerifier, signTrackpilots } from './trackpilots.js';

const REFERENCE_TIME = Date.UTC(2026, 0, 28, 9, 5, 0);
const NOW_SECONDS = `${REFERENCE_TIME / 1000}`;
const NOW_MS = `${REFERENCE_TIME + 308}`;
const TOLERANCE_MS = 5 * 60_000;
const SECRET = 'tp_whsec_3c90c3cc0d444b508888';
const OLD_SECRET = 'tp_whsec_previous';
const BODY = Buffer.from(
  '{"event":"desktop.app_tracking.captured","version":"v1","timestamp":1769591100000,"data":[]}',
);

/** Computed independently of the verifier and of signTrackpilots: one string, one HMAC call. */
function expectedSignature(timestamp: string, body: Buffer | string, secret = SECRET): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body.toString()}`).digest('hex');
}

function signedHeaders(
  timestamp = NOW_SECONDS,
  body: Buffer | string = BODY,
  secret = SECRET,
): Record<string, string> {
  return {
    'x-webhook-timestamp': timestamp,
    'x-webhook-signature': expectedSignature(timestamp, body, secret),
  };
}

const verify = createTrackpilotsVerifier({
  type: 'trackpilots',
  secrets: [SECRET],
  toleranceMs: TOLERANCE_MS,
});

describe('trackpilots verifier refuses', () => {
  const flipped = Buffer.from(BODY);
  flipped[10] = flipped[10]! ^ 0x01;
  const cases: { name: string; headers: HeaderMap; body?: Buffer; code: string }[] = [
    {
      name: 'missing signature',
      headers: { 'x-webhook-timestamp': NOW_SECONDS },
      code: 'HR_ERR_SIG_MISSING',
    },
    {
      name: 'empty signature',
      headers: { ...signedHeaders(), 'x-webhook-signature': '' },
      code: 'HR_ERR_SIG_MISSING',
    },
    {
      name: 'missing timestamp',
      headers: { 'x-webhook-signature': signedHeaders()['x-webhook-signature'] },
      code: 'HR_ERR_SIG_TIMESTAMP_MISSING',
    },
    // Signed correctly over the bad value: the timestamp check itself must refuse.
    { name: 'non-numeric timestamp', headers: signedHeaders('soon'), code: 'HR_ERR_SIG_TIMESTAMP_INVALID' },
    {
      name: 'fractional timestamp',
      headers: signedHeaders(`${NOW_SECONDS}.25`),
      code: 'HR_ERR_SIG_TIMESTAMP_INVALID',
    },
    {
      name: 'too old (seconds)',
      headers: signedHeaders(`${REFERENCE_TIME / 1000 - 301}`),
      code: 'HR_ERR_SIG_TIMESTAMP_TOO_OLD',
    },
    {
      name: 'too old (milliseconds)',
      headers: signedHeaders(`${REFERENCE_TIME - TOLERANCE_MS - 1}`),
      code: 'HR_ERR_SIG_TIMESTAMP_TOO_OLD',
    },
    {
      name: 'too far in the future (seconds)',
      headers: signedHeaders(`${REFERENCE_TIME / 1000 + 301}`),
      code: 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE',
    },
    {
      name: 'too far in the future (milliseconds)',
      headers: signedHeaders(`${REFERENCE_TIME + TOLERANCE_MS + 1}`),
      code: 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE',
    },
    {
      name: 'bad hex',
      headers: { ...signedHeaders(), 'x-webhook-signature': 'zz'.repeat(32) },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'odd-length hex',
      headers: {
        ...signedHeaders(),
        'x-webhook-signature': signedHeaders()['x-webhook-signature']!.slice(1),
      },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'truncated hex',
      headers: {
        ...signedHeaders(),
        'x-webhook-signature': signedHeaders()['x-webhook-signature']!.slice(2),
      },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'base64 instead of hex',
      headers: {
        ...signedHeaders(),
        'x-webhook-signature': Buffer.from(signedHeaders()['x-webhook-signature']!, 'hex').toString('base64'),
      },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'wrong secret',
      headers: signedHeaders(NOW_SECONDS, BODY, 'not-the-secret'),
      code: 'HR_ERR_SIG_MISMATCH',
    },
    {
      name: 'body changed by one byte',
      headers: signedHeaders(),
      body: flipped,
      code: 'HR_ERR_SIG_MISMATCH',
    },
    {
      name: 'body re-serialised (whitespace added)',
      headers: signedHeaders(),
      body: Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 1)),
      code: 'HR_ERR_SIG_MISMATCH',
    },
    {
      name: 'timestamp changed',
      headers: { ...signedHeaders(), 'x-webhook-timestamp': `${REFERENCE_TIME / 1000 + 1}` },
      code: 'HR_ERR_SIG_MISMATCH',
    },
    // The same instant written differently is different signed bytes: the header is signed as received.
    {
      name: 'timestamp re-formatted (leading zero)',
      headers: { ...signedHeaders(), 'x-webhook-timestamp': `0${NOW_SECONDS}` },
      code: 'HR_ERR_SIG_MISMATCH',
    },
    {
      name: 'duplicated signature header',
      headers: { ...signedHeaders(), 'x-webhook-signature': [signedHeaders()['x-webhook-signature']!, 'aa'] },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'duplicated timestamp header',
      headers: { ...signedHeaders(), 'x-webhook-timestamp': [NOW_SECONDS, NOW_SECONDS] },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    // Node joins a repeated custom header with ", " in req.headers.
    {
      name: 'duplicated signature header joined by Node',
      headers: {
        ...signedHeaders(),
        'x-webhook-signature': `${signedHeaders()['x-webhook-signature']}, ${signedHeaders()['x-webhook-signature']}`,
      },
      code: 'HR_ERR_SIG_MALFORMED',
    },
    {
      name: 'header names read case-sensitively as Node gives them (lower-case)',
      headers: {
        'X-Webhook-Signature': signedHeaders()['x-webhook-signature'],
        'x-webhook-timestamp': NOW_SECONDS,
      },
      code: 'HR_ERR_SIG_MISSING',
    },
  ];
  it.each(cases)('$name', ({ headers, body, code }) => {
    expect(verify(headers, body ?? BODY, REFERENCE_TIME)).toEqual({ ok: false, code });
  });
});

describe('trackpilots verifier accepts', () => {
  const signature = signedHeaders()['x-webhook-signature']!;
  const cases: { name: string; headers: HeaderMap; timestampMs: number }[] = [
    { name: 'seconds timestamp', headers: signedHeaders(), timestampMs: REFERENCE_TIME },
    { name: 'milliseconds timestamp', headers: signedHeaders(NOW_MS), timestampMs: REFERENCE_TIME + 308 },
    {
      name: 'upper-case hex',
      headers: { ...signedHeaders(), 'x-webhook-signature': signature.toUpperCase() },
      timestampMs: REFERENCE_TIME,
    },
    {
      name: 'sha256= prefix',
      headers: { ...signedHeaders(), 'x-webhook-signature': `sha256=${signature}` },
      timestampMs: REFERENCE_TIME,
    },
    {
      name: 'SHA256= prefix, upper-case hex',
      headers: { ...signedHeaders(), 'x-webhook-signature': `SHA256=${signature.toUpperCase()}` },
      timestampMs: REFERENCE_TIME,
    },
    {
      name: 'headers as one-element arrays',
      headers: { 'x-webhook-signature': [signature], 'x-webhook-timestamp': [NOW_SECONDS] },
      timestampMs: REFERENCE_TIME,
    },
    {
      name: 'timestamp at the edge of the tolerance',
      headers: signedHeaders(`${REFERENCE_TIME / 1000 - 300}`),
      timestampMs: REFERENCE_TIME - TOLERANCE_MS,
    },
  ];
  it.each(cases)('$name', ({ headers, timestampMs }) => {
    expect(verify(headers, BODY, REFERENCE_TIME)).toEqual({ ok: true, secretIndex: 0, timestampMs });
  });

  it('an empty body', () => {
    expect(verify(signedHeaders(NOW_SECONDS, ''), Buffer.alloc(0), REFERENCE_TIME)).toMatchObject({
      ok: true,
    });
  });

  it('either secret during a rotation, saying which matched', () => {
    const rotating = createTrackpilotsVerifier({
      type: 'trackpilots',
      secrets: [OLD_SECRET, SECRET],
      toleranceMs: TOLERANCE_MS,
    });
    expect(rotating(signedHeaders(), BODY, REFERENCE_TIME)).toEqual({
      ok: true,
      secretIndex: 1,
      timestampMs: REFERENCE_TIME,
    });
    expect(rotating(signedHeaders(NOW_SECONDS, BODY, OLD_SECRET), BODY, REFERENCE_TIME)).toEqual({
      ok: true,
      secretIndex: 0,
      timestampMs: REFERENCE_TIME,
    });
  });

  it('any body and secret signed the documented way, and refuses any one-byte change', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.string({ minLength: 1 }),
        fc.nat(),
        (bytes, secret, position) => {
          const body = Buffer.from(bytes);
          const check = createTrackpilotsVerifier({
            type: 'trackpilots',
            secrets: [secret],
            toleranceMs: TOLERANCE_MS,
          });
          const signature = createHmac('sha256', Buffer.from(secret))
            .update(`${NOW_SECONDS}.`)
            .update(body)
            .digest('hex');
          const headers = { 'x-webhook-timestamp': NOW_SECONDS, 'x-webhook-signature': signature };
          expect(check(headers, body, REFERENCE_TIME).ok).toBe(true);
          const changed = Buffer.from(body);
          const at = position % changed.length;
          changed[at] = changed[at]! ^ 0xff;
          expect(check(headers, changed, REFERENCE_TIME)).toEqual({ ok: false, code: 'HR_ERR_SIG_MISMATCH' });
        },
      ),
    );
  });
});

describe('signTrackpilots', () => {
  it('matches an independently computed HMAC for string and Buffer bodies', () => {
    expect(signTrackpilots(BODY, SECRET, NOW_SECONDS)).toBe(expectedSignature(NOW_SECONDS, BODY));
    expect(signTrackpilots(BODY.toString(), SECRET, NOW_SECONDS)).toBe(expectedSignature(NOW_SECONDS, BODY));
  });

  it('signs the timestamp string as given (a fixed vector)', () => {
    // HMAC-SHA256(key "secret", "1700000000.{}"), computed once with openssl and kept as a constant.
    expect(signTrackpilots('{}', 'secret', '1700000000')).toBe(
      'b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163',
    );
  });
});

describe('createTrackpilotsVerifier config', () => {
  it.each([
    { name: 'no secrets', secrets: [] },
    { name: 'an empty secret', secrets: [SECRET, ''] },
  ])('throws HR_ERR_CONFIG_INVALID for $name, without echoing a secret', ({ secrets }) => {
    expect(() =>
      createTrackpilotsVerifier({ type: 'trackpilots', secrets, toleranceMs: TOLERANCE_MS }),
    ).toThrow(
      expect.objectContaining({
        code: 'HR_ERR_CONFIG_INVALID',
        message: expect.not.stringContaining(SECRET),
      }),
    );
  });
});
