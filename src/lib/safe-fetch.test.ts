import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpReceiver, startHttpReceiver } from '../../test/helpers/http-receiver.js';
import {
  AddressRefusedError,
  checkTarget,
  createSafeFetch,
  findAddressRefused,
  isBlockedAddress,
  type SafeFetch,
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
  it.each([
    ['loopback literal', () => `http://127.0.0.1:${port}/hook?token=abc`, '127.0.0.1'],
    ['IPv6 loopback literal', () => `http://[::1]:${port}/hook`, '::1'],
    ['decimal IPv4 spelling', () => `http://2130706433:${port}/hook`, '127.0.0.1'],
    ['hex short IPv4 spelling', () => `http://0x7f.1:${port}/hook`, '127.0.0.1'],
    ['cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['IPv4-mapped IPv6 literal', () => `http://[::ffff:127.0.0.1]:${port}/hook`, '::ffff:7f00:1'],
    ['hostname resolving to loopback', () => `http://localhost:${port}/hook`, 'localhost'],
  ])('refuses a %s before any byte is sent', async (_label, url, host) => {
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
