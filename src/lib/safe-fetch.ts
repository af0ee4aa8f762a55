/**
 * SSRF guard for user-configured URLs (outbound webhooks, Slack incoming webhooks, Discord webhooks).
 *
 * The check happens at connect time, inside the undici Agent's `connect.lookup`: every A/AAAA record of the
 * host is resolved and checked, and the socket connects to the address that was checked, so a DNS answer
 * that changes between "check" and "connect" (rebinding) cannot slip through. Node never calls the lookup
 * for IP-literal hosts, so those are checked separately before the request starts. Redirects are never
 * followed (a 3xx is returned to the caller as it came), so a public URL cannot bounce to a private one.
 * See shared/reference/destinations.md §4.3 and the OWASP SSRF Prevention Cheat Sheet.
 *
 * Two clients share that guard: `createSafeRequest` (undici's `Dispatcher.request`, for the adapters that
 * post JSON themselves: about a quarter of fetch's CPU per request) and `createSafeFetch` (a WHATWG
 * `fetch`, for the SDKs that want one: @slack/web-api, @discordjs/rest).
 */
import dns from 'node:dns';
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { finished } from 'node:stream/promises';
import {
  Agent,
  type Dispatcher,
  Headers,
  type RequestInit,
  type Response,
  fetch as undiciFetch,
} from 'undici';
import { HookrelayError } from './errors.js';

type Family = 'ipv4' | 'ipv6';

/**
 * BLOCKED_RANGES lists every address range a guarded request may not connect to: "this network",
 * private, loopback, link-local (includes the 169.254.169.254 cloud metadata address), CGNAT, IETF
 * protocol assignments, benchmarking, documentation, multicast and reserved space, and on IPv6 the
 * unspecified/loopback addresses, unique-local, link- and site-local, multicast, IPv4-mapped and
 * IPv4-compatible addresses, NAT64 prefixes and the tunnelling prefixes that embed an IPv4 address.
 */
export const BLOCKED_RANGES: readonly (readonly [network: string, prefix: number, family: Family])[] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.88.99.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  // 224/4 multicast, 240/4 reserved and 255.255.255.255 broadcast.
  ['224.0.0.0', 3, 'ipv4'],
  // ::/96 covers :: (unspecified), ::1 (loopback) and the deprecated IPv4-compatible addresses.
  ['::', 96, 'ipv6'],
  ['::ffff:0:0', 96, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'],
  ['100::', 64, 'ipv6'],
  ['2001::', 32, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['2002::', 16, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fec0::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

// One list per family: a BlockList checks an IPv4 address against its IPv6 rules too (as ::ffff:a.b.c.d),
// so with one shared list the ::ffff:0:0/96 rule would block every IPv4 address.
const blockLists = { ipv4: new net.BlockList(), ipv6: new net.BlockList() };
for (const [network, prefix, family] of BLOCKED_RANGES) blockLists[family].addSubnet(network, prefix, family);

/** isBlockedAddress tells whether an IP address (v4 or v6, no brackets) is in BLOCKED_RANGES. Non-IPs are false. */
export function isBlockedAddress(address: string): boolean {
  const version = net.isIP(address);
  if (version === 0) return false;
  return version === 6 ? blockLists.ipv6.check(address, 'ipv6') : blockLists.ipv4.check(address, 'ipv4');
}

/**
 * AddressRefusedError says a guarded request was stopped before connecting. Its message names the host
 * and the refused address, never the path or query (which may hold a credential).
 */
export class AddressRefusedError extends HookrelayError {
  readonly host: string;
  readonly address: string;

  constructor(host: string, address: string) {
    super(
      'HR_ERR_FETCH_ADDRESS_REFUSED',
      `refused to connect to ${host}${host === address ? '' : ` (${address})`}: private, loopback, link-local or reserved address; set allowPrivateNetworks: true on the destination to allow it`,
    );
    this.name = 'AddressRefusedError';
    this.host = host;
    this.address = address;
  }
}

/** findAddressRefused walks an error's `cause` chain and returns the AddressRefusedError in it, if any. */
export function findAddressRefused(thrown: unknown): AddressRefusedError | undefined {
  let current: unknown = thrown;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof AddressRefusedError) return current;
    current = current.cause;
  }
  return undefined;
}

/** hostOf returns a URL's host without brackets (IPv6 literals come back as `[::1]` from `new URL`). */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * checkTarget validates a URL before a guarded request: only http and https, and an IP-literal host must
 * not be in BLOCKED_RANGES (`new URL` has already normalised spellings such as `0x7f.1` and `2130706433`
 * to `127.0.0.1`). It returns the error instead of throwing; hostnames are checked later, at connect time.
 */
export function checkTarget(url: URL, allowPrivateNetworks: boolean): HookrelayError | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return new HookrelayError(
      'HR_ERR_FETCH_URL_INVALID',
      `only http and https URLs are allowed, not ${url.protocol}`,
    );
  }
  if (allowPrivateNetworks) return undefined;
  const host = hostOf(url);
  if (net.isIP(host) !== 0 && isBlockedAddress(host)) return new AddressRefusedError(host, host);
  return undefined;
}

