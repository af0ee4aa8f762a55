import { z } from 'zod';
import { HookrelayError } from '../../lib/errors.js';
import { type MentionRole, mentionConfigSchema } from '../../render/mentions.js';
import { deliveryConfigShape } from '../delivery-config.js';
import { durationMs, httpUrl } from '../duration.js';

/** DiscordOptions: an execute-webhook URL. */
export interface DiscordOptions {
  /** `https://discord.com/api/webhooks/<id>/<token>`; may carry `?thread_id=`. The URL is the credential. */
  webhookUrl: string;
  /** REST base override (`https://discord.com/api` by default, else derived from webhookUrl's origin). */
  apiUrl?: string;
  username?: string;
  avatarUrl?: string;
  timeoutMs: number;
  /** Allow loopback/private targets (tests, self-hosted Discord-compatible servers). */
  allowPrivateNetworks?: boolean;
  /** Whom an alert mentions: the alert's person and/or manager, by their `discord` id in `people:`. */
  mention?: MentionRole[];
  /** The webhook posts to a forum channel: each alert starts a post (`thread_name`), follow-ups go in it. */
  forum?: boolean;
}

/** DiscordWebhookTarget is a webhook URL taken apart: where the REST client points and what it posts to. */
export interface DiscordWebhookTarget {
  /** REST base, e.g. `https://discord.com/api`. */
  api: string;
  id: string;
  token: string;
  threadId?: string;
}

/**
 * parseDiscordWebhookUrl takes `<origin>[/prefix]/api[/vN]/webhooks/<id>/<token>[?thread_id=…]` apart.
 * Unlike discord.js's WebhookClient it accepts any origin (local fakes, self-hosted API proxies).
 * Returns undefined when the URL does not have that shape.
 */
export function parseDiscordWebhookUrl(raw: string): DiscordWebhookTarget | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const match = /^(.*?\/api)(?:\/v\d+)?\/webhooks\/(\d+)\/([^/]+)\/?$/.exec(url.pathname);
  if (!match) return undefined;
  const [, apiPath, id, token] = match;
  if (apiPath === undefined || id === undefined || token === undefined) return undefined;
  const threadId = url.searchParams.get('thread_id') ?? undefined;
  return { api: `${url.origin}${apiPath}`, id, token, ...(threadId ? { threadId } : {}) };
}

/** DEFAULT_DISCORD_TIMEOUT bounds one execute-webhook call (@discordjs/rest's own default is 15 s). */
export const DEFAULT_DISCORD_TIMEOUT = '10s';

/** discordConfigSchema is a `type: discord` destination as written in the rules file. */
export const discordConfigSchema = z.strictObject({
  type: z.literal('discord'),
  webhookUrl: z
    .string()
    .refine(
      (text) => parseDiscordWebhookUrl(text) !== undefined,
      'a Discord webhook URL such as https://discord.com/api/webhooks/<id>/<token>',
    )
    .describe(`Channel webhook URL. Use "\${DISCORD_WEBHOOK_URL}".`),
  apiUrl: httpUrl.optional().describe('Discord API base URL (tests and proxies).'),
  username: z.string().min(1).max(80).optional(),
  avatarUrl: httpUrl.optional(),
  timeout: durationMs.prefault(DEFAULT_DISCORD_TIMEOUT).describe('Per-attempt timeout.'),
  mention: mentionConfigSchema.optional(),
  forum: z
    .boolean()
    .optional()
    .describe('The webhook posts to a forum channel: one post per alert, its follow-ups inside it.'),
  allowPrivateNetworks: z
    .boolean()
    .default(false)
    .describe('Allow private, loopback and link-local addresses (tests, self-hosted compatible servers).'),
  ...deliveryConfigShape,
});

/** DiscordConfig is a parsed `type: discord` entry (defaults applied, durations in ms). */
export type DiscordConfig = z.output<typeof discordConfigSchema>;

/** discordOptionsFromConfig maps the parsed config to the adapter's options (`retry`/`rate` are the deliver stage's). */
export function discordOptionsFromConfig(config: DiscordConfig): DiscordOptions {
  const { type: _type, timeout, retry: _retry, rate: _rate, ...rest } = config;
  return { ...rest, timeoutMs: timeout };
}

/**
 * discordTargetOf takes the adapter's webhook URL apart. It throws HookrelayError `HR_ERR_DEST_CONFIG` for a
 * URL that config validation refuses (no `/api/webhooks/<id>/<token>`).
 */
export function discordTargetOf(name: string, options: DiscordOptions): DiscordWebhookTarget {
  const target = parseDiscordWebhookUrl(options.webhookUrl);
  if (!target) {
    throw new HookrelayError(
      'HR_ERR_DEST_CONFIG',
      `discord destination "${name}": webhookUrl is not a Discord webhook URL (…/api/webhooks/<id>/<token>)`,
    );
  }
  return target;
}
