import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpReceiver, startHttpReceiver } from '../../test/helpers/http-receiver.js';
import {
  AddressRefusedError,
  checkTarget,
  createSafeFetch,
  createSafeRequest,
  findAddressRefused,
  headerValue,
  isBlockedAddress,
  MAX_BODY_PREFIX_BYTES,
  type SafeFetch,
  type SafeRequest,
} from './safe-fetch.js';

let receiver: HttpReceiver;
let port: string;
let guarded: SafeFetch;
let open: SafeFetch;

beforeAll(async () => {
  receiver = await startHttpReceiver();
  port = new URL(receiver.origin).port;
  guarded = createSafeFetch({ allowPrivateNetworks: false, timeoutMs: 2_000 });
  open = createSafeFetch({ allowPrivateNetworks: true, timeoutMs: 2_000 });
});
afterAll(async () => {
  await guarded.close();
  await open.close();
  await receiver.close();
});

async function refusal(url: string): Promise<AddressRefusedError | undefined> {
  try {
    await guarded(url, { method: 'POST', body: 'x' });
  } catch (thrown) {
    return findAddressRefused(thrown);
  }
  return undefined;
}

/** Targets both clients must refuse: label, URL (the receiver's port is known once it listens), refused host. */
const REFUSED_TARGETS: ReadonlyArray<readonly [string, () => string, string]> = [
  ['loopback literal', () => `http://127.0.0.1:${port}/hook?token=abc`, '127.0.0.1'],
  ['IPv6 loopback literal', () => `http://[::1]:${port}/hook`, '::1'],
  ['decimal IPv4 spelling', () => `http://2130706433:${port}/hook`, '127.0.0.1'],
  ['hex short IPv4 spelling', () => `http://0x7f.1:${port}/hook`, '127.0.0.1'],
  ['cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
  ['IPv4-mapped IPv6 literal', () => `http://[::ffff:127.0.0.1]:${port}/hook`, '::ffff:7f00:1'],
  ['hostname resolving to loopback', () => `http://localhost:${port}/hook`, 'localhost'],
];

describe('isBlockedAddress', () => {
  it.each([
    '0.0.0.0',
    '10.1.2.3',
    '100.64.0.1',
    '127.0.0.1',
    '127.255.255.254',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '198.18.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::a9fe:a9fe',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
  ])('blocks %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', 'example.com'])(
    'allows %s',
    (address) => {
      expect(isBlockedAddress(address)).toBe(false);
    },
  );
});

