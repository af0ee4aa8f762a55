import type { Alert, Severity } from '../../domain/alert.js';
import { forDisplay } from '../../render/display.js';
import { escapeSlackMrkdwn, singleLine } from '../../render/escape.js';
import { alertFacts } from '../../render/facts.js';
import { truncate, truncateEscaped } from '../../render/truncate.js';

/** Header block text (plain_text only). https://docs.slack.dev/reference/block-kit/blocks/header-block */
export const MAX_HEADER_CHARS = 150;
/** Section block text. https://docs.slack.dev/reference/block-kit/blocks/section-block */
export const MAX_SECTION_TEXT_CHARS = 3000;
/** Context block elements. https://docs.slack.dev/reference/block-kit/blocks/context-block */
export const MAX_CONTEXT_ELEMENTS = 10;
/**
 * One context element. Text objects allow 3000, but the whole message should stay well under ~10k characters
 * (the real total limit is undocumented: slackapi/bolt-js#2509), so each fact gets a small share.
 */
export const MAX_CONTEXT_ELEMENT_CHARS = 300;
/**
 * The `text` fallback (notifications, screen readers). Slack cuts `text` past 40,000 characters
 * (https://docs.slack.dev/reference/methods/chat.postMessage); it is kept short for the same total budget.
 */
export const MAX_FALLBACK_TEXT_CHARS = 3000;

const SEVERITY_EMOJI: Record<Severity, string> = {
  info: ':information_source:',
  warning: ':warning:',
  critical: ':rotating_light:',
};

/** The Block Kit blocks hookrelay sends (a subset of Slack's KnownBlock). */
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji: boolean } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] };

/** SlackMessage is the rendered alert: Block Kit plus a plain-text fallback. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/**
 * Slack does not document whether limits count UTF-16 units or code points; UTF-16 length is never
 * smaller, so measuring in it always fits.
 */
const UNIT = { unit: 'utf16' } as const;

/**
 * renderSlackMessage renders an alert as a header (plain_text: never parsed for mentions), a mrkdwn section
 * with the escaped text, a context block with the facts, and the `text` fallback. Every piece of alert
 * text is escaped (`& < >`) before any formatting is added, and cut to its limit with a visible marker.
 */
export function renderSlackMessage(written: Alert): SlackMessage {
  const alert = forDisplay(written);
  const title = singleLine(alert.title).trim() || alert.rule;
  const header = truncate(`${SEVERITY_EMOJI[alert.severity]} ${title}`, MAX_HEADER_CHARS, UNIT);
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: header, emoji: true } }];
  if (alert.text.trim() !== '') {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncateEscaped(alert.text, MAX_SECTION_TEXT_CHARS, escapeSlackMrkdwn, UNIT),
      },
    });
  }
  const facts = alertFacts(alert).slice(0, MAX_CONTEXT_ELEMENTS);
  blocks.push({
    type: 'context',
    elements: facts.map((fact) => {
      const label = `*${fact.label}:* `;
      const value = truncateEscaped(
        fact.value,
        MAX_CONTEXT_ELEMENT_CHARS - label.length,
        escapeSlackMrkdwn,
        UNIT,
      );
      return { type: 'mrkdwn', text: label + value };
    }),
  });
  const fallback = `[${alert.severity}] ${title}${alert.text ? ` — ${alert.text}` : ''}`;
  return { text: truncateEscaped(fallback, MAX_FALLBACK_TEXT_CHARS, escapeSlackMrkdwn, UNIT), blocks };
}
