import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sampleActivityEvent } from '../cli/send-samples.js';
import { systemClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { createMetrics, type Metrics } from '../lib/metrics.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store.js';
import { BodyErrorCode } from './read-body.js';
import { createIngestSource } from './source.js';
import {
  createWebhookHandler,
  isWellFormedMediaType,
  type WebhookHandler,
  type WebhookRequest,
} from './webhook-handler.js';

const SECRET = 'handler-test-secret-0123456789';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  source?: string;
  code?: string;
}

let store: SqliteStore;
let metrics: Metrics;
let lines: Line[];
let handler: WebhookHandler;

beforeEach(async () => {
  store = await openSqliteStore(':memory:');
  metrics = createMetrics();
  lines = [];
  const logger = createLogger('debug', { write: (chunk: string) => lines.push(JSON.parse(chunk) as Line) });
  const source = createIngestSource('tp', {
    verifier: { type: 'trackpilots', secrets: [SECRET], toleranceMs: 300_000 },
    maxBodyBytes: 4096,
  });
  handler = createWebhookHandler({
    getSource: (name) => (name === 'tp' ? source : undefined),
    trustProxyHops: () => 0,
    events: store.events,
    clock: systemClock,
    metrics,
    logger,
  });
});
afterEach(async () => {
  await store.close().catch(() => undefined);
});

function signed(body: string, requestId = 'req-t1'): WebhookRequest {
  const timestamp = String(Date.now());
  const signature = createHmac('sha256', SECRET).update(`${timestamp}.`).update(body).digest('hex');
  return {
    name: 'tp',
    headers: {
      'content-type': 'application/json',
      'x-webhook-timestamp': timestamp,
      'x-webhook-signature': signature,
    },
    peer: '127.0.0.1',
    requestId,
  };
}

const counted = async (source: string, outcome: string) =>
  (await metrics.webhooksReceived.get()).values.find(
    (value) => value.labels.source === source && value.labels.outcome === outcome,
  )?.value ?? 0;

describe('createWebhookHandler', () => {
  it('stores a signed event and answers 200 with what was stored, a duplicate with duplicates: 1', async () => {
    const body = JSON.stringify(sampleActivityEvent({ userId: 'handler-user' }));
    const request = signed(body);
    expect(handler.admit(request).ok).toBe(true);
    const first = await handler.accept(request, Buffer.from(body));
    expect(first).toEqual({ status: 200, body: '{"ok":true,"stored":1,"duplicates":0}', headers: {} });
    const again = await handler.accept(signed(body), Buffer.from(body));
    expect(JSON.parse(again.body)).toEqual({ ok: true, stored: 0, duplicates: 1 });
    expect(await counted('tp', 'accepted')).toBe(2);
    expect(lines).toEqual([]);
  });

  it('refuses a bad signature 401 with a generic reason, and logs the precise one with the request id', async () => {
    const body = JSON.stringify(sampleActivityEvent());
    const request = {
      ...signed(body, 'req-zz'),
      headers: { ...signed(body).headers, 'x-webhook-signature': 'ab' },
    };
    const answer = await handler.accept(request, Buffer.from(body));
    expect(answer).toEqual({
      status: 401,
      body: '{"error":"unauthorized"}',
      headers: { 'cache-control': 'no-store' },
    });
    expect(lines).toMatchObject([
      { level: 40, msg: 'webhook signature refused', reqId: 'req-zz', source: 'tp' },
    ]);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('answers a refusal before the body: unknown source, content type, declared length', () => {
    const head = (name: string, headers: Record<string, string>): WebhookRequest => ({
      name,
      headers,
      peer: '127.0.0.1',
      requestId: 'req-h',
    });
    const answer = (request: WebhookRequest) => {
      const admission = handler.admit(request);
      return admission.ok ? undefined : { status: admission.answer.status, body: admission.answer.body };
    };
    expect(answer(head('nope', {}))).toEqual({ status: 404, body: '{"error":"unknown source"}' });
    expect(answer(head('tp', { 'content-type': 'text/plain' }))).toEqual({
      status: 415,
      body: '{"error":"content type must be application/json"}',
    });
    expect(answer(head('tp', { 'content-length': '5000' }))).toEqual({
      status: 413,
      body: '{"error":"payload too large"}',
    });
    expect(answer(head('tp', { 'content-type': '' }))).toEqual({
      status: 415,
      body: '{"error":"bad request"}',
    });
    expect(
      answer(head('tp', { 'content-type': 'application/json', 'content-length': '4096' })),
    ).toBeUndefined();
  });

  it('answers a body the reader stopped: 413 and 503 keep the connection unannounced, 400 closes it', () => {
    const request = signed('{}');
    const failure = (code: string) => Object.assign(new Error(code), { code });
    expect(handler.bodyFailed(request, failure(BodyErrorCode.tooLarge))).toMatchObject({
      status: 413,
      connection: 'unannounced',
    });
    expect(handler.bodyFailed(request, failure(BodyErrorCode.busy))).toMatchObject({
      status: 503,
      headers: { 'retry-after': '1', 'cache-control': 'no-store' },
      connection: 'unannounced',
    });
    expect(handler.bodyFailed(request, failure(BodyErrorCode.badRequest))).toMatchObject({
      status: 400,
      body: '{"error":"bad request"}',
      connection: 'close',
    });
  });

  it('answers 503 with Retry-After when the store cannot append, logging no stack', async () => {
    await store.close();
    const body = JSON.stringify(sampleActivityEvent({ userId: 'after-close' }));
    const answer = await handler.accept(signed(body), Buffer.from(body));
    expect(answer).toEqual({
      status: 503,
      body: '{"error":"temporarily unavailable"}',
      headers: { 'retry-after': '5', 'cache-control': 'no-store' },
    });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(lines).toMatchObject([{ level: 20, msg: 'event log unavailable', code: 'HR_ERR_STORE_CLOSED' }]);
  });
});

describe('isWellFormedMediaType', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['APPLICATION/JSON', true],
    ['application/json;;;', true],
    ['application/vnd.x+json ; v=1', true],
    ['', false],
    ['json', false],
    ['application/ json', false],
    ['application/json ; charset', true],
    ['/json', false],
  ])('%j → %s', (header, valid) => {
    expect(isWellFormedMediaType(header)).toBe(valid);
  });
});
