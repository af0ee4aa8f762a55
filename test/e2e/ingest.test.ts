import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { type ClientRequest, request as httpRequest } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent, sampleAppEvent, sampleScreenshotEvent } from '../../src/cli/send-samples.js';
import { metricValue } from '../helpers/metrics.js';
import { MAIN, type ServerProcess, startServer } from '../helpers/server-process.js';
import { signedTrackpilotsHeaders } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const SECRET = 'e2e-secret-current-0123456789';
const OLD_SECRET = 'e2e-secret-previous-9876543210';

const RULES = `
version: 1
sources:
  trackpilots:
    type: trackpilots
    secrets: ["\${TP_SECRET}", "\${TP_OLD_SECRET}"]
    tolerance: 5m
  small:
    type: trackpilots
    secrets: ["\${TP_SECRET}"]
    maxBodySize: 2kb
destinations:
  console: { type: log }
rules:
  - name: everything
    on: "*"
    to: [console]
`;

interface Sent {
  status: number;
  body: string;
}

async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<Sent> {
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, body: await response.text() };
}

/** postChunked sends `body` in 64 KiB chunks with no Content-Length, so only the server's reading can stop it. */
async function postChunked(url: string, body: string, headers: Record<string, string>): Promise<Sent> {
  const target = new URL(url);
  return new Promise<Sent>((resolve, reject) => {
    const request = httpRequest({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: 'POST',
      headers: { ...headers, 'transfer-encoding': 'chunked' },
    });
    request.on('response', (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    // The server may answer and close before the whole body is sent: that is the point.
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    const bytes = Buffer.from(body);
    for (let offset = 0; offset < bytes.length; offset += 64 * 1024) {
      request.write(bytes.subarray(offset, offset + 64 * 1024));
    }
    request.end();
  });
}

function sign(body: string, secret: string, timestamp: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

describe('hookrelay serve: ingest over real sockets', () => {
  let server: ServerProcess;
  let hook: string;

  beforeAll(async () => {
    server = await startServer({ rulesYaml: RULES, env: { TP_SECRET: SECRET, TP_OLD_SECRET: OLD_SECRET } });
    hook = `${server.url}/webhooks/trackpilots`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  const body = () => JSON.stringify(sampleActivityEvent());
  const now = () => String(Date.now());

  /** unauthorized is a refusal row for a fresh body signed as `headersFor` says: a bare 401. */
  const unauthorized = (
    name: string,
    headersFor: (body: string) => Record<string, string>,
    path?: string,
  ) => ({
    name,
    request: () => {
      const b = body();
      return { ...(path === undefined ? {} : { path }), body: b, headers: headersFor(b) };
    },
    status: 401,
    error: 'unauthorized',
  });

  const refusals: Array<{
    name: string;
    request: () => { path?: string; body: string; headers: Record<string, string> };
    status: number;
    error: string;
  }> = [
    {
      name: 'unknown source',
      request: () => ({
        path: '/webhooks/nope',
        body: body(),
        headers: signedTrackpilotsHeaders(body(), SECRET),
      }),
      status: 404,
      error: 'unknown source',
    },
    {
      name: 'non-JSON content type',
      request: () => {
        const b = body();
        return { body: b, headers: { ...signedTrackpilotsHeaders(b, SECRET), 'content-type': 'text/plain' } };
      },
      status: 415,
      error: 'content type must be application/json',
    },
    unauthorized('missing signature', () => ({
      'content-type': 'application/json',
      'x-webhook-timestamp': now(),
    })),
    unauthorized('missing timestamp', (b) => ({
      'content-type': 'application/json',
      'x-webhook-signature': sign(b, SECRET, now()),
    })),
    unauthorized('signature by an unknown secret', (b) => signedTrackpilotsHeaders(b, 'not-the-secret')),
    {
      name: 'body changed after signing',
      request: () => {
        const b = body();
        return { body: b.replace('"v1"', '"v2"'), headers: signedTrackpilotsHeaders(b, SECRET) };
      },
      status: 401,
      error: 'unauthorized',
    },
    unauthorized('timestamp older than the tolerance', (b) =>
      signedTrackpilotsHeaders(b, SECRET, String(Date.now() - 6 * 60_000)),
    ),
    unauthorized('timestamp too far in the future', (b) =>
      signedTrackpilotsHeaders(b, SECRET, String(Math.floor(Date.now() / 1000) + 600)),
    ),
    {
      // Verification runs on the raw bytes before parsing: a forged body is never parsed.
      name: 'invalid JSON under a wrong signature',
      request: () => ({
        body: '{"event": ',
        headers: signedTrackpilotsHeaders('{"event": ', 'not-the-secret'),
      }),
      status: 401,
      error: 'unauthorized',
    },
    unauthorized('signature that is not hex', (b) => ({
      ...signedTrackpilotsHeaders(b, SECRET),
      'x-webhook-signature': 'zz'.repeat(32),
    })),
    unauthorized('timestamp that is not a number', (b) => ({
      ...signedTrackpilotsHeaders(b, SECRET),
      'x-webhook-timestamp': 'yesterday',
    })),
    // `small` sets no tolerance: the default, 5 minutes, applies.
    unauthorized(
      'timestamp older than the default tolerance',
      (b) => signedTrackpilotsHeaders(b, SECRET, String(Date.now() - 6 * 60_000)),
      '/webhooks/small',
    ),
    {
      name: 'invalid JSON under a valid signature',
      request: () => ({ body: '{"event": ', headers: signedTrackpilotsHeaders('{"event": ', SECRET) }),
      status: 400,
      error: 'invalid JSON',
    },
    {
      name: 'JSON without an event type',
      request: () => ({ body: '{"data": []}', headers: signedTrackpilotsHeaders('{"data": []}', SECRET) }),
      status: 400,
      error: 'payload has no event type (event)',
    },
    {
      name: 'body over the source limit',
      request: () => {
        const b = JSON.stringify(sampleAppEvent());
        return { path: '/webhooks/small', body: b, headers: signedTrackpilotsHeaders(b, SECRET) };
      },
      status: 413,
      error: 'payload too large',
    },
  ];

  test.each(refusals)('$name → $status', async ({ request, status, error }) => {
    const r = request();
    const response = await post(`${server.url}${r.path ?? '/webhooks/trackpilots'}`, r.body, r.headers);
    expect(response.status).toBe(status);
    expect(JSON.parse(response.body)).toEqual({ error });
  });

  test.each([
    ['no Content-Type at all', undefined],
    ['application/json with a charset', 'application/json; charset=utf-8'],
    ['a +json media type', 'application/vnd.trackpilots+json'],
  ])('accepts a body with %s', async (_name, contentType) => {
    const b = body();
    const { 'content-type': _json, ...signed } = signedTrackpilotsHeaders(b, SECRET);
    // fetch adds text/plain to a string body without a Content-Type; a Buffer body goes without one.
    const response = await post(
      hook,
      Buffer.from(b),
      contentType ? { ...signed, 'content-type': contentType } : signed,
    );
    expect(response.status).toBe(200);
  });

  test('a body over 1 MiB is accepted by default (screenshots arrive inline)', async () => {
    const b = JSON.stringify({ ...sampleActivityEvent(), padding: 'x'.repeat(3 * 1024 * 1024) });
    const response = await post(hook, b, signedTrackpilotsHeaders(b, SECRET));
    expect(response.status).toBe(200);
  });

  test.each([
    // Fastify stops reading at the route's limit (the default 10 MB here) ...
    ['over the default 10 MB', '/webhooks/trackpilots', 11 * 1024 * 1024],
    // ... and the handler checks each source's own limit, which may be lower.
    ['over the source limit', '/webhooks/small', 4 * 1024],
  ])('a chunked body (no Content-Length) %s → 413', async (_name, path, size) => {
    const b = JSON.stringify({ ...sampleActivityEvent(), padding: 'x'.repeat(size) });
    const response = await postChunked(`${server.url}${path}`, b, signedTrackpilotsHeaders(b, SECRET));
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toEqual({ error: 'payload too large' });
  });

  test('a refusal body never names the failed check, a secret or a stack', async () => {
    const b = body();
    const response = await post(hook, b, signedTrackpilotsHeaders(b, 'wrong-secret'));
    expect(response.body).not.toMatch(/secret|signature|mismatch|stack|at \//i);
  });

  test('accepts a genuine event with either rotated secret, in seconds or milliseconds', async () => {
    const a = body();
    const current = await post(hook, a, signedTrackpilotsHeaders(a, SECRET));
    expect(current.status).toBe(200);
    const b = body();
    const previous = await post(
      hook,
      b,
      signedTrackpilotsHeaders(b, OLD_SECRET, String(Math.floor(Date.now() / 1000))),
    );
    expect(previous.status).toBe(200);
    expect(JSON.parse(previous.body)).toEqual({ ok: true, stored: 1, duplicates: 0 });
  });

  test('a 12-item batch becomes 12 events; the same delivery again is acknowledged as duplicates', async () => {
    const payload = JSON.stringify(sampleAppEvent());
    const first = await post(hook, payload, signedTrackpilotsHeaders(payload, SECRET));
    expect(JSON.parse(first.body)).toEqual({ ok: true, stored: 12, duplicates: 0 });
    const again = await post(hook, payload, signedTrackpilotsHeaders(payload, SECRET));
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ ok: true, stored: 0, duplicates: 12 });
  });

  test('hookrelay events lists what arrived, newest first, with filters', async () => {
    const shot = sampleScreenshotEvent({ userId: 'user-listed-1' });
    const raw = JSON.stringify(shot);
    expect((await post(hook, raw, signedTrackpilotsHeaders(raw, SECRET))).status).toBe(200);
    const env = { ...process.env, HOOKRELAY_DB: `sqlite:${server.dbPath}` };
    const { stdout } = await run(
      process.execPath,
      [MAIN, 'events', '--json', '--limit', '5', '--type', shot.event],
      { env },
    );
    const rows = stdout
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            user: string;
            event: string;
            screenshot: { image: { kind: string; mime: string } };
          },
      );
    expect(rows[0]?.user).toBe('user-listed-1');
    expect(rows.every((row) => row.event === shot.event)).toBe(true);
    expect(rows[0]?.screenshot.image).toMatchObject({ kind: 'bytes', mime: 'image/jpeg' });
    const table = await run(process.execPath, [MAIN, 'events', '--limit', '1'], { env });
    expect(table.stdout).toContain('user=user-listed-1');
  });

  test('health, readiness and metrics', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /hookrelay_webhooks_received_total\{source="trackpilots",outcome="HR_ERR_SIG_MISMATCH"\} [1-9]/,
    );
    expect(metrics).toMatch(/hookrelay_events_stored_total\{source="trackpilots"\} [1-9]/);
  });

  test('the secret and the signatures never appear in the logs, the reason does', async () => {
    await expectLogFreeOfSecrets(server);
  });
});

