import { serializeAlert } from '../../render/alert-json.js';
import { deferredDestination } from '../deferred.js';
import { CHAT_RETRY, UNPACED } from '../delivery-config.js';
import { defineDestinationKind } from '../kind.js';
import { webhookConfigSchema, webhookOptionsFromConfig } from './config.js';

/** webhookKind: one outbound HTTP request per alert (Zapier, Make, n8n, anything), Standard Webhooks signed. */
export const webhookKind = defineDestinationKind({
  type: 'webhook',
  schema: webhookConfigSchema,
  options: webhookOptionsFromConfig,
  create: (name, options, deps) =>
    deferredDestination({ name, type: 'webhook', wantsRequestBody: options.body === 'event' }, async () =>
      (await import('./webhook.js')).createWebhookDestination(name, options, deps),
    ),
  preview: (config, alert) =>
    config.body === 'event'
      ? '(forwards the received webhook payload as it came)'
      : JSON.stringify(JSON.parse(serializeAlert(alert)), null, 2),
  retry: CHAT_RETRY,
  // Unpaced: set `rate:` for a receiver with a limit (Zapier, a small n8n).
  pacing: UNPACED,
});
