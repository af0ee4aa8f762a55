import { deferredDestination } from '../deferred.js';
import { CHAT_RETRY } from '../delivery-config.js';
import { defineDestinationKind } from '../kind.js';
import { discordConfigSchema, discordOptionsFromConfig, discordTargetOf } from './config.js';
import { renderDiscordPayload } from './render.js';

/** discordKind: a channel's execute-webhook URL, one embed per alert. */
export const discordKind = defineDestinationKind({
  type: 'discord',
  schema: discordConfigSchema,
  options: discordOptionsFromConfig,
  create(name, options, deps) {
    discordTargetOf(name, options);
    return deferredDestination({ name, type: 'discord', threads: true }, async () =>
      (await import('./discord.js')).createDiscordDestination(name, options, deps),
    );
  },
  preview: (config, alert) =>
    JSON.stringify(
      renderDiscordPayload(alert, undefined, config.mention ? { mention: config.mention } : {}),
      null,
      2,
    ),
  retry: CHAT_RETRY,
  // Webhook buckets are announced in X-RateLimit-* headers, and the adapter reports an exhausted bucket
  // as a retry with its wait; this bucket only keeps a storm from hitting those limits first.
  // https://discord.com/developers/docs/topics/rate-limits
  pacing: { perSecond: 5, burst: 5, concurrency: 1 },
});
