import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../lib/clock.js';
import type { Metrics } from '../lib/metrics.js';
import type { EventLog } from '../store/ports.js';
import type { ByteBudget } from './body-budget.js';
import { clientAddress } from './client-address.js';
import { parseJsonBody } from './json-body.js';
import { BodyErrorCode, readBody } from './read-body.js';
import type { IngestSource } from './source.js';

export interface WebhookRoutesOptions {
  /** Looked up per request, so a config reload can swap sources without re-registering routes. */
  getSource: (name: string) => IngestSource | undefined;
  /** Caps the body bytes held before verification, across all requests (`server.maxBufferedSize`). */
  budget: ByteBudget;
  /** Proxies in front whose X-Forwarded-For entries are trusted (`server.trustProxyHops`); read per request. */
  trustProxyHops: () => number;
  events: EventLog;
  clock: Clock;
  metrics: Metrics;
}

/** BUSY_RETRY_AFTER_SECONDS is the Retry-After of a 503 for a spent buffered-body budget. */
const BUSY_RETRY_AFTER_SECONDS = 1;
/** STORE_RETRY_AFTER_SECONDS is the Retry-After of a 503 for an append the store could not commit. */
const STORE_RETRY_AFTER_SECONDS = 5;

interface SourceParams {
  source: string;
}

/** Content types a webhook body may declare. A missing header is accepted: Trackpilots documents none. */
function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined || header === '' || header === 'application/json') return true;
  const mediaType = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return (
    mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'))
  );
}

function refuse(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error });
}

/**
 * webhookRoutes registers `POST /webhooks/:source`. Verification runs on the raw bytes before any
 * parsing; the reply is 2xx only after the items are durable. Refusals carry a generic reason: the precise
 * one (which check failed) goes to the log and the metric label, never to the caller.
 */
