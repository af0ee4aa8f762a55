import type { Alert, Severity } from '../../domain/alert.js';
import { forDisplay } from '../../render/display.js';
import { escapeSlackMrkdwn, singleLine } from '../../render/escape.js';
import { alertFacts } from '../../render/facts.js';
import { type MentionRole, mentionsOf, SLACK_MEMBER_ID } from '../../render/mentions.js';
import { ACTION_IDS, ACTIONS_BLOCK_ID, type ButtonValue } from '../../render/slack-actions.js';
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
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] }
  | { type: 'actions'; block_id: string; elements: SlackButton[] };

/** A Block Kit button. https://docs.slack.dev/reference/block-kit/block-elements/button-element */
export interface SlackButton {
  type: 'button';
  action_id: string;
  text: { type: 'plain_text'; text: string; emoji: boolean };
  value: string;
  style?: 'primary' | 'danger';
}

/** A button's value. https://docs.slack.dev/reference/block-kit/block-elements/button-element */
export const MAX_BUTTON_VALUE_CHARS = 2000;

/**
 * SlackState is what an updated original shows above the alert: resolved, silenced or acknowledged, when,
 * and by whom when a person did it (e.g. "Silenced for 1h by Ada").
 */
export interface SlackState {
  kind: 'resolved' | 'silenced' | 'acknowledged';
  /** The sentence shown, raw (escaped here), e.g. `Resolved` or `Silenced for 1h by Ada`. */
  label: string;
  at: number;
}

/** SlackRenderOptions are what a destination adds to an alert: whom it mentions, and the original's state. */
export interface SlackRenderOptions {
  mention?: readonly MentionRole[];
  state?: SlackState;
  /** Add Acknowledge / Silence buttons for this destination (bot mode with a signing secret). */
  buttonsFor?: string;
}

const STATE_EMOJI: Record<SlackState['kind'], string> = {
  resolved: ':white_check_mark:',
  silenced: ':no_bell:',
  acknowledged: ':eyes:',
};

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
export function renderSlackMessage(written: Alert, options: SlackRenderOptions = {}): SlackMessage {
  const alert = forDisplay(written);
  const title = singleLine(alert.title).trim() || alert.rule;
  const state = options.state;
  const emoji = state ? STATE_EMOJI[state.kind] : SEVERITY_EMOJI[alert.severity];
  const header = truncate(`${emoji} ${title}`, MAX_HEADER_CHARS, UNIT);
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: header, emoji: true } }];
  // Mentions are the only control sequences hookrelay writes itself: ids from the directory, checked
  // against Slack's member-id shape; everything else (names included) is escaped text.
  const mentions = mentionsOf(alert, options.mention, 'slack', SLACK_MEMBER_ID).map((m) =>
    m.id === undefined ? escapeSlackMrkdwn(singleLine(m.name)) : `<@${m.id}>`,
  );
  const mentionLine = mentions.length > 0 ? truncate(mentions.join(' '), MAX_SECTION_TEXT_CHARS, UNIT) : '';
  if (mentionLine) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: mentionLine } });
  if (state) {
    const line = `*${escapeSlackMrkdwn(singleLine(state.label))}* at ${new Date(state.at).toISOString()}`;
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(line, MAX_SECTION_TEXT_CHARS, UNIT) },
    });
  }
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
  const actions =
    options.buttonsFor === undefined || state ? undefined : buttons(written, options.buttonsFor);
  if (actions) blocks.push(actions);
  const status = state ? `${state.label}: ` : '';
  const fallback = `${status}[${alert.severity}] ${title}${alert.text ? ` — ${alert.text}` : ''}`;
  // The notification is made from `text`: the mentions go first in it, so they notify.
  const lead = mentionLine ? `${mentionLine} ` : '';
  const rest = truncateEscaped(fallback, MAX_FALLBACK_TEXT_CHARS - lead.length, escapeSlackMrkdwn, UNIT);
  return { text: lead + rest, blocks };
}

/**
 * buttons is the actions block of a firing alert. The value names the alert as written (not as shown):
 * the interactions route matches a silence on it. No buttons when it would not fit a button's value.
 */
function buttons(alert: Alert, destination: string): SlackBlock | undefined {
  if (alert.status !== 'firing') return undefined;
  const value: ButtonValue = { d: destination, r: alert.rule, k: alert.key };
  const json = JSON.stringify(value);
  if (json.length > MAX_BUTTON_VALUE_CHARS) return undefined;
  const button = (action_id: string, text: string, style?: 'primary'): SlackButton => ({
    type: 'button',
    action_id,
    text: { type: 'plain_text', text, emoji: false },
    value: json,
    ...(style ? { style } : {}),
  });
  return {
    type: 'actions',
    block_id: ACTIONS_BLOCK_ID,
    elements: [
      button(ACTION_IDS.acknowledge, 'Acknowledge', 'primary'),
      button(ACTION_IDS.silence1h, 'Silence 1h'),
      button(ACTION_IDS.silenceTomorrow, 'Silence until tomorrow 09:00'),
    ],
  };
}
