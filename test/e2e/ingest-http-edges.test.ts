import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { metricValue } from '../helpers/metrics.js';
import { connectRaw, type RawConnection, statusOf, writeAll } from '../helpers/raw-http.js';
import { logEverythingRules } from '../helpers/rules-yaml.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { signedTrackpilotsHeaders } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * The HTTP edges of POST /webhooks/:source, over real sockets to a spawned `hookrelay serve`: request
 * targets, methods, connection handling, 100-continue, request ids. Written against the answers the route
 * gave while it ran on Fastify, so they hold whichever code serves it (issue 14 §2, the ingest fast path).
 */

const SECRET = 'e2e-http-edges-secret-0123456789';
const RULES = logEverythingRules().replace(
  'destinations:',
  `  small:
    type: trackpilots
    secrets: ["\${TP_SECRET}"]
    maxBodySize: 1kb
destinations:`,
);

let serial = 0;
function signedRequest(
  target: string,
  options: { user?: string; headers?: Record<string, string>; method?: string; version?: string } = {},
): string {
  const body = JSON.stringify(sampleActivityEvent({ userId: options.user ?? `edge-${serial++}` }));
  const headers = { ...signedTrackpilotsHeaders(body, SECRET), ...options.headers };
  return [
    `${options.method ?? 'POST'} ${target} HTTP/${options.version ?? '1.1'}`,
    'Host: 127.0.0.1',
    ...Object.entries(headers).map(([key, value]) => `${key}: ${value}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** responsesIn splits what a connection received into complete responses (Content-Length bodies only). */
function responsesIn(text: string): Response[] {
  const responses: Response[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const [statusLine = '', ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    const length = status === 100 ? 0 : Number(headers['content-length'] ?? 0);
    if (rest.length < headEnd + 4 + length) break;
    responses.push({ status, headers, body: rest.slice(headEnd + 4, headEnd + 4 + length) });
    rest = rest.slice(headEnd + 4 + length);
  }
  return responses;
}

async function responses(connection: RawConnection, count: number): Promise<Response[]> {
  await waitFor(`${count} response(s)`, () => responsesIn(connection.received()).length >= count, {
    timeoutMs: 15_000,
    explain: () => connection.received(),
  });
  return responsesIn(connection.received());
}

/** exchange sends `data` on a fresh connection and returns the first answer; the connection stays open. */
async function exchange(
  url: string,
  data: string,
): Promise<{ response: Response; connection: RawConnection }> {
  const connection = await connectRaw(url);
  await writeAll(connection.socket, data);
  const [response] = await responses(connection, 1);
  if (!response) throw new Error('no response');
  return { response, connection };
}

describe('hookrelay serve: HTTP edges of POST /webhooks/:source', () => {
  let server: ServerProcess;
  const open: RawConnection[] = [];

  beforeAll(async () => {
    server = await startServer({ rulesYaml: RULES, env: { TP_SECRET: SECRET } });
  });
  afterAll(async () => {
    for (const connection of open) connection.socket.destroy();
    await server?.stop();
  });

  const send = async (data: string) => {
    const result = await exchange(server.url, data);
    open.push(result.connection);
    return result;
  };

  test('an accepted event: 200, JSON, kept alive, no cache-control; a refusal carries cache-control: no-store', async () => {
    const { response } = await send(signedRequest('/webhooks/trackpilots'));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ok: true, stored: 1, duplicates: 0 });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers.connection).toBe('keep-alive');
    expect(response.headers['cache-control']).toBeUndefined();

    const refused = await send(
      signedRequest('/webhooks/trackpilots', { headers: { 'x-webhook-signature': '00' } }),
    );
    expect(refused.response.status).toBe(401);
    expect(JSON.parse(refused.response.body)).toEqual({ error: 'unauthorized' });
    expect(refused.response.headers['cache-control']).toBe('no-store');
    expect(refused.response.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test.each([
    { target: '/webhooks/trackpilots?via=edge-test', status: 200 },
    { target: '/webhooks/trackpilots?', status: 200 },
    { target: '/webhooks/trackpilots#fragment', status: 200 },
    // The router decodes the name: %70 is "p".
    { target: '/webhooks/track%70ilots', status: 200 },
    { target: 'http://127.0.0.1/webhooks/trackpilots', status: 200 },
    { target: '/webhooks/', status: 404, error: 'unknown source' },
    { target: '/webhooks/?x=1', status: 404, error: 'unknown source' },
    { target: '/webhooks/trackpilots;v=1', status: 404, error: 'unknown source' },
    { target: '/webhooks/track%2Fpilots', status: 404, error: 'unknown source' },
    { target: '/webhooks/trackpilots/', status: 404 },
    { target: '/webhooks/trackpilots/extra', status: 404 },
    { target: '/webhooks//trackpilots', status: 404 },
    { target: '/Webhooks/trackpilots', status: 404 },
    { target: '/webhooks', status: 404 },
    { target: '/webhooks/%zz', status: 400 },
    { target: `/webhooks/${'a'.repeat(101)}`, status: 414 },
    { target: `/webhooks/${'a'.repeat(100)}`, status: 404, error: 'unknown source' },
  ])('POST $target → $status', async ({ target, status, error }) => {
    const { response } = await send(signedRequest(target));
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    if (status === 200) expect(JSON.parse(response.body)).toMatchObject({ ok: true, stored: 1 });
    if (error !== undefined) expect(JSON.parse(response.body)).toEqual({ error });
  });

  test.each(['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])(
    '%s /webhooks/trackpilots → 404, nothing stored',
    async (method) => {
      const before = await metricValue(server.url, 'hookrelay_events_stored_total', {
        source: 'trackpilots',
      });
      const connection = await connectRaw(server.url);
      open.push(connection);
      await writeAll(connection.socket, signedRequest('/webhooks/trackpilots', { method }));
      // Read the status line only: a HEAD answer declares a length it sends no body for.
      await waitFor('the answer', () => statusOf(connection.received()) !== undefined, { timeoutMs: 15_000 });
      expect(statusOf(connection.received())).toBe(404);
      expect(await metricValue(server.url, 'hookrelay_events_stored_total', { source: 'trackpilots' })).toBe(
        before,
      );
    },
  );

  test('Expect: 100-continue: 100 Continue first, then the answer once the body is sent', async () => {
    const full = signedRequest('/webhooks/trackpilots', { headers: { expect: '100-continue' } });
    const split = full.indexOf('\r\n\r\n') + 4;
    const connection = await connectRaw(server.url);
    open.push(connection);
    await writeAll(connection.socket, full.slice(0, split));
    const [interim] = await responses(connection, 1);
    expect(interim?.status).toBe(100);
    await writeAll(connection.socket, full.slice(split));
    const [, final] = await responses(connection, 2);
    expect(final?.status).toBe(200);
  });

  test('pipelined requests on one kept-alive connection are answered in order, and it stays open', async () => {
    const connection = await connectRaw(server.url);
    open.push(connection);
    await writeAll(
      connection.socket,
      signedRequest('/webhooks/trackpilots') +
        signedRequest('/webhooks/nope') +
        signedRequest('/webhooks/trackpilots', { headers: { 'content-type': 'text/plain' } }) +
        'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    );
    const answers = await responses(connection, 4);
    expect(answers.map((answer) => answer.status)).toEqual([200, 404, 415, 200]);
    expect(answers.map((answer) => answer.headers.connection)).toEqual(answers.map(() => 'keep-alive'));
    expect(connection.socket.destroyed).toBe(false);
  });

  test.each([
    {
      name: 'Connection: close',
      data: () => signedRequest('/webhooks/trackpilots', { headers: { connection: 'close' } }),
    },
    { name: 'HTTP/1.0', data: () => signedRequest('/webhooks/trackpilots', { version: '1.0' }) },
  ])('$name: answered, then the server closes the connection', async ({ data }) => {
    const connection = await connectRaw(server.url);
    await writeAll(connection.socket, data());
    const text = await connection.closed;
    expect(statusOf(text)).toBe(200);
    expect(responsesIn(text)[0]?.headers.connection).toBe('close');
  });

  test('a body over the limit while it arrives: 413 readable, no Connection header, the connection serves on', async () => {
    const connection = await connectRaw(server.url);
    open.push(connection);
    await writeAll(
      connection.socket,
      'POST /webhooks/small HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `800\r\n${'x'.repeat(2048)}\r\n`,
    );
    const [refused] = await responses(connection, 1);
    expect(refused?.status).toBe(413);
    expect(JSON.parse(refused?.body ?? '')).toEqual({ error: 'payload too large' });
    expect(refused?.headers.connection).toBeUndefined();
    await writeAll(
      connection.socket,
      `10\r\n${'y'.repeat(16)}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    );
    const [, next] = await responses(connection, 2);
    expect(next?.status).toBe(200);
  });

  test.each([
    { name: 'an empty Content-Type', contentType: '' },
    { name: 'a Content-Type that is no media type', contentType: 'json' },
  ])('$name → 415 bad request', async ({ contentType }) => {
    const before = await metricValue(server.url, 'hookrelay_webhooks_received_total', {
      source: 'trackpilots',
      outcome: 'HR_ERR_INGEST_BAD_REQUEST',
    });
    const body = '{}';
    const { response } = await send(
      `POST /webhooks/trackpilots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: 2\r\n\r\n${body}`,
    );
    expect(response.status).toBe(415);
    expect(JSON.parse(response.body)).toEqual({
      error: contentType === '' ? 'bad request' : 'content type must be application/json',
    });
    if (contentType === '') {
      expect(
        await metricValue(server.url, 'hookrelay_webhooks_received_total', {
          source: 'trackpilots',
          outcome: 'HR_ERR_INGEST_BAD_REQUEST',
        }),
      ).toBe(before + 1);
    }
  });

  test('every log line of a request carries its own request id', async () => {
    const marker = `reqid-${Date.now()}`;
    for (let i = 0; i < 2; i++) {
      const { response } = await send(
        signedRequest(`/webhooks/trackpilots?${marker}`, { headers: { 'x-webhook-signature': `${i}0` } }),
      );
      expect(response.status).toBe(401);
    }
    // The route answered an encoded name through Fastify's router: its ids come from the same sequence.
    const { response } = await send(
      signedRequest('/webhooks/track%70ilots', { headers: { 'x-webhook-signature': '20' } }),
    );
    expect(response.status).toBe(401);
    let ids: string[] = [];
    await waitFor('three refusal lines', () => {
      ids = server.lines
        .filter((line) => line.includes('webhook signature refused'))
        .map((line) => (JSON.parse(line) as { reqId?: string }).reqId ?? '');
      return ids.length >= 3;
    });
    const last = ids.slice(-3);
    for (const id of last) expect(id).toMatch(/^req-[0-9a-z]+$/);
    expect(new Set(last).size).toBe(3);
  });
});

describe('hookrelay serve: POST /webhooks/:source while it stops', () => {
  test('a request in flight on SIGTERM is answered 200 with Connection: close', async () => {
    const server = await startServer({ rulesYaml: RULES, env: { TP_SECRET: SECRET } });
    const full = signedRequest('/webhooks/trackpilots', { user: 'in-flight-edge' });
    const split = full.indexOf('\r\n\r\n') + 10;
    const connection = await connectRaw(server.url);
    await writeAll(connection.socket, full.slice(0, split));
    await waitFor(
      'the body bytes held',
      async () => (await metricValue(server.url, 'hookrelay_ingest_buffered_bytes')) > 0,
    );
    server.child.kill('SIGTERM');
    await waitFor('the stopping log line', () =>
      server.lines.some((line) => line.includes('stopping: finishing requests in flight')),
    );
    await writeAll(connection.socket, full.slice(split));
    const text = await connection.closed;
    const [answer] = responsesIn(text);
    expect(answer?.status).toBe(200);
    expect(answer?.headers.connection).toBe('close');
    expect(await server.exited).toBe(0);
  });
});