describe('hookrelay serve: logging at trace level', () => {
  test('even at the most verbose level, no secret or signature reaches a log line', async () => {
    const server = await startServer({
      rulesYaml: RULES,
      env: { TP_SECRET: SECRET, TP_OLD_SECRET: OLD_SECRET, LOG_LEVEL: 'trace' },
    });
    try {
      await expectLogFreeOfSecrets(server);
    } finally {
      await server.stop();
    }
  });
});

describe('hookrelay serve: durability and shutdown', () => {
  test('every request answered 2xx survives kill -9', async () => {
    const server = await startServer({
      rulesYaml: RULES,
      env: { TP_SECRET: SECRET, TP_OLD_SECRET: OLD_SECRET },
    });
    const hook = `${server.url}/webhooks/trackpilots`;
    const payloads = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify(sampleActivityEvent({ userId: `kill-${i}` })),
    );
    const results = await Promise.all(
      payloads.map((p) => post(hook, p, signedTrackpilotsHeaders(p, SECRET))),
    );
    expect(results.map((r) => r.status)).toEqual(payloads.map(() => 200));
    server.child.kill('SIGKILL');
    expect(await server.exited).toBe('SIGKILL');

    const env = { ...process.env, HOOKRELAY_DB: `sqlite:${server.dbPath}` };
    const { stdout } = await run(process.execPath, [MAIN, 'events', '--json', '--limit', '100'], { env });
    const users = new Set(
      stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { user: string }).user),
    );
    for (let i = 0; i < 40; i++) expect(users.has(`kill-${i}`)).toBe(true);
  });

  test('SIGTERM finishes a request in flight, refuses new ones, then exits 0', async () => {
    const server = await startServer({
      rulesYaml: RULES,
      env: { TP_SECRET: SECRET, TP_OLD_SECRET: OLD_SECRET },
    });
    const payload = JSON.stringify(sampleActivityEvent({ userId: 'in-flight' }));
    // Half the body now, the rest after SIGTERM: the request is in flight while the server stops.
    const request = openSignedPost(server.url, payload);
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      request.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      request.on('error', reject);
    });
    const half = Math.floor(payload.length / 2);
    request.write(payload.slice(0, half));
    await bodyBytesHeld(server, half);
    server.child.kill('SIGTERM');
    await waitFor('the stopping log line', () =>
      server.lines.some((line) => line.includes('stopping: finishing requests in flight')),
    );
    const late = await fetch(`${server.url}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    expect([0, 503]).toContain(late);
    request.end(payload.slice(half));
    expect(await response).toEqual({
      status: 200,
      body: JSON.stringify({ ok: true, stored: 1, duplicates: 0 }),
    });
    expect(await server.exited).toBe(0);

    const env = { ...process.env, HOOKRELAY_DB: `sqlite:${server.dbPath}` };
    const { stdout } = await run(process.execPath, [MAIN, 'events', '--json'], { env });
    expect(stdout).toContain('"user":"in-flight"');
  });

  test('SIGINT stops the same way; a second signal exits 1 at once, without waiting for a request in flight', async () => {
    const server = await startServer({
      rulesYaml: RULES,
      env: { TP_SECRET: SECRET, TP_OLD_SECRET: OLD_SECRET },
    });
    const payload = JSON.stringify(sampleActivityEvent({ userId: 'never-finished' }));
    // A request that never finishes sending its body: without the second signal, shutdown would wait.
    const request = openSignedPost(server.url, payload);
    request.on('error', () => {});
    request.write(payload.slice(0, 10));
    await bodyBytesHeld(server, 10);
    server.child.kill('SIGINT');
    await waitFor('the stopping log line', () =>
      server.lines.some((line) => line.includes('stopping: finishing requests in flight')),
    );
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(1);
    expect(server.lines.some((line) => line.includes('second signal: exiting without waiting'))).toBe(true);
    request.destroy();
  });
});

/** bodyBytesHeld waits until the server holds `bytes` of a request body: the request is in flight. */
async function bodyBytesHeld(server: ServerProcess, bytes: number): Promise<void> {
  await waitFor(`the server to hold ${bytes} body bytes`, async () => {
    return (await metricValue(server.url, 'hookrelay_ingest_buffered_bytes')) >= bytes;
  });
}

/** openSignedPost starts a signed POST of `payload` and returns it with no body sent: the test writes it. */
function openSignedPost(url: string, payload: string): ClientRequest {
  return httpRequest({
    host: '127.0.0.1',
    port: new URL(url).port,
    path: '/webhooks/trackpilots',
    method: 'POST',
    headers: {
      ...signedTrackpilotsHeaders(payload, SECRET),
      'content-length': String(Buffer.byteLength(payload)),
    },
  });
}

/**
 * expectLogFreeOfSecrets sends a forged and a genuine event, waits for the genuine one's alert, and checks
 * that the log names the refusal's code (so it was read, and says what a person needs) but holds neither
 * secret nor signature.
 */
async function expectLogFreeOfSecrets(server: ServerProcess): Promise<void> {
  const hook = `${server.url}/webhooks/trackpilots`;
  const bad = JSON.stringify(sampleActivityEvent());
  const badHeaders = signedTrackpilotsHeaders(bad, 'a-wrong-secret-value');
  expect((await post(hook, bad, badHeaders)).status).toBe(401);
  const good = JSON.stringify(sampleActivityEvent());
  const goodHeaders = signedTrackpilotsHeaders(good, SECRET);
  expect((await post(hook, good, goodHeaders)).status).toBe(200);
  await waitFor('the alert of the accepted event', () =>
    server.lines.some((line) => line.includes(`"user":"${sampleUser(good)}"`)),
  );
  const log = server.lines.join('\n');
  expect(log).toContain('HR_ERR_SIG_MISMATCH');
  for (const secret of [
    SECRET,
    OLD_SECRET,
    'a-wrong-secret-value',
    badHeaders['x-webhook-signature'],
    goodHeaders['x-webhook-signature'],
  ]) {
    expect(log).not.toContain(secret);
  }
}

/** sampleUser is the user id of a sample activity body. */
function sampleUser(body: string): string {
  return (JSON.parse(body) as { data: { user: { userId: string } } }).data.user.userId;
}
