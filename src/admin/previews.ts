import { renderDiscordPayload } from '../destinations/discord/render.js';
import { renderEmail } from '../destinations/email/render.js';
import { renderSlackMessage } from '../destinations/slack/render.js';
import type { Alert } from '../domain/alert.js';

/*
 * What an alert looks like in Slack, Discord and email, built from the very renderers the destinations
 * send with, then turned into plain strings for the page. The page's template engine escapes every one
 * of them; nothing here is HTML. Each medium's own escaping (Slack's &amp;/&lt;/&gt;, Discord's
 * backslashes) is undone for display, since the page shows what a reader of that medium would see.
 */

export interface SlackPreview {
  header: string;
  text?: string;
  context: string[];
  fallback: string;
}

export interface DiscordPreview {
  content: string;
  title: string;
  description?: string;
  fields: Array<{ name: string; value: string }>;
  /** `info`, `warning`, `critical` or `resolved`: the embed's colour bar (a CSS class, not a style). */
  tone: string;
  footer: string;
  timestamp: string;
}

export interface EmailPreview {
  subject: string;
  text: string;
}

export interface AlertPreviews {
  slack: SlackPreview;
  discord: DiscordPreview;
  email: EmailPreview;
}

const unSlack = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const unDiscord = (text: string) => text.replace(/\\([\\*_~`|>#\-[\]()<:@!.])/g, '$1').replace(/\u200b/g, '');

/** previewsOf renders one alert for each medium. */
export function previewsOf(alert: Alert): AlertPreviews {
  const slack = renderSlackMessage(alert);
  const slackPreview: SlackPreview = { header: '', context: [], fallback: unSlack(slack.text) };
  for (const block of slack.blocks) {
    if (block.type === 'header') slackPreview.header = block.text.text;
    else if (block.type === 'section') slackPreview.text = unSlack(block.text.text);
    else if (block.type === 'context')
      slackPreview.context = block.elements.map((element) => unSlack(element.text).replace(/\*/g, ''));
  }
  const discord = renderDiscordPayload(alert);
  const embed = discord.embeds[0];
  const discordPreview: DiscordPreview = {
    content: unDiscord(discord.content),
    title: unDiscord(embed?.title ?? ''),
    fields: (embed?.fields ?? []).map((field) => ({ name: field.name, value: unDiscord(field.value) })),
    tone: alert.status === 'resolved' ? 'resolved' : alert.severity,
    footer: embed?.footer.text ?? '',
    timestamp: embed?.timestamp ?? '',
  };
  if (embed?.description !== undefined) discordPreview.description = unDiscord(embed.description);
  const email = renderEmail(alert);
  return {
    slack: slackPreview,
    discord: discordPreview,
    email: { subject: email.subject, text: email.text },
  };
}

/** emailHtmlOf is the HTML body exactly as the email destination sends it (served in a sandboxed frame). */
export function emailHtmlOf(alert: Alert, subjectPrefix?: string): string {
  return renderEmail(alert, subjectPrefix).html;
}
