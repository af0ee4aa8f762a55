import { z } from 'zod';
import { durationMs, httpUrl } from '../duration.js';
import type { WebhookOptions } from '../types.js';

/**
 * DEFAULT_WEBHOOK_TIMEOUT is the per-attempt timeout; Standard Webhooks suggests 15–30 s.
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export const DEFAULT_WEBHOOK_TIMEOUT = '15s';

/** webhookConfigSchema is a `type: webhook` destination as written in the rules file. */
export const webhookConfigSchema = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl,
  method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.enum(['alert', 'event']).default('alert'),
  signing: z.strictObject({ secret: z.string().min(1) }).optional(),
  timeout: durationMs.prefault(DEFAULT_WEBHOOK_TIMEOUT),
  allowPrivateNetworks: z.boolean().default(false),
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
