import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { metricValue } from '../helpers/metrics.js';
import { bodyOf, connectRaw, type RawConnection, statusOf, writeAll } from '../helpers/raw-http.js';
import { logEverythingRules } from '../helpers/rules-yaml.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { postSigned, signedTrackpilotsHeaders } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Issue 15 §4: unauthenticated clients must not hold memory, connections or descriptors without limit.
 * Every test waits on what the server does (a response, a closed connection, a metric), never on a sleep.
 */

const SECRET = 'e2e-limits-secret-0123456789';
const MB = 1024 * 1024;

const rules = (server: string) => logEverythingRules(`server:\n${server}\n`);

const HEAD = (length: number, headers: Record<string, string> = {}) =>
  [
    'POST /webhooks/trackpilots HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Content-Length: ${length}`,
    ...Object.entries(headers).map(([key, value]) => `${key}: ${value}`),
    '',
    '',
  ].join('\r\n');

async function genuineAccepted(url: string, user: string): Promise<void> {
  const body = JSON.stringify(sampleActivityEvent({ userId: user }));
  const response = await postSigned(`${url}/webhooks/trackpilots`, body, SECRET);
  expect(response).toEqual({ status: 200, body: JSON.stringify({ ok: true, stored: 1, duplicates: 0 }) });
}

const rss = (url: string) => metricValue(url, 'process_resident_memory_bytes');

describe('hookrelay serve: timeouts', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      rulesYaml: rules('  headersTimeout: 1s\n  requestTimeout: 2s\n  maxBufferedSize: 12mb'),
      env: { TP_SECRET: SECRET },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('a body not complete within requestTimeout is answered 408 and the connection closed', async () => {
    const connection = await connectRaw(server.url);
    await writeAll(connection.socket, `${HEAD(1_000)}{"event":`);
    // A byte every 200 ms keeps the connection busy, but the request never completes.
    const trickle = setInterval(() => connection.socket.write(' '), 200);
    try {
      const received = await connection.closed;
      expect(statusOf(received)).toBe(408);
      expect(JSON.parse(bodyOf(received))).toEqual({ error: 'request timeout' });
    } finally {
      clearInterval(trickle);
    }
  });

  test('headers not complete within headersTimeout: 408 and closed; a silent connection is closed too', async () => {
    const slowHeaders = await connectRaw(server.url);
    await writeAll(slowHeaders.socket, 'POST /webhooks/trackpilots HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const silent = await connectRaw(server.url);
    expect(statusOf(await slowHeaders.closed)).toBe(408);
    await silent.closed;
    expect(
      await metricValue(server.url, 'hookrelay_http_client_errors_total', { reason: 'timeout' }),
    ).toBeGreaterThan(0);
  });

  test('a declared Content-Length above the source limit is refused before a byte of the body is sent', async () => {
    const connection = await connectRaw(server.url);
    await writeAll(connection.socket, HEAD(50 * MB));
    await waitFor('the 413', () => statusOf(connection.received()) !== undefined, { timeoutMs: 10_000 });
    expect(statusOf(connection.received())).toBe(413);
    connection.socket.destroy();
  });
});

