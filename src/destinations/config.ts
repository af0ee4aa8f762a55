/**
 * The `destinations:` entries of the rules file: one zod schema per type (each adapter's config.ts) and
 * the mapping to adapter options. src/config/ composes `destinationConfigSchema` into the whole file.
 */
import { z } from 'zod';
import { type DiscordConfig, discordConfigSchema, discordOptionsFromConfig } from './discord/config.js';
import { type EmailConfig, emailConfigSchema, emailOptionsFromConfig } from './email/config.js';
import { type LogConfig, logConfigSchema, logOptionsFromConfig } from './log/config.js';
import { type SlackConfig, slackConfigSchema, slackOptionsFromConfig } from './slack/config.js';
import type { DestinationOptions } from './types.js';
import { type WebhookConfig, webhookConfigSchema, webhookOptionsFromConfig } from './webhook/config.js';

/** destinationConfigSchema is one destination as written in the rules file, discriminated on `type`. */
export const destinationConfigSchema = z.discriminatedUnion('type', [
  slackConfigSchema,
  discordConfigSchema,
  emailConfigSchema,
  webhookConfigSchema,
  logConfigSchema,
]);

/** DestinationConfig is a parsed (defaults applied) destination entry. */
export type DestinationConfig = SlackConfig | DiscordConfig | EmailConfig | WebhookConfig | LogConfig;

/** toDestinationOptions maps a parsed entry to the options `createDestination` takes. */
export function toDestinationOptions(config: DestinationConfig): DestinationOptions {
  switch (config.type) {
    case 'slack':
      return { type: 'slack', ...slackOptionsFromConfig(config) };
    case 'discord':
      return { type: 'discord', ...discordOptionsFromConfig(config) };
    case 'email':
      return { type: 'email', ...emailOptionsFromConfig(config) };
    case 'webhook':
      return { type: 'webhook', ...webhookOptionsFromConfig(config) };
    case 'log':
      return { type: 'log', ...logOptionsFromConfig(config) };
  }
}
