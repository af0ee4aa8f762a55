import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type HttpReceiver,
  settles,
  startHttpReceiver,
  TRICKLE,
} from '../../../test/helpers/http-receiver.js';
import {
  BIDI_CONTROLS,
  BIDI_RAW,
  bidiAlert,
  makeContext,
  makeNotification,
  PNG_1X1,
  REFERENCE_TIME,
  testDeps,
} from '../testdata/fixtures.js';
import type { Destination, SendResult } from '../types.js';
import type { WebhookOptions } from './config.js';
import { webhookConfigSchema, webhookOptionsFromConfig } from './config.js';
import { createWebhookDestination, signStandardWebhook } from './webhook.js';

const HOOK_PATH = '/hooks/catch/123456/s3cr3tHookTokenPathPart/';
const HEADER_SECRET = 'Bearer header-credential-value-42';
const WHSEC = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

let receiver: HttpReceiver;
const open: Destination[] = [];

beforeAll(async () => {
  receiver = await startHttpReceiver();
});
afterAll(async () => {
  await receiver.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
  receiver.reset();
});

function destination(overrides: Partial<WebhookOptions> = {}): Destination {
  const options = webhookOptionsFromConfig(
    webhookConfigSchema.parse({
      type: 'webhook',
      url: `${receiver.origin}${HOOK_PATH}`,
      headers: { authorization: HEADER_SECRET },
      allowPrivateNetworks: true,
    }),
  );
  const d = createWebhookDestination('zapier', { ...options, ...overrides }, testDeps());
  open.push(d);
  return d;
}

function expectNoSecret(result: SendResult, ...secrets: string[]): void {
  const text = JSON.stringify(result);
  for (const secret of [
    HOOK_PATH,
    's3cr3tHookTokenPathPart',
    HEADER_SECRET,
    'header-credential',
    ...secrets,
  ]) {
    expect(text).not.toContain(secret);
  }
}