/**
 * guardedLookup is a `net` lookup function that resolves every A and AAAA record of `hostname` and fails
 * with AddressRefusedError when any of them is blocked (one bad record is enough: the socket may pick it).
 */
export const guardedLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { all: true, family: options.family ?? 0, hints: options.hints }, (err, addresses) => {
    if (err) {
      callback(err, '', 0);
      return;
    }
    const refused = addresses.find((entry) => isBlockedAddress(entry.address));
    if (refused) {
      callback(new AddressRefusedError(hostname, refused.address), '', 0);
      return;
    }
    const first = addresses[0];
    if (!first) {
      const notFound: NodeJS.ErrnoException = new Error(`no address for ${hostname}`);
      notFound.code = 'ENOTFOUND';
      callback(notFound, '', 0);
      return;
    }
    if (options.all) callback(null, addresses);
    else callback(null, first.address, first.family);
  });
};

/** SafeFetchOptions configures one guarded client (one per destination). */
export interface SafeFetchOptions {
  /** Turns the address guard off (the protocol check and the no-redirect rule stay). */
  allowPrivateNetworks: boolean;
  /**
   * Upper bound for connecting (at most 10 s), waiting for headers and between body chunks: a guard per
   * phase. The whole attempt is bounded by the request's signal (see SafeRequestInit.signal).
   */
  timeoutMs: number;
}

/**
 * createGuardedAgent returns the keep-alive connection pool both clients use: connections are reused
 * across requests, and (unless `allowPrivateNetworks`) every new connection goes through guardedLookup.
 * No redirect interceptor is composed, so undici never follows a 3xx.
 */
