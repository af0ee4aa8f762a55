import type { Notification } from '../../domain/alert.js';
import { createSafeRequest, headerValue } from '../../lib/safe-fetch.js';
import { standardWebhookSignature } from '../../lib/standard-webhooks.js';
import { serializeAlert } from '../../render/alert-json.js';
import {
  classifyHttpStatus,
  classifyThrown,
  createDeadline,
  createRedactor,
  cutNote,
  excerptOf,
  fail,
  parseRetryAfterMs,
  render,
  safeHost,
  urlSecrets,
} from '../shared.js';
import type { Destination, DestinationDeps, SendContext, SendResult } from '../types.js';
import type { WebhookOptions } from './config.js';

/** Prefix of Standard Webhooks secrets; what follows is the key, base64-encoded. */
const WHSEC_PREFIX = 'whsec_';

/**
 * signingKey returns the HMAC key for a Standard Webhooks secret: the base64-decoded bytes after
 * `whsec_` (as the spec's reference libraries do), or the UTF-8 bytes of a secret without that prefix
 * (what most "shared secret" receivers such as n8n or a Zapier code step will use).
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#signature-scheme
 */
export function signingKey(secret: string): Buffer {
  return secret.startsWith(WHSEC_PREFIX)
    ? Buffer.from(secret.slice(WHSEC_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/**
 * signStandardWebhook returns the `webhook-signature` value, `v1,<base64 HMAC-SHA256>` over
 * `${id}.${timestampSec}.${body}` (the exact bytes sent).
 */
export function signStandardWebhook(secret: string, id: string, timestampSec: number, body: Buffer): string {
  return standardWebhookSignature(signingKey(secret), id, timestampSec, body);
}

/**
 * createWebhookDestination sends each alert as one HTTP request: the Alert as JSON (`body: alert`) or the
 * received payload as it came (`body: event`), with `webhook-id` (the notification id, the same on every
 * attempt) and, when a secret is set, Standard Webhooks `webhook-timestamp` + `webhook-signature`.
 * It never follows a redirect and (unless `allowPrivateNetworks`) never connects to a private address.
 * Requests go through one keep-alive connection pool per destination (undici `Dispatcher.request`, not
 * fetch: a quarter of the CPU per request), closed by `close()`.
 */
export function createWebhookDestination(
  name: string,
  options: WebhookOptions,
  deps: DestinationDeps,
): Destination {
  const now = deps.now ?? Date.now;
  const safeRequest = createSafeRequest({
    allowPrivateNetworks: options.allowPrivateNetworks,
    timeoutMs: options.timeoutMs,
  });
  const host = safeHost(options.url);
  const what = `webhook ${host}`;
  const redact = createRedactor([
    ...urlSecrets(options.url),
    options.signingSecret,
    ...Object.values(options.headers),
  ]);

  async function send(notification: Notification, context: SendContext): Promise<SendResult> {
    let body: Buffer;
    if (options.body === 'event') {
      if (!context.requestBody) {
        return fail(
          'dead',
          'clientError',
          `${what}: body: event, but the received request is no longer stored`,
        );
      }
      body = context.requestBody;
    } else {
      const rendered = render(what, () => Buffer.from(serializeAlert(notification.alert), 'utf8'));
      if (!rendered.ok) return rendered.failure;
      body = rendered.value;
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'hookrelay',
      ...options.headers,
      'webhook-id': notification.id,
    };
    if (options.signingSecret !== undefined) {
      const timestampSec = Math.floor(now() / 1000);
      headers['webhook-timestamp'] = String(timestampSec);
      headers['webhook-signature'] = signStandardWebhook(
        options.signingSecret,
        notification.id,
        timestampSec,
        body,
      );
    }
    // One deadline bounds the whole attempt, the answer's body included (the pool's timeouts bound each
    // phase only, which a body trickling one byte at a time never trips). Its signal is an emitter, not
    // an AbortSignal: measured, an AbortSignal per send cost ~6% of the deliver loop's CPU.
    const deadline = createDeadline(context.signal, options.timeoutMs);
    try {
      const response = await safeRequest(options.url, {
        method: options.method,
        headers,
        body,
        signal: deadline.emitter,
      });
      const failure = classifyHttpStatus(
        response.status,
        parseRetryAfterMs(headerValue(response, 'retry-after'), now()),
        what,
      );
      if (!failure) {
        // The status is the answer: the receiver took the alert, so it is not sent again.
        return response.bodyCut
          ? { ok: true, detail: cutNote(what, response.status, deadline, options.timeoutMs) }
          : { ok: true };
      }
      const location = headerValue(response, 'location');
      const excerpt = excerptOf(response.bodyPrefix);
      const extra =
        location !== undefined ? ` -> ${redirectHost(location, options.url)}` : excerpt ? `: ${excerpt}` : '';
      return { ...failure, detail: redact(failure.detail + extra) };
    } catch (thrown) {
      const failure = classifyThrown(thrown, deadline, what);
      return { ...failure, detail: redact(failure.detail) };
    } finally {
      deadline.dispose();
    }
  }

  return {
    name,
    type: 'webhook',
    wantsRequestBody: options.body === 'event',
    send,
    close: () => safeRequest.close(),
  };
}

/** redirectHost names where a redirect pointed (host only: the path or query may carry a token). */
function redirectHost(location: string, base: string): string {
  try {
    return new URL(location, base).host;
  } catch {
    return '<invalid Location>';
  }
}