describe('webhook destination', () => {
  it('POSTs the alert as JSON with webhook-id and the configured headers', async () => {
    const result = await destination().send(makeNotification(), makeContext());
    expect(result).toEqual({ ok: true });
    const [request] = receiver.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(HOOK_PATH);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toBe(HEADER_SECRET);
    expect(request?.headers['webhook-id']).toBe('ntf_01HZXAMPLE0000000000000001');
    expect(request?.headers['webhook-signature']).toBeUndefined();
    const body = JSON.parse(request?.body.toString('utf8') ?? '');
    expect(body).toMatchObject({
      id: 'alert-0001',
      rule: 'unproductive-hour',
      title: 'Unproductive hour: Ada Lovelace',
      key: 'user-ada',
      user: 'user-ada',
      person: { name: 'Ada Lovelace' },
      event: 'desktop.app_tracking.captured',
      at: REFERENCE_TIME,
      value: 1860,
      threshold: { op: 'gte', value: 1800 },
      simulation: false,
    });
  });

  it('never inlines screenshot bytes in the alert JSON', async () => {
    const item = {
      source: 'trackpilots',
      event: 'desktop.screenshot_tracking.captured',
      id: 'shot-1',
      at: REFERENCE_TIME,
      receivedAt: REFERENCE_TIME,
      simulation: false,
      screenshot: {
        id: 'shot-1',
        image: { kind: 'bytes' as const, mime: 'image/png', size: PNG_1X1.length },
      },
      raw: { image: PNG_1X1 },
    };
    await destination().send(
      makeNotification({ item, attachScreenshot: true }),
      makeContext({ image: { bytes: PNG_1X1, mime: 'image/png' } }),
    );
    const text = receiver.requests[0]?.body.toString('utf8') ?? '';
    expect(text).toContain(`<${PNG_1X1.length} bytes omitted>`);
    expect(text).not.toContain(PNG_1X1.toString('base64'));
    expect(text).not.toContain('"data":[');
  });

  it('forwards the received payload byte for byte with body: event', async () => {
    const original = Buffer.from('{"event":"desktop.app_tracking.captured", "data":[{"x":1}]}');
    const result = await destination({ body: 'event' }).send(
      makeNotification(),
      makeContext({ requestBody: original }),
    );
    expect(result.ok).toBe(true);
    expect(receiver.requests[0]?.body.equals(original)).toBe(true);
  });

  it('dead-letters body: event when the request is gone', async () => {
    const result = await destination({ body: 'event' }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'dead' });
    expect(receiver.requests).toHaveLength(0);
  });

  it.each([
    ['a whsec_ secret (base64 key)', WHSEC, Buffer.from('0123456789abcdef0123456789abcdef')],
    ['a plain secret (UTF-8 key)', 'plain-shared-secret', Buffer.from('plain-shared-secret', 'utf8')],
  ])(
    'signs with Standard Webhooks headers using %s, same id on every attempt',
    async (_label, secret, key) => {
      const d = destination({ signingSecret: secret });
      receiver.script({ status: 503 });
      const notification = makeNotification();
      expect((await d.send(notification, makeContext())).ok).toBe(false);
      expect((await d.send(notification, makeContext({ attempt: 2 }))).ok).toBe(true);
      expect(receiver.requests).toHaveLength(2);
      for (const request of receiver.requests) {
        const id = request.headers['webhook-id'];
        const ts = request.headers['webhook-timestamp'];
        expect(id).toBe(notification.id);
        expect(ts).toBe(String(Math.floor(REFERENCE_TIME / 1000)));
        const expected = createHmac('sha256', key)
          .update(`${id}.${ts}.`)
          .update(request.body)
          .digest('base64');
        expect(request.headers['webhook-signature']).toBe(`v1,${expected}`);
      }
      expect(signStandardWebhook(secret, 'x', 1, Buffer.from('{}'))).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    },
  );

  it('reports 429 with Retry-After (seconds and HTTP-date) as rateLimited', async () => {
    const d = destination();
    receiver.script(
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 429, headers: { 'retry-after': new Date(REFERENCE_TIME + 30_000).toUTCString() } },
    );
    expect(await d.send(makeNotification(), makeContext())).toMatchObject({
      ok: false,
      outcome: 'retry',
      reason: 'rateLimited',
      retryAfterMs: 7000,
    });
    expect(await d.send(makeNotification(), makeContext())).toMatchObject({ retryAfterMs: 30_000 });
  });

  it.each([
    [500, 'retry', 'serverError'],
    [502, 'retry', 'serverError'],
    [503, 'retry', 'serverError'],
    [408, 'retry', 'timeout'],
    [425, 'retry', 'clientError'],
    [401, 'broken', 'authError'],
    [403, 'broken', 'authError'],
    [404, 'broken', 'notFound'],
    [410, 'broken', 'notFound'],
    [400, 'dead', 'payloadRejected'],
    [413, 'dead', 'payloadRejected'],
    [422, 'dead', 'payloadRejected'],
    [418, 'dead', 'clientError'],
  ] as const)('classifies HTTP %i as %s/%s without leaking secrets', async (status, outcome, reason) => {
    receiver.script({
      status,
      body: `echo ${HEADER_SECRET} ${HOOK_PATH}`,
    });
    const result = await destination({ signingSecret: WHSEC }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome, reason });
    expect(result.ok || result.detail).toContain(`HTTP ${status}`);
    expectNoSecret(result, WHSEC);
  });

  it('honours Retry-After on 503', async () => {
    receiver.script({ status: 503, headers: { 'retry-after': '2' } });
    expect(await destination().send(makeNotification(), makeContext())).toMatchObject({
      outcome: 'retry',
      reason: 'serverError',
      retryAfterMs: 2000,
    });
  });

  it('does not follow redirects', async () => {
    receiver.script({
      status: 302,
      headers: { location: `${receiver.origin}/elsewhere?token=leak-me-please` },
    });
    const result = await destination().send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'broken', reason: 'clientError' });
    expect(receiver.requests).toHaveLength(1);
    expect(result.ok || result.detail).toContain('redirect not followed');
    expect(JSON.stringify(result)).not.toContain('leak-me-please');
  });

  it('classifies a slow receiver as a timeout', async () => {
    receiver.script({ status: 200, delayMs: 2_000 });
    const result = await destination({ timeoutMs: 200 }).send(makeNotification(), makeContext());
    // Had it waited for the answer, it would be a delivery: the timeout is what ended it.
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
    await receiver.waitForHangUps(1);
  });

  it('bounds the whole attempt: a 2xx whose body trickles is delivered and cut at the timeout', async () => {
    receiver.script({ status: 200, trickle: TRICKLE });
    const result = await settles(
      destination({ timeoutMs: 300 }).send(makeNotification(), makeContext()),
      'a webhook send whose 2xx body trickles',
    );
    // The status is the answer: the receiver accepted the alert, so it is not sent again.
    expect(result).toEqual({
      ok: true,
      detail: expect.stringMatching(
        /^webhook 127\.0\.0\.1:\d+: HTTP 200, but the body did not end within 300 ms/,
      ),
    });
    await receiver.waitForHangUps(1);
  });

  it('bounds the whole attempt: an error body that trickles is cut at the timeout', async () => {
    receiver.script({ status: 503, trickle: TRICKLE });
    const result = await settles(
      destination({ timeoutMs: 300 }).send(makeNotification(), makeContext()),
      'a webhook send whose 5xx body trickles',
    );
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'serverError' });
    await receiver.waitForHangUps(1);
  });

  it('sends the alert JSON without a raw bidirectional control: shown texts neutralised, data escaped', async () => {
    expect(await destination().send(makeNotification(bidiAlert()), makeContext())).toEqual({
      ok: true,
    });
    const text = receiver.requests[0]?.body.toString('utf8') ?? '';
    expect(text).not.toMatch(BIDI_CONTROLS);
    const body = JSON.parse(text);
    expect(body.title).toBe('Title Invoice fdp.exe x y z q r');
    expect(body.item.raw).toEqual(BIDI_RAW);
  });

  it('classifies a caller abort as a retry', async () => {
    receiver.script({ status: 200, delayMs: 2_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await destination().send(makeNotification(), makeContext({ signal: controller.signal }));
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
  });

  it('classifies a refused connection as a network retry', async () => {
    const gone = await startHttpReceiver();
    const url = `${gone.origin}${HOOK_PATH}`;
    await gone.close();
    const result = await destination({ url }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'network' });
    expectNoSecret(result);
  });

  it('reuses its keep-alive connections across sends, whatever the answer', async () => {
    const answers = [204, 200, 503, 429, 404, 302];
    let served = 0;
    let connections = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = answers[served++ % answers.length] ?? 200;
        res.writeHead(status, { location: '/elsewhere' }).end(`answer ${status}`);
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const d = destination({ url: `http://127.0.0.1:${port}${HOOK_PATH}` });
      for (let i = 0; i < 24; i++) await d.send(makeNotification(), makeContext());
      expect(served).toBe(24);
      // undici opens a second socket for the second request before the first signals "drain", then reuses both.
      expect(connections).toBeLessThanOrEqual(2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses loopback unless allowPrivateNetworks is set', async () => {
    const result = await destination({ allowPrivateNetworks: false }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'broken', reason: 'refused' });
    expect(result.ok || result.detail).toContain('127.0.0.1');
    expect(receiver.requests).toHaveLength(0);
    expectNoSecret(result);
  });
});

describe('webhook config', () => {
  it('applies defaults and rejects unknown keys', () => {
    const parsed = webhookConfigSchema.parse({
      type: 'webhook',
      url: 'https://hooks.zapier.com/hooks/catch/1/2/',
    });
    expect(webhookOptionsFromConfig(parsed)).toEqual({
      url: 'https://hooks.zapier.com/hooks/catch/1/2/',
      method: 'POST',
      headers: {},
      body: 'alert',
      timeoutMs: 15_000,
      allowPrivateNetworks: false,
    });
    expect(
      webhookConfigSchema.safeParse({ type: 'webhook', url: 'https://x.example/', sign: {} }).success,
    ).toBe(false);
    expect(webhookConfigSchema.safeParse({ type: 'webhook', url: 'ftp://x.example/' }).success).toBe(false);
  });
});
