import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { runSend } from './send.js';
import type { ActivityEvent, AppEvent, ScreenshotEvent } from './send-samples.js';

/** One request as the receiver saw it: the raw bytes are kept to check the signature over them. */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const SECRET = 'test-secret-7f3a';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: Server;
let baseUrl: string;
let received: Received[] = [];
/** Status the receiver answers for the n-th request (0-based); 200 when absent. */
let statusFor: (index: number) => number = () => 200;
/** Body the receiver answers for the n-th request; the default is as before (`{}` or an error). */
let bodyFor: ((index: number) => string) | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const index = received.length;
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      const status = statusFor(index);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(bodyFor?.(index) ?? (status < 300 ? '{}' : '{"error":"signature mismatch"}'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/trackpilots`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  statusFor = () => 200;
  bodyFor = undefined;
});

interface Captured {
  io: CliIo;
  out: () => string;
  err: () => string;
}

function captureIo(env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): Captured {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: (text) => {
        out += text;
      },
      stderr: (text) => {
        err += text;
      },
      env,
      cwd,
    },
    out: () => out,
    err: () => err,
  };
}

/** Recomputes the signature the way a receiver must: over the timestamp header and the raw bytes. */
function signatureVerifies(request: Received, secret: string): boolean {
  const timestamp = request.headers['x-webhook-timestamp'];
  const signature = request.headers['x-webhook-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  const expected = createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`${timestamp}.`), request.body]))
    .digest();
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * jpegLayout walks the marker segments of a baseline JPEG up to the start of scan and returns the frame
 * size, so a corrupted embedded sample (a stray character in the base64) fails here, not in a decoder.
 */
function jpegLayout(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes.readUInt16BE(0) !== 0xffd8) return undefined;
  let offset = 2;
  let size: { width: number; height: number } | undefined;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1] as number;
    const length = bytes.readUInt16BE(offset + 2);
    if (marker === 0xc0 || marker === 0xc2) {
      size = { height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) };
    }
    if (marker === 0xda) return size;
    offset += 2 + length;
  }
  return undefined;
}

function only(): Received {
  expect(received).toHaveLength(1);
  return received[0] as Received;
}

function json<T>(request: Received): T {
  return JSON.parse(request.body.toString('utf8')) as T;
}

async function send(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  const captured = captureIo(env, cwd);
  const code = await runSend(args, captured.io);
  return { code, out: captured.out(), err: captured.err() };
}

describe('hookrelay send: signing', () => {
  it('signs the raw body with the secret and a millisecond timestamp by default', async () => {
    const before = Date.now();
    const { code, out } = await send(['--url', baseUrl, '--secret', SECRET]);
    const request = only();

    expect(code).toBe(0);
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/webhooks/trackpilots');
    expect(request.headers['content-type']).toBe('application/json');
    expect(signatureVerifies(request, SECRET)).toBe(true);
    expect(signatureVerifies(request, 'another-secret')).toBe(false);
    expect(request.headers['x-webhook-signature']).toMatch(/^[0-9a-f]{64}$/);
    const timestamp = Number(request.headers['x-webhook-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Date.now());
    expect(out).toMatch(/^#1 200 OK {2}\d+\.\d ms {2}desktop\.app_tracking\.captured, 12 items, /);
  });

  it('uses seconds with --timestamp-unit s and still verifies', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    await send(['--url', baseUrl, '--secret', SECRET, '--timestamp-unit', 's']);
    const request = only();

    expect(request.headers['x-webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(Number(request.headers['x-webhook-timestamp'])).toBeGreaterThanOrEqual(nowSeconds);
    expect(signatureVerifies(request, SECRET)).toBe(true);
  });

  it('takes the secret from TRACKPILOTS_WEBHOOK_SECRET, else the example default', async () => {
    await send(['--url', baseUrl], { TRACKPILOTS_WEBHOOK_SECRET: 'from-env' });
    expect(signatureVerifies(only(), 'from-env')).toBe(true);

    received = [];
    await send(['--url', baseUrl]);
    expect(signatureVerifies(only(), 'dev-secret-change-me')).toBe(true);
  });

  it('defaults the URL to 127.0.0.1:$PORT/webhooks/trackpilots', async () => {
    const port = new URL(baseUrl).port;
    const { code } = await send([], { PORT: port });
    expect(code).toBe(0);
    expect(only().url).toBe('/webhooks/trackpilots');
  });
});

describe('hookrelay send: sample payloads', () => {
  it('app: a batch of 12 spans of one user, distinct tracking ids, all three statuses', async () => {
    await send(['--url', baseUrl, '--event', 'app', '--secret', SECRET]);
    const payload = json<AppEvent>(only());

    expect(payload).toMatchObject({
      event: 'desktop.app_tracking.captured',
      version: 'v1',
      agent: 'desktop-agent',
    });
    expect(payload).not.toHaveProperty('simulation');
    expect(payload.timestamp).toBeGreaterThan(Date.now() - 60_000);
    expect(payload.data).toHaveLength(12);
    const trackingIds = payload.data.map((item) => item.tracking.trackingId);
    expect(new Set(trackingIds).size).toBe(12);
    for (const id of trackingIds) expect(id).toMatch(UUID);
    expect(new Set(payload.data.map((item) => item.user.userId)).size).toBe(1);
    expect(new Set(payload.data.map((item) => item.tracking.app.productivityStatus))).toEqual(
      new Set(['productive', 'neutral', 'unproductive']),
    );
    let previousEnd = 0;
    for (const { tracking } of payload.data) {
      const start = Date.parse(tracking.time.startDate);
      const end = Date.parse(tracking.time.endDate);
      expect(start).toBeGreaterThanOrEqual(previousEnd);
      expect(tracking.time.durationInSeconds).toBe(Math.floor((end - start) / 1000));
      expect(tracking.trackingMode).toBe('online');
      expect(['windows', 'macos']).toContain(tracking.operatingSystem);
      previousEnd = end;
    }
    expect(previousEnd).toBeLessThan(payload.timestamp);
  });

  it('screenshot: one item whose imageBuffer is base64 of a JPEG', async () => {
    await send(['--url', baseUrl, '--event', 'screenshot', '--secret', SECRET]);
    const payload = json<ScreenshotEvent>(only());

    expect(payload.event).toBe('desktop.screenshot_tracking.captured');
    expect(payload.data).toHaveLength(1);
    const item = payload.data[0];
    expect(item?.organisation.organisationId).toMatch(UUID);
    expect(item?.team.teamId).toMatch(UUID);
    expect(item?.user.userId).toMatch(UUID);
    const shot = item?.screenshot;
    expect(shot?.screenshotId).toMatch(UUID);
    const image = Buffer.from(shot?.imageBuffer ?? '', 'base64');
    expect([...image.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect([...image.subarray(-2)]).toEqual([0xff, 0xd9]);
    expect(jpegLayout(image)).toEqual({ width: 48, height: 30 });
    expect(shot?.time.capturedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(typeof shot?.isIdle).toBe('boolean');
    expect(shot?.app.name).toBeTruthy();
  });

  it('activity: data is one object with nested ids and activity.workMode', async () => {
    await send(['--url', baseUrl, '--event', 'desktop.activity_tracking.captured', '--secret', SECRET]);
    const payload = json<ActivityEvent>(only());

    expect(payload.event).toBe('desktop.activity_tracking.captured');
    expect(Array.isArray(payload.data)).toBe(false);
    expect(payload.data.user.userId).toMatch(UUID);
    expect(typeof payload.data.activity.workMode).toBe('boolean');
  });

  it('--simulation sets the flag and sends no image bytes', async () => {
    await send(['--url', baseUrl, '--event', 'screenshot', '--simulation', '--secret', SECRET]);
    const request = only();
    const payload = json<ScreenshotEvent>(request);

    expect(payload.simulation).toBe(true);
    const imageBuffer = payload.data[0]?.screenshot.imageBuffer ?? '';
    expect(imageBuffer.startsWith('[simulation')).toBe(true);
    expect(request.body.includes('/9j/')).toBe(false);
    expect(signatureVerifies(request, SECRET)).toBe(true);
  });

  it('--user sets the user id on every item', async () => {
    await send(['--url', baseUrl, '--user', 'u-42', '--secret', SECRET]);
    const payload = json<AppEvent>(only());
    expect(payload.data.map((item) => item.user.userId)).toEqual(Array(12).fill('u-42'));
  });

  it('--count 3 sends three distinct payloads, each signed', async () => {
    const { code, out } = await send(['--url', baseUrl, '--count', '3', '--secret', SECRET]);

    expect(code).toBe(0);
    expect(received).toHaveLength(3);
    const bodies = received.map((request) => request.body.toString('utf8'));
    expect(new Set(bodies).size).toBe(3);
    const allIds = received.flatMap((request) =>
      json<AppEvent>(request).data.map((i) => i.tracking.trackingId),
    );
    expect(new Set(allIds).size).toBe(36);
    for (const request of received) expect(signatureVerifies(request, SECRET)).toBe(true);
    expect(out.trim().split('\n')).toHaveLength(4);
    expect(out).toContain('3 sent: 3 ok, 0 failed');
  });
});

describe('hookrelay send: file mode', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hookrelay-send-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the file bytes unchanged and re-signs them per send', async () => {
    // Odd spacing, key order, an escape and non-ASCII: any re-serialisation would change these bytes.
    const text =
      '{ "version":"v1",  "event" : "desktop.custom.thing",\n "data":[{"name":"Zoë \\u00e9"}] ,"timestamp":1769591066292}\n';
    await writeFile(join(dir, 'custom.json'), text);
    const { code, out } = await send(
      ['custom.json', '--url', baseUrl, '--secret', SECRET, '--count', '2'],
      {},
      dir,
    );

    expect(code).toBe(0);
    expect(received).toHaveLength(2);
    for (const request of received) {
      expect(request.body.equals(Buffer.from(text, 'utf8'))).toBe(true);
      expect(signatureVerifies(request, SECRET)).toBe(true);
    }
    expect(out).toContain('desktop.custom.thing, 1 item');
  });

  it.each([
    ['a missing file', 'missing.json', /cannot read missing\.json: no such file/],
    ['invalid JSON', 'broken.json', /broken\.json is not valid JSON/],
    ['a directory', '.', /cannot read \.: it is a directory/],
  ])('exits 2 for %s without sending', async (_name, file, message) => {
    await writeFile(join(dir, 'broken.json'), '{"event": "desktop.app_tracking.captured", ');
    const { code, err } = await send([file, '--url', baseUrl], {}, dir);

    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(received).toHaveLength(0);
  });

  it('refuses sample-only flags with a file instead of ignoring them', async () => {
    await writeFile(join(dir, 'ok.json'), '{}');
    const { code, err } = await send(['ok.json', '--url', baseUrl, '--simulation'], {}, dir);
    expect(code).toBe(2);
    expect(err).toContain('--simulation only applies to generated samples');
    expect(received).toHaveLength(0);
  });
});

describe('hookrelay send: exit codes and output', () => {
  it('exits 1 when any response is not 2xx and prints that response body', async () => {
    statusFor = (index) => (index === 1 ? 401 : 202);
    const { code, out } = await send(['--url', baseUrl, '--count', '3', '--event', 'activity']);

    expect(code).toBe(1);
    expect(received).toHaveLength(3);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^#1 202 Accepted {2}/);
    expect(lines[1]).toMatch(/^#2 401 Unauthorized {2}.*response: \{"error":"signature mismatch"\}$/);
    expect(lines[2]).not.toContain('response:');
    expect(lines[3]).toBe('3 sent: 2 ok, 1 failed');
  });

  it('shows what the relay stored and what it already had (duplicates)', async () => {
    bodyFor = (index) =>
      index === 0 ? '{"ok":true,"stored":12,"duplicates":0}' : '{"ok":true,"stored":0,"duplicates":12}';
    const { code, out } = await send(['--url', baseUrl, '--count', '2']);
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^#1 200 OK .* stored 12$/);
    expect(lines[1]).toMatch(/^#2 200 OK .* stored 0, 12 duplicates \(already received\)$/);
    expect(lines[2]).toBe('2 sent: 2 ok, 0 failed; 12 items stored, 12 duplicates');
    const json = await send(['--url', baseUrl, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, stored: 0, duplicates: 12 });
  });

  it.each([
    [[], {}, 'the built-in development secret'],
    [[], { TRACKPILOTS_WEBHOOK_SECRET: 'from-env' }, 'TRACKPILOTS_WEBHOOK_SECRET'],
    [['--secret', 'g1ven-s3cret'], {}, 'the --secret given'],
  ])('on a 401 says the server probably uses another secret (%j %j)', async (args, env, signedWith) => {
    statusFor = () => 401;
    const { code, err } = await send(['--url', baseUrl, '--count', '2', ...args], env);
    expect(code).toBe(1);
    expect(err).toBe(
      `hookrelay send: 401 Unauthorized: the relay probably uses another secret than ${signedWith}; pass it with --secret, or set TRACKPILOTS_WEBHOOK_SECRET\n`,
    );
    expect(err).not.toContain('from-env');
    expect(err).not.toContain('g1ven-s3cret');
  });

  it('--json prints one parseable line per request', async () => {
    statusFor = (index) => (index === 0 ? 500 : 200);
    const { code, out } = await send(['--url', baseUrl, '--count', '2', '--json']);

    expect(code).toBe(1);
    const lines = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      seq: 1,
      event: 'desktop.app_tracking.captured',
      items: 12,
      status: 500,
      ok: false,
      body: '{"error":"signature mismatch"}',
    });
    expect(lines[1]).toMatchObject({ seq: 2, status: 200, ok: true });
    expect(lines[1]).not.toHaveProperty('body');
    expect(typeof lines[0]?.latencyMs).toBe('number');
  });

  it('exits 1 with a hint when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const { code, out } = await send(['--url', `http://127.0.0.1:${port}/webhooks/trackpilots`]);
    expect(code).toBe(1);
    expect(out).toContain(`error: connection refused by 127.0.0.1:${port} (is \`hookrelay serve\` running?)`);
  });

  it.each([
    ['an unknown flag', ['--colour'], /Unknown option '--colour'/],
    ['a bad URL', ['--url', 'not a url'], /not a valid URL: "not a url"/],
    ['a non-http URL', ['--url', 'ftp://127.0.0.1/x'], /must be http or https/],
    ['an unknown event', ['--event', 'keyboard'], /unknown --event "keyboard"/],
    ['a zero count', ['--count', '0'], /--count must be a whole number from 1/],
    ['a fractional count', ['--count', '1.5'], /--count must be a whole number/],
    ['a bad timestamp unit', ['--timestamp-unit', 'us'], /--timestamp-unit must be ms or s/],
    ['a missing value', ['--secret'], /argument missing/],
    ['two files', ['a.json', 'b.json'], /at most one JSON file/],
  ])('exits 2 for %s with a short message and no stack', async (_name, args, message) => {
    const { code, out, err } = await send(args);

    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).toContain('hookrelay send --help');
    expect(err).not.toMatch(/\n\s+at /);
    expect(out).toBe('');
    expect(received).toHaveLength(0);
  });

  it('--help prints usage and exits 0', async () => {
    const { code, out } = await send(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('Usage: hookrelay send');
  });
});

afterEach(() => {
  statusFor = () => 200;
});
