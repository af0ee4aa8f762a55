import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebhookServe } from './webhook-listener.js';

export interface WebhookRoutesOptions {
  /** The route's transport and semantics (webhook-listener.ts, webhook-handler.ts). */
  serve: WebhookServe;
}

interface SourceParams {
  source: string;
}

/**
 * webhookRoutes registers `POST /webhooks/:source` on Fastify for the request targets the fast path
 * (webhook-listener.ts) leaves to it: percent-encoded names, absolute-form targets, and every request
 * once shutdown has begun. Fastify's router decodes the name as it always has; the request is then
 * handed, before its body is read, to the same `serve` the fast path uses, so there is one code path for
 * what the route does. The reply is hijacked: Fastify sends nothing for it.
 */
export async function webhookRoutes(fastify: FastifyInstance, options: WebhookRoutesOptions): Promise<void> {
  const { serve } = options;
  // A callback hook, not an async one; after hijack() Fastify runs no further hook, no body parser and
  // not the handler below.
  const takeOver = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    reply.hijack();
    serve(request.raw, reply.raw, (request.params as SourceParams).source, request.id);
    done();
  };
  fastify.post<{ Params: SourceParams }>('/webhooks/:source', { onRequest: takeOver }, async () => undefined);
}
