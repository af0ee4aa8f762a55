import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { Metrics } from '../lib/metrics.js';
import type { EventLog } from '../store/ports.js';
import { clientAddress } from './client-address.js';
import { parseJsonBody } from './json-body.js';
import { BodyErrorCode } from './read-body.js';
import type { IngestSource } from './source.js';

/** BUSY_RETRY_AFTER_SECONDS is the Retry-After of a 503 for a spent buffered-body budget. */
const BUSY_RETRY_AFTER_SECONDS = 1;
/** STORE_RETRY_AFTER_SECONDS is the Retry-After of a 503 for an append the store could not commit. */
const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * WebhookAnswer is what `POST /webhooks/:source` answers, before any transport writes it: the status, the
 * JSON body's text and the headers of its own (content type and length are the writer's).
 */
export interface WebhookAnswer {
  status: number;
  body: string;
  headers: Readonly<Record<string, string>>;
  /**
   * How the connection is treated: `close` closes it after the answer (a body that broke off); `unannounced`
   * sends no Connection header and keeps it, reading and discarding the rest of a body that was refused
   * while it arrived (a close while the client still sends resets the connection, and the client would
   * never see the answer). Undefined: Node's default (keep-alive when the client asked for it).
   */
  connection?: 'close' | 'unannounced';
}

/** WebhookRequest is one request to the route, as the core needs it: no framework object in sight. */
export interface WebhookRequest {
  /** The `:source` of the path, decoded. */
  name: string;
  headers: IncomingHttpHeaders;
  /** The TCP peer's address (the socket's remoteAddress). */
  peer: string | undefined;
  /** The request id every log line of this request carries as `reqId`. */
  requestId: string;
}

export interface WebhookHandlerOptions {
  /** Looked up per request, so a config reload can swap sources without rebuilding the handler. */
  getSource: (name: string) => IngestSource | undefined;
  /** Proxies in front whose X-Forwarded-For entries are trusted (`server.trustProxyHops`); read per request. */
  trustProxyHops: () => number;
  events: EventLog;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
}

/** Admission is the verdict on a request's head: read its body for `source`, or answer at once. */
export type Admission = { ok: true; source: IngestSource } | { ok: false; answer: WebhookAnswer };

/**
 * WebhookHandler is the webhook route's semantics with no HTTP framework: what to answer, count and log
 * for a request's head, for a body that could not be read, and for a body that was. Its methods never
 * throw and `accept` never rejects: every failure is an answer.
 */
export interface WebhookHandler {
  /** Cheap refusals, before a byte of the body is read. */
  admit(request: WebhookRequest): Admission;
  /** The answer for a body the reader stopped reading (a HookrelayError of read-body.ts, or anything). */
  bodyFailed(request: WebhookRequest, error: Error & { code?: string }): WebhookAnswer;
  /** Verifies, parses, normalises and appends a body read in full; resolves once it is durable or refused. */
  accept(request: WebhookRequest, rawBody: Buffer): Promise<WebhookAnswer>;
}

const JSON_ANSWERS = new Map<string, string>();

/** refusal is an answer of `{ error }` that no cache keeps; the few distinct texts are encoded once. */
function refusal(status: number, error: string, extra?: Record<string, string>): WebhookAnswer {
  let body = JSON_ANSWERS.get(error);
  if (body === undefined) {
    body = JSON.stringify({ error });
    if (JSON_ANSWERS.size < 64) JSON_ANSWERS.set(error, body);
  }
  return { status, body, headers: { ...extra, 'cache-control': 'no-store' } };
}

/** Content types a webhook body may declare. A missing header is accepted: Trackpilots documents none. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined || header === '' || header === 'application/json') return true;
  const mediaType = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return (
    mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'))
  );
}

// RFC 9110 token characters: a media type's type and subtype consist of them (§8.3.1, §5.6.2).
const TYPE_NAME = /^[\w!#$%&'*+.^`|~-]+$/;
const SUBTYPE_NAME = /^[\w!#$%&'*+.^`|~-]+\s*$/;

/**
 * isWellFormedMediaType says whether a Content-Type that is present is a `type/subtype[; params]` at all.
 * The route answered a malformed one (an empty header among them) 415 "bad request" while it ran on
 * Fastify, whose content-type parsing refused it: the same rule, kept so the answers stay the same.
 */
export function isWellFormedMediaType(header: string): boolean {
  // What nearly every sender declares, without the two regular expressions.
  if (header === 'application/json' || header === 'application/json; charset=utf-8') return true;
  if (header === '' || header === 'undefined') return false;
  const semicolon = header.indexOf(';');
  const mediaType = semicolon === -1 ? header : header.slice(0, semicolon);
  const slash = mediaType.indexOf('/');
  if (slash === -1) return false;
  const type = mediaType.slice(0, slash).trimStart().toLowerCase();
  const subtype = mediaType
    .slice(slash + 1)
    .trimEnd()
    .toLowerCase();
  return TYPE_NAME.test(type) && SUBTYPE_NAME.test(subtype);
}

/**
 * createWebhookHandler builds the route's core. Verification runs on the raw bytes before any parsing; the
 * answer is 2xx only after the items are durable. Refusals carry a generic reason: the precise one (which
 * check failed) goes to the log and the metric label, never to the caller.
 */
