import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Liquid } from 'liquidjs';
import { HookrelayError } from '../lib/errors.js';
import { registerApi } from './api.js';
import { assetsDir, htmxPath } from './assets.js';
import { type Auth, createAuth, type Identity, isMutating } from './auth.js';
import { AdminErrorCode } from './errors.js';
import { createEvaluate, type EvaluateInput, type EvaluateResult } from './evaluate.js';
import { NAV, registerPages } from './pages.js';
import { type AdminContext, type AdminService, createAdminService, type ReloadOutcome } from './service.js';
import type { AdminSettings } from './settings.js';
import { createSilenceActions, type SilenceActions } from './silence-actions.js';
import { createStreamHub, type StreamHub } from './stream.js';
import { createViews } from './views.js';

/*
 * The admin listener: a Fastify instance of its own, on its own port, so the public webhook port serves
 * none of it. Every response carries a strict Content-Security-Policy (no inline script or style, nothing
 * from another origin); every request passes the auth checks of auth.ts before its route runs.
 */

/** The policy of every page: only this origin's files, no inline code, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/** Largest request body: a pasted webhook with a base64 screenshot fits. */
const BODY_LIMIT_BYTES = 12 * 1024 * 1024;

/** AdminActions is what the route modules use. */
export interface AdminActions {
  service: AdminService;
  silences: SilenceActions;
  evaluate(input: EvaluateInput): Promise<EvaluateResult>;
  stream: StreamHub;
  auth: Auth;
  views: Liquid;
  now(): number;
  reload(): Promise<ReloadOutcome>;
  securityHeaders(): Record<string, string>;
  /** identity returns how the request was let in (set by the auth hook). */
  identity(request: FastifyRequest): Identity;
  /** setIdentity records a session started during the request (first page view, login). */
  setIdentity(request: FastifyRequest, identity: Identity): void;
}

/** AdminServer is the listener and its lifecycle. */
export interface AdminServer {
  server: FastifyInstance;
  /** listen binds ADMIN_HOST:ADMIN_PORT and resolves with the address. */
  listen(): Promise<string>;
  /** close ends live streams and stops listening. */
  close(): Promise<void>;
}

/** isApi says whether a URL is answered in JSON (the API) rather than HTML (a page). */
export function isApi(url: string): boolean {
  return url === '/api' || url.startsWith('/api/');
}

function parseForm(body: string): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const existing = form[key];
    if (existing === undefined) form[key] = value;
    else form[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return form;
}

/** createAdminServer builds the admin listener over a running relay. */
export function createAdminServer(context: AdminContext, settings: AdminSettings): AdminServer {
  const now = () => context.clock.now();
  const assets = assetsDir();
  const auth = createAuth({
    ...(settings.token ? { token: settings.token } : {}),
    now,
    bindHost: settings.host,
  });
  const service = createAdminService(context);
  const silences = createSilenceActions(context, service);
  const evaluate = createEvaluate(context, service);
  const stream = createStreamHub({ store: context.store, service, logger: context.logger });
  const views = createViews(assets, now);
  const identities = new WeakMap<FastifyRequest, Identity>();

  const server = Fastify({
    loggerInstance: context.logger.child({ component: 'admin' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    forceCloseConnections: true,
  });

  const actions: AdminActions = {
    service,
    silences,
    evaluate,
    stream,
    auth,
    views,
    now,
    async reload() {
      if (context.reload === undefined)
        return { ok: false, errors: ['this process cannot reload its rules file'] };
      return context.reload();
    },
    securityHeaders: () => ({ ...SECURITY_HEADERS }),
    identity: (request) => identities.get(request) ?? { kind: 'open' },
    setIdentity: (request, identity) => identities.set(request, identity),
  };

  server.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => {
      done(null, parseForm(String(body)));
    },
  );

  server.addHook('onRequest', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (!request.url.startsWith('/static/')) reply.header('cache-control', 'no-store');
    const path = request.url.split('?')[0] ?? '';
    if (path.startsWith('/static/') || path === '/login' || path === '/favicon.ico') return;
    identities.set(request, auth.authenticate(request));
  });

  server.addHook('preHandler', async (request) => {
    if (!isMutating(request.method)) return;
    const path = request.url.split('?')[0] ?? '';
    if (path === '/login') return;
    auth.checkMutation(request, actions.identity(request), request.body);
  });

  const statics: Record<string, { type: string; body: Buffer }> = {
    '/static/app.css': {
      type: 'text/css; charset=utf-8',
      body: readFileSync(join(assets, 'static', 'app.css')),
    },
    '/static/app.js': {
      type: 'text/javascript; charset=utf-8',
      body: readFileSync(join(assets, 'static', 'app.js')),
    },
    '/static/htmx.min.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(htmxPath()) },
  };
  // A favicon, so browsers do not log a 404 on every page.
  statics['/favicon.ico'] = {
    type: 'image/svg+xml',
    body: Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1l7 7-7 7-7-7z" fill="#818cf8"/></svg>',
    ),
  };
  for (const [path, file] of Object.entries(statics)) {
    server.get(path, async (_request, reply) =>
      reply.header('content-type', file.type).header('cache-control', 'public, max-age=300').send(file.body),
    );
  }

  registerApi(server, actions);
  registerPages(server, actions);

  const sendError = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    code: string,
    message: string,
  ) => {
    if (isApi(request.url) || reply.sent) {
      if (!reply.sent) await reply.code(status).send({ error: { code, message } });
      return;
    }
    const template = status === 401 ? 'login' : 'error';
    const identity = identities.get(request);
    const html = await views.renderFile(template, {
      status,
      code,
      message,
      next: request.url.startsWith('/') && !request.url.startsWith('//') ? request.url : '/',
      nav: NAV,
      notice: '',
      now: now(),
      csrfToken: identity?.kind === 'session' ? identity.csrfToken : '',
      tokenRequired: auth.tokenRequired,
      page: template,
      loggedIn: identity?.kind === 'session' && auth.tokenRequired,
      error: '',
    });
    await reply.code(status).type('text/html; charset=utf-8').send(html);
  };

  server.setNotFoundHandler(async (request, reply) =>
    sendError(
      request,
      reply,
      404,
      AdminErrorCode.notFound,
      `no such page: ${request.method} ${request.url.split('?')[0]}`,
    ),
  );

  server.setErrorHandler(async (error, request, reply) => {
    if (error instanceof HookrelayError && error.statusCode !== undefined) {
      if (error.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="hookrelay admin"');
      return sendError(request, reply, error.statusCode, error.code, error.message);
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Fastify's own refusals (a body that is not JSON, too large): short, and no internals.
      const message = status === 413 ? 'the request body is too large' : 'the request cannot be read';
      return sendError(request, reply, status, AdminErrorCode.badRequest, message);
    }
    request.log.error(
      { err: error, code: AdminErrorCode.internal, url: request.url },
      'admin request failed',
    );
    return sendError(request, reply, 500, AdminErrorCode.internal, 'internal error; see the relay log');
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    async listen() {
      return server.listen({ host: settings.host, port: settings.port });
    },
    close() {
      closing ??= (async () => {
        stream.close();
        await server.close();
      })();
      return closing;
    },
  };
}