describe('createSafeFetch', () => {
  it.each(REFUSED_TARGETS)('refuses a %s before any byte is sent', async (_label, url, host) => {
    const before = receiver.requests.length;
    const refused = await refusal(url());
    expect(refused).toBeInstanceOf(AddressRefusedError);
    expect(refused?.host).toBe(host);
    expect(refused?.code).toBe('HR_ERR_FETCH_ADDRESS_REFUSED');
    expect(refused?.message).toContain(host);
    expect(refused?.message).not.toContain('/hook');
    expect(refused?.message).not.toContain('token');
    expect(receiver.requests.length).toBe(before);
  });

  it.each([
    ['loopback literal', () => `http://127.0.0.1:${port}/hook`],
    ['decimal IPv4 spelling', () => `http://2130706433:${port}/hook`],
    ['hex short IPv4 spelling', () => `http://0x7f.1:${port}/hook`],
    ['hostname resolving to loopback', () => `http://localhost:${port}/hook`],
  ])('allows a %s with allowPrivateNetworks', async (_label, url) => {
    const before = receiver.requests.length;
    const response = await open(url(), { method: 'POST', body: 'hello' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
    expect(receiver.requests.length).toBe(before + 1);
    expect(receiver.requests.at(-1)?.body.toString()).toBe('hello');
  });

  it('never follows a redirect', async () => {
    receiver.script({ status: 301, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
    const before = receiver.requests.length;
    const response = await open(`${receiver.origin}/moved`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe('http://169.254.169.254/latest/meta-data/');
    expect(receiver.requests.length).toBe(before + 1);
  });

  it('rejects other protocols', () => {
    expect(checkTarget(new URL('file:///etc/passwd'), true)?.code).toBe('HR_ERR_FETCH_URL_INVALID');
    expect(checkTarget(new URL('ftp://example.com/'), false)?.code).toBe('HR_ERR_FETCH_URL_INVALID');
    expect(checkTarget(new URL('https://example.com/'), false)).toBeUndefined();
    expect(checkTarget(new URL('http://8.8.8.8/'), false)).toBeUndefined();
  });

  it('sends a Node FormData (what the SDKs build) as real multipart', async () => {
    const form = new FormData();
    form.append('payload_json', '{"a":1}');
    form.append('files[0]', new Blob([Buffer.from('PNGDATA')], { type: 'image/png' }), 'shot.png');
    await open(`${receiver.origin}/upload`, { method: 'POST', body: form });
    const request = receiver.requests.at(-1);
    expect(request?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const parsed = await new Response(request?.body, {
      headers: { 'content-type': String(request?.headers['content-type']) },
    }).formData();
    expect(parsed.get('payload_json')).toBe('{"a":1}');
    const file = parsed.get('files[0]');
    expect(file).toBeInstanceOf(Blob);
    expect(Buffer.from(await (file as Blob).arrayBuffer()).toString()).toBe('PNGDATA');
  });
});

describe('createSafeRequest', () => {
  let guardedRequest: SafeRequest;
  let openRequest: SafeRequest;
  beforeAll(() => {
    guardedRequest = createSafeRequest({ allowPrivateNetworks: false, timeoutMs: 2_000 });
    openRequest = createSafeRequest({ allowPrivateNetworks: true, timeoutMs: 2_000 });
  });
  afterAll(async () => {
    await guardedRequest.close();
    await openRequest.close();
  });

  const post = { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' } as const;

  it.each(REFUSED_TARGETS)(
    'refuses a %s before any byte is sent, on every attempt',
    async (_label, url, host) => {
      const before = receiver.requests.length;
      for (let attempt = 0; attempt < 2; attempt++) {
        const refused = await guardedRequest(url(), post).then(
          () => undefined,
          (thrown: unknown) => findAddressRefused(thrown),
        );
        expect(refused).toBeInstanceOf(AddressRefusedError);
        expect(refused?.host).toBe(host);
        expect(refused?.message).not.toContain('/hook');
        expect(refused?.message).not.toContain('token');
      }
      expect(receiver.requests.length).toBe(before);
    },
  );

  it('rejects other protocols before connecting', async () => {
    await expect(openRequest('file:///etc/passwd', post)).rejects.toMatchObject({
      code: 'HR_ERR_FETCH_URL_INVALID',
    });
  });

  it.each([
    ['loopback literal', () => `http://127.0.0.1:${port}/hook?q=1`],
    ['hostname resolving to loopback', () => `http://localhost:${port}/hook?q=1`],
  ])('sends to a %s with allowPrivateNetworks, path, query, headers and body as given', async (_l, url) => {
    const before = receiver.requests.length;
    const response = await openRequest(url(), {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-extra': 'yes' },
      body: Buffer.from('{"a":1}'),
    });
    expect(response.status).toBe(200);
    expect(response.bodyPrefix.byteLength).toBe(0);
    expect(receiver.requests.length).toBe(before + 1);
    const request = receiver.requests.at(-1);
    expect(request?.method).toBe('PUT');
    expect(request?.url).toBe('/hook?q=1');
    expect(request?.headers['x-extra']).toBe('yes');
    expect(request?.headers['content-length']).toBe('7');
    expect(request?.body.toString()).toBe('{"a":1}');
  });

  it('never follows a redirect', async () => {
    receiver.script({ status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
    const before = receiver.requests.length;
    const response = await openRequest(`${receiver.origin}/moved`, post);
    expect(response.status).toBe(302);
    expect(headerValue(response, 'location')).toBe('http://169.254.169.254/latest/meta-data/');
    expect(receiver.requests.length).toBe(before + 1);
  });

  it('returns headers and a bounded prefix of an error body', async () => {
    receiver.script(
      { status: 429, headers: { 'retry-after': '7' }, body: 'slow down' },
      { status: 500, body: 'x'.repeat(20_000) },
    );
    const limited = await openRequest(`${receiver.origin}/hook`, post);
    expect(limited.status).toBe(429);
    expect(headerValue(limited, 'retry-after')).toBe('7');
    expect(headerValue(limited, 'x-absent')).toBeUndefined();
    expect(limited.bodyPrefix.toString()).toBe('slow down');
    const failed = await openRequest(`${receiver.origin}/hook`, post);
    expect(failed.status).toBe(500);
    expect(failed.bodyPrefix.byteLength).toBe(MAX_BODY_PREFIX_BYTES);
  });

  it('times out through the signal, also while reading an error body', async () => {
    receiver.script({ status: 200, delayMs: 1_000 });
    await expect(
      openRequest(`${receiver.origin}/slow`, { ...post, signal: AbortSignal.timeout(100) }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});

describe('createSafeRequest connection reuse', () => {
  let server: http.Server;
  let origin: string;
  const connections: number[] = [];
  let next: { status: number; body: string } = { status: 204, body: '' };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(next.status, { 'content-type': 'text/plain' }).end(next.body);
      });
    });
    server.on('connection', (socket) => connections.push(socket.remotePort ?? 0));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([
    ['204 without a body', 204, ''],
    ['200 with a body', 200, 'ok '.repeat(1_000)],
    ['4xx with a body longer than the prefix', 400, 'e'.repeat(10_000)],
    ['5xx with a short body', 503, 'busy'],
  ])('keeps one connection across sequential requests answered with %s', async (_label, status, body) => {
    next = { status, body };
    connections.length = 0;
    const request = createSafeRequest({ allowPrivateNetworks: true, timeoutMs: 2_000 });
    try {
      for (let i = 0; i < 20; i++) {
        const response = await request(`${origin}/sink`, { method: 'POST', headers: {}, body: `${i}` });
        expect(response.status).toBe(status);
      }
    } finally {
      await request.close();
    }
    // undici opens a second socket for the second request (the first one has not signalled "drain" yet;
    // fetch does the same), and reuses both from then on: without reuse there would be 20.
    expect(connections.length).toBeLessThanOrEqual(2);
  });

  it('closes (instead of draining) a connection whose error body is very long, and reconnects', async () => {
    next = { status: 500, body: 'z'.repeat(1024 * 1024) };
    connections.length = 0;
    const request = createSafeRequest({ allowPrivateNetworks: true, timeoutMs: 2_000 });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await request(`${origin}/sink`, { method: 'POST', headers: {}, body: 'x' });
        expect(response.status).toBe(500);
        expect(response.bodyPrefix.byteLength).toBe(MAX_BODY_PREFIX_BYTES);
      }
    } finally {
      await request.close();
    }
    expect(connections.length).toBeGreaterThanOrEqual(3);
  });
});