describe('hookrelay serve: the buffered-body budget', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({ rulesYaml: rules('  maxBufferedSize: 12mb'), env: { TP_SECRET: SECRET } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('bodies beyond maxBufferedSize get 503 with Retry-After; memory stays bounded; genuine requests pass', async () => {
    const before = await rss(server.url);
    // 30 clients each sending 9 MB of a declared 10 MB body (the attack, halved): 270 MB held without
    // a budget. With 12 MB, at most one such body is held at a time; the others are refused when they would
    // pass it.
    const chunk = Buffer.alloc(MB, 0x20);
    const connections: RawConnection[] = [];
    for (let i = 0; i < 30; i++) connections.push(await connectRaw(server.url));
    await Promise.all(
      connections.map(async ({ socket }) => {
        await writeAll(socket, HEAD(10 * MB, signedTrackpilotsHeaders('x', SECRET)));
        for (let sent = 0; sent < 9 && !socket.destroyed; sent++) await writeAll(socket, chunk);
      }),
    );
    await waitFor(
      'most clients refused',
      () => connections.filter((c) => statusOf(c.received()) === 503).length >= 28,
      {
        timeoutMs: 30_000,
        explain: () =>
          connections
            .map((c) => `${statusOf(c.received()) ?? '-'}${c.socket.destroyed ? 'x' : ''}`)
            .join(' '),
      },
    );
    const refused = connections.find((c) => statusOf(c.received()) === 503);
    expect(refused?.received()).toMatch(/\r\nretry-after: \d+\r\n/i);
    expect(JSON.parse(bodyOf(refused?.received() ?? ''))).toEqual({ error: 'temporarily unavailable' });
    expect(await metricValue(server.url, 'hookrelay_ingest_buffered_bytes')).toBeLessThanOrEqual(12 * MB);
    expect(await rss(server.url)).toBeLessThan(before + 120 * MB);

    // While what fits is still held, a genuine request gets through beside it.
    await genuineAccepted(server.url, 'beside-held-bodies');
    expect(
      await metricValue(server.url, 'hookrelay_webhooks_received_total', { outcome: 'HR_ERR_INGEST_BUSY' }),
    ).toBeGreaterThanOrEqual(28);
    // A client that goes away gives its bytes back.
    for (const connection of connections) connection.socket.destroy();
    await waitFor(
      'the held bodies released',
      async () => (await metricValue(server.url, 'hookrelay_ingest_buffered_bytes')) === 0,
    );
  }, 90_000);
});

describe('hookrelay serve: many slow clients at once', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    // Default timeouts (10 s for headers): the slow clients stay open while the test runs.
    server = await startServer({ rulesYaml: rules('  maxConnections: 1000'), env: { TP_SECRET: SECRET } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('600 slow connections held open: a signed request is still answered within 5 s, and RSS stays bounded', async () => {
    const before = await rss(server.url);
    const held: RawConnection[] = [];
    for (let i = 0; i < 600; i++) {
      const connection = await connectRaw(server.url);
      held.push(connection);
      // A third send nothing, a third half their headers, a third their headers and a trickle of body.
      if (i % 3 === 1)
        await writeAll(connection.socket, 'POST /webhooks/trackpilots HTTP/1.1\r\nHost: x\r\n');
      if (i % 3 === 2) await writeAll(connection.socket, `${HEAD(5 * MB)}{"event":"x"`);
    }
    await waitFor(
      'all 600 seen by the server',
      async () => (await metricValue(server.url, 'hookrelay_http_connections')) >= 601,
      {
        timeoutMs: 15_000,
      },
    );
    const started = Date.now();
    await genuineAccepted(server.url, 'among-slow-clients');
    // Generous: the point is "answered", not a latency figure.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(held.filter((c) => c.socket.destroyed)).toEqual([]);
    expect(await rss(server.url)).toBeLessThan(before + 150 * MB);
    for (const connection of held) connection.socket.destroy();
  }, 60_000);
});

describe('hookrelay serve: the connection cap', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({ rulesYaml: rules('  maxConnections: 20'), env: { TP_SECRET: SECRET } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('a connection over maxConnections is closed at once and counted; the relay serves again when they go', async () => {
    const idle: RawConnection[] = [];
    for (let i = 0; i < 19; i++) idle.push(await connectRaw(server.url));
    // The scrape itself is the 20th.
    await waitFor(
      '19 idle connections seen',
      async () => (await metricValue(server.url, 'hookrelay_http_connections')) === 20,
    );
    // Keep-alive scrapes would hold a slot between tests: the fetch above has closed by now or soon will.
    const extra: RawConnection[] = [];
    for (let i = 0; i < 5; i++) extra.push(await connectRaw(server.url));
    await waitFor(
      'at least four over the cap closed by the server',
      () => extra.filter((c) => c.socket.destroyed).length >= 4,
      {
        timeoutMs: 10_000,
      },
    );
    for (const connection of [...idle, ...extra]) connection.socket.destroy();
    await waitFor('the slots free again', async () =>
      fetch(`${server.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    );
    expect(await metricValue(server.url, 'hookrelay_http_connections_dropped_total')).toBeGreaterThanOrEqual(
      4,
    );
    await genuineAccepted(server.url, 'after-cap');
  });
});
