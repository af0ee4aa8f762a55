/**
 * createDestination: the one entry point from `type` to an adapter. The deliver stage and app.ts import
 * this file and types.ts only; adapters never import each other.
 */
import { createDiscordDestination } from './discord/discord.js';
import { createEmailDestination } from './email/email.js';
import { createLogDestination } from './log/log.js';
import { createSlackDestination } from './slack/slack.js';
import type { Destination, DestinationDeps, DestinationOptions } from './types.js';
import { createWebhookDestination } from './webhook/webhook.js';

export { type DestinationConfig, destinationConfigSchema, toDestinationOptions } from './config.js';
export type { DeliveryConfig, RateConfig, RetryConfig } from './delivery-config.js';
export type * from './types.js';

/**
 * createDestination builds the adapter for `options.type`. It opens no connection (pools connect on the
 * first send) and throws HookrelayError `HR_ERR_DEST_CONFIG` only for options that config validation
 * should already have refused (e.g. a Discord URL without id/token).
 */
export function createDestination(
  name: string,
  options: DestinationOptions,
  deps: DestinationDeps,
): Destination {
  switch (options.type) {
    case 'slack': {
      const { type: _type, ...rest } = options;
      return createSlackDestination(name, rest, deps);
    }
    case 'discord': {
      const { type: _type, ...rest } = options;
      return createDiscordDestination(name, rest, deps);
    }
    case 'email': {
      const { type: _type, ...rest } = options;
      return createEmailDestination(name, rest, deps);
    }
    case 'webhook': {
      const { type: _type, ...rest } = options;
      return createWebhookDestination(name, rest, deps);
    }
    case 'log': {
      const { type: _type, ...rest } = options;
      return createLogDestination(name, rest, deps);
    }
  }
}
