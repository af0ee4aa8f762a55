import { z } from 'zod';
import { durationMs, httpUrl } from '../duration.js';
import type { SlackOptions } from '../types.js';

/** DEFAULT_SLACK_TIMEOUT bounds one Web API call or webhook post (the SDK's own default is no timeout). */
export const DEFAULT_SLACK_TIMEOUT = '10s';

/**
 * slackConfigSchema is a `type: slack` destination as written in the rules file: `token` + `channel`
 * (Web API, Block Kit, screenshot uploads) or `webhookUrl` (incoming webhook).
 */
export const slackConfigSchema = z
  .strictObject({
    type: z.literal('slack'),
    token: z.string().min(1).optional(),
    channel: z.string().min(1).optional(),
    webhookUrl: httpUrl.optional(),
    apiUrl: httpUrl.optional(),
    username: z.string().min(1).optional(),
    iconEmoji: z
      .string()
      .regex(/^:[^:\s]+:$/, 'an emoji code such as :bell:')
      .optional(),
    timeout: durationMs.prefault(DEFAULT_SLACK_TIMEOUT),
    allowPrivateNetworks: z.boolean().default(false),
  })
  .refine(
    (config) =>
      (config.token !== undefined && config.channel !== undefined) || config.webhookUrl !== undefined,
    {
      message: 'set token and channel (Web API) or webhookUrl (incoming webhook)',
    },
  );

/** SlackConfig is a parsed `type: slack` entry (defaults applied, durations in ms). */
export type SlackConfig = z.output<typeof slackConfigSchema>;

/** slackOptionsFromConfig maps the parsed config to the adapter's options. */
export function slackOptionsFromConfig(config: SlackConfig): SlackOptions {
  const { type: _type, timeout, ...rest } = config;
  return { ...rest, timeoutMs: timeout };
}