function createGuardedAgent(options: SafeFetchOptions): Agent {
  const connectTimeoutMs = Math.min(options.timeoutMs, 10_000);
  return new Agent({
    connect: options.allowPrivateNetworks
      ? { timeout: connectTimeoutMs }
      : { timeout: connectTimeoutMs, lookup: guardedLookup },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
}

/** Bytes of a non-2xx response body kept for SafeResponse.bodyPrefix (enough for any excerpt in a detail). */
export const MAX_BODY_PREFIX_BYTES = 4096;
/**
 * Bytes of a response body read (and dropped) so the connection can go back to the pool; a longer body
 * closes the connection instead (the next request opens a new one).
 */
const MAX_DRAIN_BYTES = 64 * 1024;

/** SafeRequestInit is one guarded request: the method, headers and body are sent as given. */
export interface SafeRequestInit {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers: Record<string, string>;
  body?: Buffer | string;
  /**
   * Aborts connecting, the request and the response body: one signal bounds the whole attempt (the pool's
   * own timeouts only bound each phase, and a body that trickles never trips them). An AbortSignal, or an
   * EventEmitter with `aborted` that emits `abort` (what undici takes, far cheaper to make).
   */
  signal?: AbortSignal | (EventEmitter & { readonly aborted: boolean });
}

/**
 * SafeResponse is a response whose body has already been consumed (the connection is back in the pool
 * or closed): the status, the headers (lower-case names) and, for a non-2xx status, the first bytes of
 * the body.
 */
export interface SafeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /**
   * Up to MAX_BODY_PREFIX_BYTES of the body for a non-2xx status (empty when it failed to arrive); always
   * empty for 2xx, whose body is discarded unread.
   */
  bodyPrefix: Buffer;
  /** True when the signal ended the body before it did (the status and headers had arrived). */
  bodyCut: boolean;
}

/** headerValue returns a response header's (first) value, or undefined when absent. */
export function headerValue(response: SafeResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * SafeRequest sends one guarded request and consumes the response body before resolving. It throws like
 * undici does (the lookup's AddressRefusedError as it is, or in the cause chain; the AddressRefusedError
 * itself for literals); callers turn that into a value with findAddressRefused.
 */
export interface SafeRequest {
  (url: string | URL, init: SafeRequestInit): Promise<SafeResponse>;
  /**
   * close releases the pooled connections. Requests still in flight are aborted (their callers see a
   * network failure and the message is retried: delivery is at-least-once).
   */
  close(): Promise<void>;
}

/** A URL that passed checkTarget, split the way Dispatcher.request wants it. */
interface Target {
  href: string;
  origin: string;
  path: string;
}

/**
 * createSafeRequest returns a guarded request function on one long-lived keep-alive Agent (per
 * destination). Like createSafeFetch it never follows a redirect, never speaks anything but http/https,
 * and (unless `allowPrivateNetworks`) never connects to an address in BLOCKED_RANGES. Every response body
 * is read to the end or the connection is closed, so a pooled socket is never left half-read.
 */
export function createSafeRequest(options: SafeFetchOptions): SafeRequest {
  const agent = createGuardedAgent(options);
  // Destinations post to one fixed URL: remember the last one that passed the checks (the result of
  // checkTarget depends only on the URL and this instance's options; hostnames are checked per connection).
  let last: Target | undefined;

  const targetOf = (input: string | URL): Target => {
    const href = typeof input === 'string' ? input : input.href;
    if (last?.href === href) return last;
    const url = typeof input === 'string' ? new URL(input) : input;
    const problem = checkTarget(url, options.allowPrivateNetworks);
    if (problem) throw problem;
    last = { href, origin: url.origin, path: `${url.pathname}${url.search}` };
    return last;
  };

  const safeRequest = async (input: string | URL, init: SafeRequestInit): Promise<SafeResponse> => {
    const target = targetOf(input);
    const response = await agent.request({
      origin: target.origin,
      path: target.path,
      method: init.method,
      headers: init.headers,
      body: init.body ?? null,
      signal: init.signal ?? null,
    });
    const { statusCode: status, headers, body } = response;
    const signal = init.signal;
    if (status >= 200 && status < 300) {
      // A body that fails only costs the connection: the peer has already accepted the request. The
      // request's signal destroys the body when it fires (undici), which ends the dump.
      await body.dump({ limit: MAX_DRAIN_BYTES });
      return { status, headers, bodyPrefix: EMPTY, bodyCut: signal?.aborted === true };
    }
    const bodyPrefix = await readPrefix(body);
    return { status, headers, bodyPrefix, bodyCut: signal?.aborted === true };
  };
  return Object.assign(safeRequest, { close: () => agent.destroy() });
}

const EMPTY = Buffer.alloc(0);

/**
 * readPrefix keeps the first MAX_BODY_PREFIX_BYTES of a body and drains the rest (up to MAX_DRAIN_BYTES,
 * then the connection is closed). It never throws: a body that fails to arrive, or that the request's
 * signal cuts, keeps what came.
 */
async function readPrefix(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  body.on('data', (chunk: Buffer) => {
    if (size < MAX_BODY_PREFIX_BYTES) chunks.push(chunk);
    size += chunk.byteLength;
    if (size > MAX_DRAIN_BYTES) body.destroy();
  });
  try {
    await finished(body);
  } catch {
    // Destroyed past MAX_DRAIN_BYTES, cut by the signal, aborted or broken: the prefix is what arrived.
  }
  const prefix = Buffer.concat(chunks);
  return prefix.byteLength > MAX_BODY_PREFIX_BYTES ? prefix.subarray(0, MAX_BODY_PREFIX_BYTES) : prefix;
}

/** The init a SafeFetch accepts: undici's, plus a body that may be a Node global FormData (what the SDKs build). */
export type SafeFetchInit = Omit<RequestInit, 'body' | 'redirect' | 'dispatcher'> & {
  body?: RequestInit['body'] | globalThis.FormData;
};

/**
 * SafeFetch is `fetch` with the guard applied. It throws like fetch does (a refused address is a
 * `TypeError('fetch failed')` whose cause chain holds an AddressRefusedError, or the AddressRefusedError
 * itself for literals); callers turn that into a value with findAddressRefused.
 */
export interface SafeFetch {
  (url: string | URL, init?: SafeFetchInit): Promise<Response>;
  /**
   * close releases the pooled connections. Requests still in flight are aborted (their callers see a
   * network failure and the message is retried: delivery is at-least-once).
   */
  close(): Promise<void>;
}

/**
 * createSafeFetch returns a guarded fetch with its own keep-alive connection pool, for SDKs that take a
 * fetch (adapters that build their own requests use createSafeRequest, which costs far less CPU). It never
 * follows a redirect, never speaks anything but http/https, and (unless `allowPrivateNetworks`) never
 * connects to an address in BLOCKED_RANGES, whatever DNS says at the moment of connecting.
 */
export function createSafeFetch(options: SafeFetchOptions): SafeFetch {
  const agent: Dispatcher = createGuardedAgent(options);
  const safeFetch = async (input: string | URL, init: SafeFetchInit = {}): Promise<Response> => {
    const url = typeof input === 'string' ? new URL(input) : input;
    const problem = checkTarget(url, options.allowPrivateNetworks);
    if (problem) throw problem;
    const { body, headers, ...rest } = init;
    const prepared = await prepareBody(body, headers);
    return undiciFetch(url, { ...rest, ...prepared, redirect: 'manual', dispatcher: agent });
  };
  return Object.assign(safeFetch, { close: () => agent.destroy() });
}

/**
 * prepareBody serialises a Node global FormData (built by @slack/web-api and @discordjs/rest) to bytes:
 * undici's own fetch only recognises undici's FormData class and would send "[object FormData]".
 */
async function prepareBody(
  body: SafeFetchInit['body'],
  headers: RequestInit['headers'],
): Promise<Pick<RequestInit, 'body' | 'headers'>> {
  if (!(body instanceof globalThis.FormData)) {
    return body === undefined ? { headers } : { body: body as RequestInit['body'], headers };
  }
  const encoded = new globalThis.Response(body);
  const contentType = encoded.headers.get('content-type') ?? 'multipart/form-data';
  const bytes = Buffer.from(await encoded.arrayBuffer());
  const merged = new Headers(headers);
  merged.set('content-type', contentType);
  return { body: bytes, headers: Object.fromEntries(merged.entries()) };
}
