import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HookrelayError } from '../lib/errors.js';
import { AdminErrorCode, adminError } from './errors.js';
import { isLoopbackHost } from './settings.js';

/*
 * Who may use the admin listener, and how a browser session is kept safe from cross-site requests.
 *
 * - With HOOKRELAY_ADMIN_TOKEN set, every request needs `Authorization: Bearer <token>` or a session
 *   cookie from the login form. Without it (only allowed on a loopback address) requests need none, but
 *   the Host header must name this machine, so a DNS-rebinding page cannot talk to the listener.
 * - Sessions are stateless: the cookie is `<id>.<expires>.<mac>`, the MAC keyed by the token (so every
 *   instance sharing the token accepts it, and changing the token ends every session). Without a token
 *   the key is random per process and the session exists only to carry the CSRF token.
 * - A mutating request with a session cookie must carry that session's CSRF token (form field `_csrf`
 *   or header `x-csrf-token`) and an Origin (or Referer) naming this listener. Bearer requests need
 *   neither: a browser never adds an Authorization header by itself. A request with neither a cookie
 *   nor a token that looks like it comes from a browser (Origin, Referer or Sec-Fetch-* headers) is
 *   refused, so a page elsewhere cannot post to a token-less listener on 127.0.0.1.
 */

export const SESSION_COOKIE = 'hookrelay_session';
/** How long a login lasts. */
export const SESSION_TTL_MS = 12 * 3_600_000;

/** Identity is how a request was let in. */
export type Identity =
  | { kind: 'bearer' }
  | { kind: 'session'; sessionId: string; csrfToken: string }
  /** No token configured and no session yet (a CLI or curl on this machine, or a first page view). */
  | { kind: 'open' };

export interface AuthOptions {
  token?: string;
  now: () => number;
  /** Extra host names the Host header may carry when no token is set (ADMIN_HOST itself is added). */
  bindHost: string;
}

