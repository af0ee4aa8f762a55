import { z } from 'zod';
import { HookrelayError } from '../../lib/errors.js';
import { type MentionRole, mentionConfigSchema } from '../../render/mentions.js';
import { deliveryConfigShape } from '../delivery-config.js';
import { type ConfigIssueParams, durationMs, httpUrlOf } from '../duration.js';

/** SlackOptions: a bot token + channel (Web API), or an incoming-webhook URL. */
export interface SlackOptions {
  /** Bot token (`xoxb-…`), with `channel`. */
  token?: string;
  /** Channel id (preferred) or name. */
  channel?: string;
  /** Incoming-webhook URL; used when there is no token. The URL is the credential. */
  webhookUrl?: string;
  /** Web API base URL override (tests, Enterprise Grid proxies). Default https://slack.com/api/. */
  apiUrl?: string;
  username?: string;
  iconEmoji?: string;
  timeoutMs: number;
  /** Allow loopback/private targets for `apiUrl`, `webhookUrl` and upload URLs (tests, on-prem proxies). */
  allowPrivateNetworks?: boolean;
  /** Whom an alert mentions: the alert's person and/or manager, by their `slack` id in `people:`. */
  mention?: MentionRole[];
  /** The Slack app's signing secret: alerts get Acknowledge / Silence buttons, verified with it. */
  signingSecret?: string;
}

/** DEFAULT_SLACK_TIMEOUT bounds one Web API call or webhook post (the SDK's own default is no timeout). */
export const DEFAULT_SLACK_TIMEOUT = '10s';

/**
 * slackConfigSchema is a `type: slack` destination as written in the rules file: `token` + `channel`
 * (Web API, Block Kit, screenshot uploads) or `webhookUrl` (incoming webhook), never both.
 */
export const slackConfigSchema = z
  .strictObject({
    type: z.literal('slack'),
    token: z
      .string()
      .min(1)
      .optional()
      .describe(`Bot token (xoxb-…); needs channel. Use "\${SLACK_BOT_TOKEN}".`),
    channel: z.string().min(1).optional().describe('Channel id such as C0123456789 (with token).'),
    webhookUrl: httpUrlOf('an https URL such as https://hooks.slack.com/services/…')
      .optional()
      .describe('Incoming-webhook URL (instead of token and channel).'),
    apiUrl: httpUrlOf().optional().describe('Slack API base URL (tests and proxies).'),
    username: z.string().min(1).optional(),
    iconEmoji: z
      .string()
      .regex(/^:[^:\s]+:$/, 'an emoji code such as :bell:')
      .optional()
      .describe('Emoji such as :rotating_light:'),
    timeout: durationMs.prefault(DEFAULT_SLACK_TIMEOUT).describe('Per-attempt timeout.'),
    mention: mentionConfigSchema.optional(),
    signingSecret: z
      .string()
      .min(1)
      .optional()
      .describe(
        `Slack app signing secret (with token): adds Acknowledge / Silence buttons. Use "\${SLACK_SIGNING_SECRET}".`,
      ),
    allowPrivateNetworks: z
      .boolean()
      .default(false)
      .describe(
        'Allow private, loopback and link-local addresses for apiUrl and webhookUrl (tests, proxies).',
      ),
    ...deliveryConfigShape,
  })
  .superRefine((slack, ctx) => {
    const viaToken = slack.token !== undefined || slack.channel !== undefined;
    const plain = (message: string, hint: string, code?: ConfigIssueParams['code']) => {
      const params: ConfigIssueParams = { plain: true, hint, ...(code ? { code } : {}) };
      ctx.addIssue({ code: 'custom', message, params });
    };
    if (viaToken && slack.webhookUrl !== undefined) {
      plain('give either token and channel, or webhookUrl, not both', 'webhookUrl posts to its own channel');
    } else if (slack.webhookUrl === undefined && !viaToken) {
      plain(
        'missing token and channel, or webhookUrl',
        'a bot token with a channel id, or an incoming-webhook URL',
        'HR_ERR_CONFIG_MISSING_KEY',
      );
    } else if (slack.token !== undefined && slack.channel === undefined) {
      const hint = 'a bot token needs a channel id such as C0123456789';
      plain('missing required key "channel"', hint, 'HR_ERR_CONFIG_MISSING_KEY');
    } else if (slack.signingSecret !== undefined && slack.token === undefined) {
      plain(
        'signingSecret needs token and channel',
        'buttons and interactions need the Web API (an incoming webhook cannot update its messages)',
      );
    } else if (slack.channel !== undefined && slack.token === undefined) {
      plain(
        'missing required key "token"',
        'posting to a channel needs a bot token',
        'HR_ERR_CONFIG_MISSING_KEY',
      );
    }
  });

/** SlackConfig is a parsed `type: slack` entry (defaults applied, durations in ms). */
export type SlackConfig = z.output<typeof slackConfigSchema>;

/** slackOptionsFromConfig maps the parsed config to the adapter's options (`retry`/`rate` are the deliver stage's). */
export function slackOptionsFromConfig(config: SlackConfig): SlackOptions {
  const { type: _type, timeout, retry: _retry, rate: _rate, ...rest } = config;
  return { ...rest, timeoutMs: timeout };
}

/** SlackMode is how a Slack destination posts: through the Web API with a bot token, or to an incoming webhook. */
export type SlackMode =
  | { via: 'token'; token: string; channel: string }
  | { via: 'webhook'; webhookUrl: string };

/**
 * slackModeOf picks the mode from the adapter's options. It throws HookrelayError `HR_ERR_DEST_CONFIG` for
 * options that config validation refuses (a token without a channel; neither a token nor a webhook URL).
 */
export function slackModeOf(name: string, options: SlackOptions): SlackMode {
  if (options.token !== undefined) {
    if (options.channel === undefined) {
      throw new HookrelayError('HR_ERR_DEST_CONFIG', `slack destination "${name}": token set but no channel`);
    }
    return { via: 'token', token: options.token, channel: options.channel };
  }
  if (options.webhookUrl === undefined) {
    throw new HookrelayError(
      'HR_ERR_DEST_CONFIG',
      `slack destination "${name}": needs token + channel or webhookUrl`,
    );
  }
  return { via: 'webhook', webhookUrl: options.webhookUrl };
}
