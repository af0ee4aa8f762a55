import type { Alert, Severity } from '../../domain/alert.js';
import { forDisplay } from '../../render/display.js';
import { escapeDiscordMarkdown, singleLine } from '../../render/escape.js';
import { alertFacts } from '../../render/facts.js';
import { DISCORD_USER_ID, type MentionRole, mentionsOf } from '../../render/mentions.js';
import { measure, truncateEscaped } from '../../render/truncate.js';

// Limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits and
// https://discord.com/developers/docs/resources/webhook#execute-webhook (counted in characters, inclusive).
/** Message `content`. */
export const MAX_CONTENT_CHARS = 2000;
/** Embed title. */
export const MAX_EMBED_TITLE_CHARS = 256;
/** Embed description. */
export const MAX_EMBED_DESCRIPTION_CHARS = 4096;
/** Fields per embed. */
export const MAX_EMBED_FIELDS = 25;
/** Field name. */
export const MAX_EMBED_FIELD_NAME_CHARS = 256;
/** Field value. */
export const MAX_EMBED_FIELD_VALUE_CHARS = 1024;
/** Footer text. */
export const MAX_EMBED_FOOTER_CHARS = 2048;
/** Sum of title, description, field names and values, footer and author name over all embeds. */
export const MAX_EMBED_TOTAL_CHARS = 6000;
/** Webhook `username` override. https://discord.com/developers/docs/resources/webhook#execute-webhook */
export const MAX_USERNAME_CHARS = 80;
/**
 * Our own cap for one fact's value (user name, event type…): facts are short by nature, and a small cap
 * leaves the 6000 total for the description.
 */
export const MAX_FACT_VALUE_CHARS = 256;

/** Embed colour per severity (decimal RGB), green once resolved. */
export const SEVERITY_COLOURS: Record<Severity | 'resolved', number> = {
  info: 0x3498db,
  warning: 0xf1c40f,
  critical: 0xe74c3c,
  resolved: 0x2ecc71,
};

const FOOTER = 'hookrelay';

/** DiscordEmbed is the subset of Discord's embed object hookrelay sends (webhooks may not set `type`). */
export interface DiscordEmbed {
  title: string;
  description?: string;
  color: number;
  timestamp: string;
  fields: { name: string; value: string; inline: boolean }[];
  footer: { text: string };
  image?: { url: string };
}

/** DiscordPayload is the execute-webhook JSON body. */
export interface DiscordPayload {
  content: string;
  embeds: DiscordEmbed[];
  /**
   * Always `parse: []`: nothing in an alert's text may ping anyone. `users` lists the directory ids of
   * the destination's `mention:`, the only pings allowed.
   */
  allowed_mentions: { parse: never[]; users?: string[] };
  /** Forum channels: the title of the post (thread) the message starts. */
  thread_name?: string;
  username?: string;
  avatar_url?: string;
  attachments?: { id: number; filename: string; description?: string }[];
}

/** Forum post titles. https://discord.com/developers/docs/resources/channel#start-thread-in-forum-or-media-channel */
export const MAX_THREAD_NAME_CHARS = 100;

/** DiscordRenderOptions: whom the message mentions, and the state an edited original shows. */
export interface DiscordRenderOptions {
  mention?: readonly MentionRole[];
  /** An edited original: e.g. `{ label: 'Resolved', at }`. */
  state?: { label: string; at: number };
}

/**
 * renderDiscordPayload renders an alert as one embed (colour per severity, the text as description, facts
 * as inline fields) plus a one-line `content` for notifications. All alert text is markdown-escaped and
 * mention-neutralised, every piece is cut to its limit, and the description is cut further so the embed
 * total stays within 6000. `imageName` references an attached file (`attachment://…`).
 */
export function renderDiscordPayload(
  written: Alert,
  imageName?: string,
  options: DiscordRenderOptions = {},
): DiscordPayload {
  const alert = forDisplay(written);
  const esc = escapeDiscordMarkdown;
  const title = truncateEscaped(singleLine(alert.title).trim() || alert.rule, MAX_EMBED_TITLE_CHARS, esc);
  const fields = alertFacts(alert)
    .slice(0, MAX_EMBED_FIELDS)
    .map((fact) => ({
      name: fact.label.slice(0, MAX_EMBED_FIELD_NAME_CHARS),
      value:
        truncateEscaped(fact.value, Math.min(MAX_FACT_VALUE_CHARS, MAX_EMBED_FIELD_VALUE_CHARS), esc) || '-',
      inline: true,
    }));
  const used =
    measure(title) +
    measure(FOOTER) +
    fields.reduce((sum, field) => sum + measure(field.name) + measure(field.value), 0);
  const descriptionLimit = Math.min(MAX_EMBED_DESCRIPTION_CHARS, MAX_EMBED_TOTAL_CHARS - used);
  const description = alert.text.trim() === '' ? '' : truncateEscaped(alert.text, descriptionLimit, esc);
  const embed: DiscordEmbed = {
    title,
    color: SEVERITY_COLOURS[alert.status === 'resolved' ? 'resolved' : alert.severity],
    timestamp: new Date(alert.at).toISOString(),
    fields,
    footer: { text: FOOTER },
    ...(description ? { description } : {}),
    ...(imageName ? { image: { url: `attachment://${imageName}` } } : {}),
  };
  // Mentions notify only from `content` (never from an embed), and only the ids allowed_mentions lists.
  const mentions = mentionsOf(alert, options.mention, 'discord', DISCORD_USER_ID);
  const users = mentions.flatMap((m) => (m.id === undefined ? [] : [m.id]));
  const lead = mentions
    .map((m) => (m.id === undefined ? esc(singleLine(m.name)) : `<@${m.id}>`))
    .join(' ')
    .slice(0, MAX_CONTENT_CHARS / 2);
  const state = options.state
    ? `${options.state.label} at ${new Date(options.state.at).toISOString()}: `
    : '';
  const line = truncateEscaped(
    `${state}[${alert.severity}] ${singleLine(alert.title)}`,
    MAX_CONTENT_CHARS - lead.length - 1,
    esc,
  );
  const content = lead ? `${lead} ${line}` : line;
  return {
    content,
    embeds: [embed],
    allowed_mentions: users.length > 0 ? { parse: [], users } : { parse: [] },
  };
}

/** embedTotal is the count Discord checks against MAX_EMBED_TOTAL_CHARS (exported for tests). */
export function embedTotal(embed: DiscordEmbed): number {
  return (
    measure(embed.title) +
    measure(embed.description ?? '') +
    measure(embed.footer.text) +
    embed.fields.reduce((sum, field) => sum + measure(field.name) + measure(field.value), 0)
  );
}
