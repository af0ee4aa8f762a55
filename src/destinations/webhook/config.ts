import { z } from 'zod';
import { deliveryConfigShape } from '../delivery-config.js';
import { durationMs, httpUrl } from '../duration.js';

/** WebhookOptions: an outbound HTTP request per alert (Zapier, Make, n8n, anything). */
export interface WebhookOptions {
  url: string;
  method: 'POST' | 'PUT' | 'PATCH';
  /** Extra request headers (may hold credentials; never echoed in a detail). */
  headers: Record<string, string>;
  /** `alert`: the Alert as JSON; `event`: the received webhook body as it came. */
  body: 'alert' | 'event';
  /**
   * Standard Webhooks signing secret. `whsec_<base64>` uses the base64-decoded bytes as the HMAC key
   * (as the spec and its reference libraries do); any other string is used as its UTF-8 bytes.
   */
  signingSecret?: string;
  timeoutMs: number;
  /** Turns the SSRF guard off for this destination (a receiver on localhost or the LAN). */
  allowPrivateNetworks: boolean;
}

/**
 * DEFAULT_WEBHOOK_TIMEOUT is the per-attempt timeout; Standard Webhooks suggests 15–30 s.
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export const DEFAULT_WEBHOOK_TIMEOUT = '15s';

/** webhookConfigSchema is a `type: webhook` destination as written in the rules file. */
export const webhookConfigSchema = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl.describe(`Where to send. Use "\${ZAPIER_HOOK_URL}" for secret URLs.`),
  method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers.'),
  body: z
    .enum(['alert', 'event'])
    .default('alert')
    .describe('"alert": the alert as JSON; "event": the received webhook payload as it came.'),
  signing: z
    .strictObject({
      secret: z.string().min(1).describe('Signs requests the Standard Webhooks way (webhook-signature).'),
    })
    .optional(),
  timeout: durationMs
    .prefault(DEFAULT_WEBHOOK_TIMEOUT)
    .describe('Bounds each attempt as a whole: connecting, the request, the response and all of its body.'),
  allowPrivateNetworks: z
    .boolean()
    .default(false)
    .describe('Allow private, loopback and link-local addresses (off: SSRF guard).'),
  ...deliveryConfigShape,
});

/** WebhookConfig is a parsed `type: webhook` entry (defaults applied, durations in ms). */
export type WebhookConfig = z.output<typeof webhookConfigSchema>;

/** webhookOptionsFromConfig maps the parsed config to the adapter's options. */
export function webhookOptionsFromConfig(config: WebhookConfig): WebhookOptions {
  return {
    url: config.url,
    method: config.method,
    headers: config.headers,
    body: config.body,
    ...(config.signing ? { signingSecret: config.signing.secret } : {}),
    timeoutMs: config.timeout,
    allowPrivateNetworks: config.allowPrivateNetworks,
  };
}
