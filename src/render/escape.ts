/**
 * Escaping of untrusted alert text (titles, texts, names: anything a webhook payload could influence) for
 * each medium. Escape first, then add your own formatting around the escaped value; never escape twice.
 */

/**
 * escapeSlackMrkdwn escapes the three characters Slack treats as control characters (`&`, `<`, `>`), and
 * only those, so `<!channel>`, `<@U123>` or `<http://x|label>` in a payload shows as text and never pings or
 * links. It never touches `*`, `_` or `~` (formatting is harmless).
 * https://docs.slack.dev/messaging/formatting-message-text#escaping
 */
export function escapeSlackMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (ch) => (ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : '&gt;'));
}

/** Zero-width space: breaks `@everyone`/`@here` so Discord never parses them, without changing what a person sees. */
const ZWSP = '\u200b';

/**
 * escapeDiscordMarkdown neutralises Discord markdown and mentions in untrusted text: markdown characters
 * are backslash-escaped (so `[label](url)` masked links, `||spoilers||`, `**bold**`, code fences, quotes,
 * and headings or lists at a line start show literally), `<` is escaped (so `<@id>`, `<@&role>`, `<#channel>` and `<t:…>` stay text) and
 * `@everyone`/`@here` get a zero-width space after the `@`. The adapter also sends
 * `allowed_mentions: { parse: [] }`; this keeps the text inert even where that is not honoured.
 * https://discord.com/developers/docs/reference#message-formatting
 */
export function escapeDiscordMarkdown(text: string): string {
  return (
    text
      .replace(/[\\*_~`|<>[\]]/g, (ch) => `\\${ch}`)
      // Headings (`# `, `-# ` subtext) and list markers only mean something at the start of a line.
      .replace(/^(\s*)([#-])/gm, (_match, space: string, ch: string) => `${space}\\${ch}`)
      .replace(/@(everyone|here)/gi, (_match, word: string) => `@${ZWSP}${word}`)
  );
}

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** escapeHtml escapes text for an HTML text node or a quoted attribute value. It never allows markup through. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ENTITIES[ch] ?? ch);
}

/**
 * singleLine replaces CR, LF and other control characters with a space and collapses runs of them, for
 * header-like fields (an email subject, a Slack header) where a line break would inject structure.
 */
export function singleLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is removed
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
}

/**
 * The bidirectional controls: embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069, the marks
 * U+200E/U+200F and the Arabic letter mark U+061C. In payload text they reorder what a person sees
 * ("Invoice\u202Efdp.exe" shows as "Invoiceexe.pdf"), in a subject, a header or a terminal alike.
 */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;

/**
 * neutraliseBidi removes every bidirectional control, so text shows in the order it was written.
 * Right-to-left letters themselves are untouched (they need no control to display correctly).
 */
export function neutraliseBidi(text: string): string {
  return BIDI_CONTROL.test(text) ? text.replace(BIDI_CONTROLS, '') : text;
}

/**
 * escapeBidiInJson writes every bidirectional control in JSON text as its `\uXXXX` escape. Valid
 * anywhere they can occur in JSON (inside strings), it keeps the data exact for a JSON reader while the
 * bytes, as a log line or a receiver's raw view shows them, hold no control.
 */
export function escapeBidiInJson(json: string): string {
  return BIDI_CONTROL.test(json)
    ? json.replace(BIDI_CONTROLS, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : json;
}
