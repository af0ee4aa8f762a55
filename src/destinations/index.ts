/**
 * The destinations as the rest of hookrelay sees them: the deliver stage, app.ts and the CLI import this
 * file (and types.ts) only; adapters never import each other.
 */

export type {
  DeliveryConfig,
  PacingDefaults,
  RateConfig,
  RetryConfig,
  RetryDefaults,
} from './delivery-config.js';
export type { DiscordOptions } from './discord/config.js';
export type { EmailOptions } from './email/config.js';
export type { DestinationKind } from './kind.js';
export type { LogOptions } from './log/config.js';
export {
  createDestination,
  DESTINATION_KINDS,
  type DestinationConfig,
  type DestinationOptions,
  type DestinationType,
  destinationConfigSchema,
  kindOf,
  previewDestination,
  toDestinationOptions,
} from './registry.js';
export type { SlackOptions } from './slack/config.js';
export type * from './types.js';
export type { WebhookOptions } from './webhook/config.js';
