import { createHmac } from 'node:crypto';

/**
 * standardWebhookSignature returns one `webhook-signature` entry, `v1,<base64 HMAC-SHA256>` of
 * `${id}.${timestamp}.${body}` under `key` (the decoded secret bytes), as the Standard Webhooks spec
 * defines it. Inbound verification (tests and tools) and outbound signing both use it, so the two sides
 * cannot drift apart.
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#signature-scheme
 */
export function standardWebhookSignature(
  key: Buffer,
  id: string,
  timestamp: number | string,
  body: Uint8Array | string,
): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
}