export interface Auth {
  readonly tokenRequired: boolean;
  /** authenticate returns the request's identity or throws 401 (or 421 for a foreign Host). */
  authenticate(request: FastifyRequest): Identity;
  /** checkMutation throws 403 when a mutating request lacks its CSRF token or comes from another origin. */
  checkMutation(request: FastifyRequest, identity: Identity, body: unknown): void;
  /** checkOrigin throws 403 unless Origin (or Referer) names this listener; for the login form. */
  checkOrigin(request: FastifyRequest): void;
  /** login checks a token given in the login form, in constant time. */
  tokenMatches(candidate: string): boolean;
  /** startSession sets a fresh session cookie on `reply` and returns the session identity. */
  startSession(request: FastifyRequest, reply: FastifyReply): Extract<Identity, { kind: 'session' }>;
  /** endSession clears the session cookie. */
  endSession(request: FastifyRequest, reply: FastifyReply): void;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** isMutating says whether a method changes state (and so needs the CSRF checks). */
export function isMutating(method: string): boolean {
  return MUTATING.has(method.toUpperCase());
}

/** constantTimeEqual compares two strings without leaking where they differ or their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** parseCookies reads a Cookie header into name → value (the first of duplicate names wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(at + 1).trim());
  }
  return cookies;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function hostOf(url: string | undefined): string | undefined {
  if (url === undefined || url === '' || url === 'null') return undefined;
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The name part of a Host header (`127.0.0.1:3001` → `127.0.0.1`, `[::1]:3001` → `::1`). */
function hostName(hostHeader: string): string {
  const text = hostHeader.trim().toLowerCase();
  if (text.startsWith('[')) return text.slice(1, text.indexOf(']'));
  const colon = text.lastIndexOf(':');
  return colon === -1 ? text : text.slice(0, colon);
}

function csrfFrom(request: FastifyRequest, body: unknown): string | undefined {
  const fromHeader = header(request, 'x-csrf-token');
  if (fromHeader !== undefined) return fromHeader;
  if (typeof body === 'object' && body !== null && '_csrf' in body) {
    const value = (body as { _csrf: unknown })._csrf;
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

/** createAuth builds the checks for one admin listener. */
export function createAuth(options: AuthOptions): Auth {
  const { token, now } = options;
  const key =
    token === undefined
      ? randomBytes(32)
      : createHmac('sha256', 'hookrelay admin session key').update(token, 'utf8').digest();
  const mac = (text: string) => createHmac('sha256', key).update(text, 'utf8').digest('base64url');
  const csrfTokenFor = (sessionId: string) => mac(`csrf:${sessionId}`);

  const sessionOf = (request: FastifyRequest): Extract<Identity, { kind: 'session' }> | undefined => {
    const value = parseCookies(header(request, 'cookie')).get(SESSION_COOKIE);
    if (value === undefined) return undefined;
    const [sessionId, expires, signature, ...rest] = value.split('.');
    if (rest.length > 0 || !sessionId || !expires || !signature) return undefined;
    if (!constantTimeEqual(signature, mac(`${sessionId}.${expires}`))) return undefined;
    if (!(Number(expires) > now())) return undefined;
    return { kind: 'session', sessionId, csrfToken: csrfTokenFor(sessionId) };
  };

  const fromBrowser = (request: FastifyRequest) =>
    ['origin', 'referer', 'sec-fetch-site'].some((name) => header(request, name) !== undefined);

  const originProblem = (request: FastifyRequest): HookrelayError | undefined => {
    const own = (header(request, 'host') ?? '').toLowerCase();
    const origin = header(request, 'origin');
    const claimed = origin !== undefined ? hostOf(origin) : hostOf(header(request, 'referer'));
    if (claimed === undefined) {
      return adminError(AdminErrorCode.origin, 'refused: the request names no Origin or Referer', 403);
    }
    if (claimed !== own) {
      return adminError(AdminErrorCode.origin, 'refused: the request comes from another origin', 403);
    }
    return undefined;
  };

  const secure = (request: FastifyRequest) => request.protocol === 'https';
  const cookie = (request: FastifyRequest, value: string, maxAgeSeconds: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}` +
    (secure(request) ? '; Secure' : '');

  return {
    tokenRequired: token !== undefined,

    authenticate(request) {
      if (token === undefined) {
        const host = hostName(header(request, 'host') ?? '');
        if (!isLoopbackHost(host) && host !== options.bindHost.toLowerCase()) {
          throw adminError(
            AdminErrorCode.host,
            'refused: this dashboard has no token, so it answers only to its own address',
            421,
          );
        }
        return sessionOf(request) ?? { kind: 'open' };
      }
      const authorization = header(request, 'authorization');
      if (authorization !== undefined) {
        const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
        if (match?.[1] !== undefined && constantTimeEqual(match[1], token)) return { kind: 'bearer' };
        throw adminError(AdminErrorCode.unauthorized, 'the admin token is missing or wrong', 401);
      }
      const session = sessionOf(request);
      if (session) return session;
      throw adminError(AdminErrorCode.unauthorized, 'log in, or send Authorization: Bearer <token>', 401);
    },

    checkMutation(request, identity, body) {
      if (identity.kind === 'bearer') return;
      if (identity.kind === 'open') {
        if (fromBrowser(request)) {
          throw adminError(AdminErrorCode.csrf, 'refused: no session; reload the page and try again', 403);
        }
        return;
      }
      const problem = originProblem(request);
      if (problem) throw problem;
      const given = csrfFrom(request, body);
      if (given === undefined || !constantTimeEqual(given, identity.csrfToken)) {
        throw adminError(
          AdminErrorCode.csrf,
          'refused: the CSRF token is missing or wrong; reload the page',
          403,
        );
      }
    },

    checkOrigin(request) {
      const problem = originProblem(request);
      if (problem) throw problem;
    },

    tokenMatches(candidate) {
      return token !== undefined && constantTimeEqual(candidate, token);
    },

    startSession(request, reply) {
      const sessionId = randomBytes(18).toString('base64url');
      const expires = String(now() + SESSION_TTL_MS);
      reply.header(
        'set-cookie',
        cookie(request, `${sessionId}.${expires}.${mac(`${sessionId}.${expires}`)}`, SESSION_TTL_MS / 1000),
      );
      return { kind: 'session', sessionId, csrfToken: csrfTokenFor(sessionId) };
    },

    endSession(request, reply) {
      reply.header('set-cookie', cookie(request, '', 0));
    },
  };
}
