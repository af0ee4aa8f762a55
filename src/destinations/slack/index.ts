import { deferredDestination } from '../deferred.js';
import { CHAT_RETRY } from '../delivery-config.js';
import { defineDestinationKind } from '../kind.js';
import { slackConfigSchema, slackModeOf, slackOptionsFromConfig } from './config.js';
import { renderSlackMessage } from './render.js';

/** slackKind: a bot token + channel (Web API, Block Kit, screenshot uploads) or an incoming webhook. */
export const slackKind = defineDestinationKind({
  type: 'slack',
  schema: slackConfigSchema,
  options: slackOptionsFromConfig,
  create(name, options, deps) {
    // Only the Web API can thread and update; an incoming webhook can only post new messages.
    const threads = slackModeOf(name, options).via === 'token';
    return deferredDestination({ name, type: 'slack', threads }, async () =>
      (await import('./slack.js')).createSlackDestination(name, options, deps),
    );
  },
  preview: (config, alert) =>
    JSON.stringify(renderSlackMessage(alert, config.mention ? { mention: config.mention } : {}), null, 2),
  retry: CHAT_RETRY,
  // chat.postMessage allows "one message per second per channel" (bursts not guaranteed), and so do
  // incoming webhooks; each destination posts to one channel. https://docs.slack.dev/apis/web-api/rate-limits
  pacing: { perSecond: 1, burst: 1, concurrency: 1 },
});
