import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestIds, fastPathSource, withWebhookFastPath } from './webhook-listener.js';

describe('fastPathSource', () => {
  it.each([
    ['/webhooks/trackpilots', 'trackpilots'],
    ['/webhooks/trackpilots?x=1', 'trackpilots'],
    ['/webhooks/trackpilots?', 'trackpilots'],
    ['/webhooks/trackpilots#frag', 'trackpilots'],
    ['/webhooks/a;b', 'a;b'],
    [`/webhooks/${'a'.repeat(100)}`, 'a'.repeat(100)],
  ])('%s is served on the fast path as %s', (url, name) => {
    expect(fastPathSource(url)).toBe(name);
  });

  it.each([
    // Fastify's router decodes these, or answers them itself (414, 400, 404).
    '/webhooks/track%70ilots',
    '/webhooks/%zz',
    `/webhooks/${'a'.repeat(101)}`,
    '/webhooks/',
    '/webhooks/?x',
    '/webhooks',
    '/webhooks/a/',
    '/webhooks/a/b',
    '/webhooks//a',
    '//webhooks/a',
    '/Webhooks/a',
    'http://host/webhooks/a',
    '/healthz',
  ])('%s is left to Fastify', (url) => {
    expect(fastPathSource(url)).toBeUndefined();
  });
});

describe('createRequestIds', () => {
  it("counts in Fastify's format, one sequence per generator", () => {
    const next = createRequestIds();
    expect([next(), next(), next()]).toEqual(['req-1', 'req-2', 'req-3']);
    for (let i = 0; i < 33; i++) next();
    expect(next()).toBe('req-11');
    expect(createRequestIds()()).toBe('req-1');
  });
});

describe('withWebhookFastPath, on a real listener', () => {
  let server: Server;
  let url: string;
  let closing = false;
  const served: string[] = [];

  beforeAll(async () => {
    const fallback: RequestListener = (_request, response) => response.end('fallback');
    const next = createRequestIds();
    server = createServer(
      withWebhookFastPath(
        fallback,
        (_request, response, name, requestId) => {
          served.push(requestId);
          response.end(`fast:${name}`);
        },
        next,
        () => closing,
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const answer = async (method: string, path: string) =>
    (await fetch(`${url}${path}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) })).text();

  it('serves POST /webhooks/<name> itself and hands everything else on', async () => {
    expect(await answer('POST', '/webhooks/trackpilots?x=1')).toBe('fast:trackpilots');
    expect(await answer('GET', '/webhooks/trackpilots')).toBe('fallback');
    expect(await answer('PUT', '/webhooks/trackpilots')).toBe('fallback');
    expect(await answer('POST', '/webhooks/track%70ilots')).toBe('fallback');
    expect(await answer('POST', '/webhooks/trackpilots/')).toBe('fallback');
    expect(await answer('POST', '/integrations/slack/interactions')).toBe('fallback');
    expect(served).toEqual(['req-1']);
  });

  it('once shutdown began, hands every request on (Fastify answers 503 while it drains)', async () => {
    closing = true;
    try {
      expect(await answer('POST', '/webhooks/trackpilots')).toBe('fallback');
    } finally {
      closing = false;
    }
  });
});