export async function webhookRoutes(fastify: FastifyInstance, options: WebhookRoutesOptions): Promise<void> {
  const { getSource, budget, trustProxyHops, events, clock, metrics } = options;

  // Raw bytes for every content type in this scope only; the handler decides what is acceptable. The
  // reader enforces the source's own size limit and the shared budget chunk by chunk, as bytes arrive.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (request, payload, done) => {
    const source = getSource((request.params as SourceParams).source);
    readBody(payload, { maxBytes: source?.maxBodyBytes ?? 0, budget }, done);
  });

  fastify.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    const source = (request.params as Partial<SourceParams>).source ?? 'unknown';
    if (error.code === BodyErrorCode.tooLarge || error.code === BodyErrorCode.busy) {
      // Fastify closes the connection after a body it stopped reading, and a close while the client is
      // still sending resets the connection: the client would never see this answer. Node reads the rest
      // and throws it away instead (nothing is held; requestTimeout still ends a body that never ends).
      reply.removeHeader('connection');
    }
    if (error.code === BodyErrorCode.tooLarge) {
      metrics.webhooksReceived.inc({ source, outcome: error.code });
      return refuse(reply, 413, 'payload too large');
    }
    if (error.code === BodyErrorCode.busy) {
      // Nothing was read to the end, nothing promised: a sender that retries shortly finds room again.
      metrics.webhooksReceived.inc({ source, outcome: error.code });
      return refuse(
        reply.header('retry-after', String(BUSY_RETRY_AFTER_SECONDS)),
        503,
        'temporarily unavailable',
      );
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      metrics.webhooksReceived.inc({ source, outcome: 'HR_ERR_INGEST_BAD_REQUEST' });
      return refuse(reply, error.statusCode, 'bad request');
    }
    if (error.code?.startsWith('HR_ERR_STORE_')) {
      // Nothing was promised: the sender keeps the event and may retry. The store logs its failures
      // itself, once per interval with a count; a stack per request filled the disk it was failing on.
      request.log.debug({ source, code: error.code }, 'event log unavailable');
      metrics.webhooksReceived.inc({ source, outcome: error.code });
      // Retry-After: a database that is restarting or failing over is usually back within seconds, and a
      // load balancer or sender that honours it retries (here or on another instance) instead of giving up.
      return refuse(
        reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS)),
        503,
        'temporarily unavailable',
      );
    }
    request.log.error({ err: error, source }, 'webhook handling failed');
    metrics.webhooksReceived.inc({ source, outcome: 'HR_ERR_INGEST_INTERNAL' });
    return refuse(reply, 500, 'internal error');
  });

  // Cheap refusals happen before the body is read. A callback hook, not an async one: it runs for every
  // request, and an async hook costs a promise and a microtask turn each time. A refusal sends the reply
  // and does not call `done`, which ends the request there.
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const name = (request.params as SourceParams).source;
    const source = getSource(name);
    if (!source) {
      metrics.webhooksReceived.inc({ source: 'unknown', outcome: 'HR_ERR_INGEST_UNKNOWN_SOURCE' });
      refuse(reply, 404, 'unknown source');
      return;
    }
    if (source.allows !== undefined) {
      const address = clientAddress(
        request.raw.socket.remoteAddress,
        request.headers['x-forwarded-for'],
        trustProxyHops(),
      );
      if (address === undefined || !source.allows(address)) {
        request.log.warn(
          { source: name, code: 'HR_ERR_INGEST_ADDRESS_REFUSED', address: address ?? 'unknown' },
          'webhook refused: client address not in allowFrom',
        );
        metrics.webhooksReceived.inc({ source: name, outcome: 'HR_ERR_INGEST_ADDRESS_REFUSED' });
        refuse(reply, 403, 'forbidden');
        return;
      }
    }
    if (!isJsonContentType(request.headers['content-type'])) {
      metrics.webhooksReceived.inc({ source: name, outcome: 'HR_ERR_INGEST_MEDIA_TYPE' });
      refuse(reply, 415, 'content type must be application/json');
      return;
    }
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > source.maxBodyBytes) {
      metrics.webhooksReceived.inc({ source: name, outcome: 'HR_ERR_INGEST_TOO_LARGE' });
      refuse(reply, 413, 'payload too large');
      return;
    }
    done();
  });

  fastify.post<{ Params: SourceParams; Body: Buffer | undefined }>(
    '/webhooks/:source',
    async (request, reply) => {
      const name = request.params.source;
      const source = getSource(name);
      if (!source) return refuse(reply, 404, 'unknown source');
      // The reader has held the body to the source's limit already.
      const rawBody = request.body ?? Buffer.alloc(0);

      const receivedAt = clock.now();
      const verdict = source.verify(request.headers, rawBody, receivedAt);
      if (!verdict.ok) {
        request.log.warn({ source: name, code: verdict.code }, 'webhook signature refused');
        metrics.webhooksReceived.inc({ source: name, outcome: verdict.code });
        return refuse(reply, 401, 'unauthorized');
      }

      // The depth bound comes before parsing, so no later stage (content hash, rendering, delivery) ever
      // meets a recursion that overflows the stack.
      const parsed = parseJsonBody(rawBody);
      if (!parsed.ok) {
        request.log.warn({ source: name, code: parsed.code }, 'webhook body refused');
        metrics.webhooksReceived.inc({ source: name, outcome: parsed.code });
        return refuse(reply, 400, parsed.reason);
      }
      const payload = parsed.payload;

      const normalised = source.normalize(payload, { source: name, receivedAt, headers: request.headers });
      if (!normalised.ok) {
        request.log.warn(
          { source: name, code: normalised.code, reason: normalised.reason },
          'webhook payload refused',
        );
        metrics.webhooksReceived.inc({ source: name, outcome: normalised.code });
        return refuse(reply, 400, normalised.reason);
      }
      for (const warning of normalised.warnings) {
        request.log.warn({ source: name, event: normalised.event, warning }, 'webhook payload warning');
      }

      const stopTimer = metrics.ingestSeconds.startTimer({ source: name });
      const result = await events.append({
        request: { source: name, event: normalised.event, receivedAt, body: rawBody },
        events: normalised.events,
      });
      stopTimer();
      metrics.webhooksReceived.inc({ source: name, outcome: 'accepted' });
      metrics.eventsStored.inc({ source: name }, result.stored);
      metrics.eventsDuplicate.inc({ source: name }, result.duplicates);
      return reply.code(200).send({ ok: true, stored: result.stored, duplicates: result.duplicates });
    },
  );
}
