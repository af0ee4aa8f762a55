import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ByteBudget } from './body-budget.js';
import { readBody } from './read-body.js';
import type { WebhookAnswer, WebhookHandler, WebhookRequest } from './webhook-handler.js';

/** WEBHOOK_PREFIX is the path every source's URL starts with (DESIGN.md stable name). */
const WEBHOOK_PREFIX = '/webhooks/';
/** The longest `:source` Fastify's router takes (its maxParamLength); longer ones it answers 414. */
const MAX_SOURCE_SEGMENT = 100;
const QUESTION_MARK = 0x3f;
const HASH = 0x23;
const SLASH = 0x2f;
const PERCENT = 0x25;
const EMPTY = Buffer.alloc(0);

/**
 * fastPathSource is the source name of a request target the fast path answers: `/webhooks/<name>`,
 * optionally followed by a query or fragment, with a name of 1–100 characters that needs no decoding.
 * Anything else (percent-encoded names, absolute-form targets, longer names, more segments) is left to
 * Fastify's router, which decodes and answers it as it always has; undefined then.
 */
export function fastPathSource(url: string): string | undefined {
  if (!url.startsWith(WEBHOOK_PREFIX)) return undefined;
  let end = url.length;
  for (let index = WEBHOOK_PREFIX.length; index < url.length; index++) {
    const char = url.charCodeAt(index);
    if (char === QUESTION_MARK || char === HASH) {
      end = index;
      break;
    }
    if (char === SLASH || char === PERCENT) return undefined;
  }
  const length = end - WEBHOOK_PREFIX.length;
  if (length === 0 || length > MAX_SOURCE_SEGMENT) return undefined;
  return url.slice(WEBHOOK_PREFIX.length, end);
}

/**
 * createRequestIds returns the generator of request ids, shared by Fastify (its `genReqId`) and the fast
 * path so that ids stay unique per process: `req-` and a base-36 counter, Fastify's own format.
 */
export function createRequestIds(): () => string {
  // Below 2^31, so the counter stays a small integer for V8 (Fastify wraps it the same way).
  const max = 2_147_483_647;
  let next = 0;
  return () => {
    next = (next + 1) & max;
    return `req-${next.toString(36)}`;
  };
}

/** WebhookServe answers one `POST /webhooks/:source` on node:http's own request and response. */
export type WebhookServe = (
  request: IncomingMessage,
  response: ServerResponse,
  name: string,
  requestId: string,
) => void;

export interface WebhookServeOptions {
  handler: WebhookHandler;
  /** Caps the body bytes held before verification, across all requests (`server.maxBufferedSize`). */
  budget: ByteBudget;
  /** True once shutdown began: every answer then closes its connection. */
  isClosing: () => boolean;
}

/**
 * createWebhookServe is the route's transport: it admits the head, reads the body under the source's
 * limit and the shared budget as bytes arrive (read-body.ts), hands it to the handler and writes the
 * answer. No framework runs on the way; the semantics are all in the handler.
 */
export function createWebhookServe(options: WebhookServeOptions): WebhookServe {
  const { handler, budget, isClosing } = options;

  function write(response: ServerResponse, answer: WebhookAnswer): void {
    if (response.headersSent) return;
    // Node emits no Connection header after removeHeader('connection') and keeps reading the connection,
    // discarding the rest of the body; a close while the client still sends would reset it instead.
    if (answer.connection === 'unannounced') response.removeHeader('connection');
    // A response finished after stop() began closes its connection, so shutdown need not wait for the
    // keep-alive timeout of connections that were busy when it started.
    const close = answer.connection === 'close' || isClosing();
    response.writeHead(answer.status, {
      ...answer.headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(answer.body)),
      ...(close ? { connection: 'close' } : {}),
    });
    response.end(answer.body);
  }

  return (request, response, name, requestId) => {
    const webhook: WebhookRequest = {
      name,
      headers: request.headers,
      peer: request.socket.remoteAddress,
      requestId,
    };
    const admission = handler.admit(webhook);
    if (!admission.ok) {
      write(response, admission.answer);
      return;
    }
    readBody(request, { maxBytes: admission.source.maxBodyBytes, budget }, (error, body) => {
      if (error !== null) {
        write(response, handler.bodyFailed(webhook, error));
        return;
      }
      // accept never rejects; a write that throws (nothing here should) ends this response, not the process.
      handler
        .accept(webhook, body ?? EMPTY)
        .then((answer) => write(response, answer))
        .catch((error: unknown) => response.destroy(error instanceof Error ? error : undefined));
    });
  };
}

/**
 * withWebhookFastPath wraps the listener Fastify gives its serverFactory: `POST /webhooks/<name>` is
 * answered by `serve` before Fastify sees it (Fastify's routing, content-type parsing, hooks and reply
 * serialisation: 5.4% of the main thread's busy time under load, 0.5% with this path; README, Benchmarks),
 * everything else goes on to Fastify. Once shutdown has
 * begun every request goes to Fastify, which answers new ones 503 while it drains, as it always has.
 */
export function withWebhookFastPath(
  fastify: RequestListener,
  serve: WebhookServe,
  nextRequestId: () => string,
  isClosing: () => boolean,
): RequestListener {
  return (request, response) => {
    if (request.method === 'POST' && !isClosing()) {
      const name = fastPathSource(request.url ?? '');
      if (name !== undefined) {
        serve(request, response, name, nextRequestId());
        return;
      }
    }
    fastify(request, response);
  };
}