export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const { getSource, trustProxyHops, events, clock, metrics, logger } = options;
  // A child per request only when it logs: most requests log nothing, and a child costs an object.
  const log = (request: WebhookRequest): Logger => logger.child({ reqId: request.requestId });
  const count = (source: string, outcome: string) => metrics.webhooksReceived.inc({ source, outcome });

  /** failed answers an error thrown on the way: the store's (503, retry) or anything else (500). */
  function failed(request: WebhookRequest, error: unknown): WebhookAnswer {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('HR_ERR_STORE_')) {
      // Nothing was promised: the sender keeps the event and may retry. The store logs its failures
      // itself, once per interval with a count; a stack per request filled the disk it was failing on.
      log(request).debug({ source: request.name, code }, 'event log unavailable');
      count(request.name, code);
      // Retry-After: a database that is restarting or failing over is usually back within seconds, and a
      // load balancer or sender that honours it retries (here or on another instance) instead of giving up.
      return refusal(503, 'temporarily unavailable', { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) });
    }
    log(request).error({ err: error, source: request.name }, 'webhook handling failed');
    count(request.name, 'HR_ERR_INGEST_INTERNAL');
    return refusal(500, 'internal error');
  }

  async function verifyAndAppend(request: WebhookRequest, rawBody: Buffer): Promise<WebhookAnswer> {
    const { name, headers } = request;
    // Looked up again: a reload while the body arrived may have changed the source (its secrets) or
    // removed it.
    const source = getSource(name);
    if (!source) return refusal(404, 'unknown source');
    const receivedAt = clock.now();
    const verdict = source.verify(headers, rawBody, receivedAt);
    if (!verdict.ok) {
      log(request).warn({ source: name, code: verdict.code }, 'webhook signature refused');
      count(name, verdict.code);
      return refusal(401, 'unauthorized');
    }

    // The depth bound comes before parsing, so no later stage (content hash, rendering, delivery) ever
    // meets a recursion that overflows the stack.
    const parsed = parseJsonBody(rawBody);
    if (!parsed.ok) {
      log(request).warn({ source: name, code: parsed.code }, 'webhook body refused');
      count(name, parsed.code);
      return refusal(400, parsed.reason);
    }

    const normalised = source.normalize(parsed.payload, { source: name, receivedAt, headers });
    if (!normalised.ok) {
      log(request).warn(
        { source: name, code: normalised.code, reason: normalised.reason },
        'webhook payload refused',
      );
      count(name, normalised.code);
      return refusal(400, normalised.reason);
    }
    for (const warning of normalised.warnings) {
      log(request).warn({ source: name, event: normalised.event, warning }, 'webhook payload warning');
    }

    const stopTimer = metrics.ingestSeconds.startTimer({ source: name });
    const result = await events.append({
      request: { source: name, event: normalised.event, receivedAt, body: rawBody },
      events: normalised.events,
    });
    stopTimer();
    count(name, 'accepted');
    metrics.eventsStored.inc({ source: name }, result.stored);
    metrics.eventsDuplicate.inc({ source: name }, result.duplicates);
    return {
      status: 200,
      body: `{"ok":true,"stored":${result.stored},"duplicates":${result.duplicates}}`,
      headers: {},
    };
  }

  return {
    admit(request) {
      try {
        const { name, headers } = request;
        const source = getSource(name);
        if (!source) {
          count('unknown', 'HR_ERR_INGEST_UNKNOWN_SOURCE');
          return { ok: false, answer: refusal(404, 'unknown source') };
        }
        if (source.allows !== undefined) {
          const address = clientAddress(request.peer, headers['x-forwarded-for'], trustProxyHops());
          if (address === undefined || !source.allows(address)) {
            log(request).warn(
              { source: name, code: 'HR_ERR_INGEST_ADDRESS_REFUSED', address: address ?? 'unknown' },
              'webhook refused: client address not in allowFrom',
            );
            count(name, 'HR_ERR_INGEST_ADDRESS_REFUSED');
            return { ok: false, answer: refusal(403, 'forbidden') };
          }
        }
        const contentType = headers['content-type'];
        if (!isJsonContentType(contentType)) {
          count(name, 'HR_ERR_INGEST_MEDIA_TYPE');
          return { ok: false, answer: refusal(415, 'content type must be application/json') };
        }
        const declared = Number(headers['content-length']);
        if (Number.isFinite(declared) && declared > source.maxBodyBytes) {
          count(name, 'HR_ERR_INGEST_TOO_LARGE');
          return { ok: false, answer: refusal(413, 'payload too large') };
        }
        if (contentType !== undefined && !isWellFormedMediaType(contentType)) {
          count(name, 'HR_ERR_INGEST_BAD_REQUEST');
          return { ok: false, answer: refusal(415, 'bad request') };
        }
        return { ok: true, source };
      } catch (error) {
        return { ok: false, answer: failed(request, error) };
      }
    },

    bodyFailed(request, error) {
      if (error.code === BodyErrorCode.tooLarge) {
        count(request.name, error.code);
        return { ...refusal(413, 'payload too large'), connection: 'unannounced' };
      }
      if (error.code === BodyErrorCode.busy) {
        // Nothing was read to the end, nothing promised: a sender that retries shortly finds room again.
        count(request.name, error.code);
        return {
          ...refusal(503, 'temporarily unavailable', { 'retry-after': String(BUSY_RETRY_AFTER_SECONDS) }),
          connection: 'unannounced',
        };
      }
      if (error.code === BodyErrorCode.badRequest) {
        // The body broke off or came short: what follows on the connection cannot be trusted to be a request.
        count(request.name, 'HR_ERR_INGEST_BAD_REQUEST');
        return { ...refusal(400, 'bad request'), connection: 'close' };
      }
      return { ...failed(request, error), connection: 'close' };
    },

    accept(request, rawBody) {
      return verifyAndAppend(request, rawBody).catch((error: unknown) => failed(request, error));
    },
  };
}
