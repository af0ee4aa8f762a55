import type { Alert, Severity } from '../../domain/alert.js';
import { forDisplay } from '../../render/display.js';
import { escapeHtml, neutraliseBidi, singleLine } from '../../render/escape.js';
import { alertFacts } from '../../render/facts.js';
import { truncate } from '../../render/truncate.js';

/**
 * Subject length we send. RFC 5322 §2.1.1 caps a line at 998 characters (nodemailer folds longer headers),
 * but mail clients show far less; a long title is cut with the marker.
 * https://www.rfc-editor.org/rfc/rfc5322#section-2.1.1
 */
export const MAX_SUBJECT_CHARS = 200;
/** Body text we send. SMTP has no body limit of its own, but servers cap message size (often 10–25 MB). */
export const MAX_BODY_TEXT_CHARS = 100_000;

const SEVERITY_COLOURS: Record<Severity, string> = {
  info: '#1f6feb',
  warning: '#b7791f',
  critical: '#c53030',
};

/** EmailContent is the rendered alert: subject plus text and HTML alternatives. */
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/**
 * renderEmail renders an alert: subject `[prefix ][severity] title` on one line (CR/LF and other
 * control characters replaced, so nothing can start a new header), a plain-text body, and an HTML body
 * built only from escaped values (nodemailer does not sanitise HTML).
 */
export function renderEmail(written: Alert, subjectPrefix?: string): EmailContent {
  const alert = forDisplay(written);
  const prefix = subjectPrefix ? `${neutraliseBidi(singleLine(subjectPrefix)).trim()} ` : '';
  const title = singleLine(alert.title).trim() || alert.rule;
  const subject = truncate(`${prefix}[${alert.severity}] ${title}`, MAX_SUBJECT_CHARS);
  const body = truncate(alert.text, MAX_BODY_TEXT_CHARS);
  const facts = alertFacts(alert);

  const text = [
    title,
    '',
    ...(body ? [body, ''] : []),
    ...facts.map((fact) => `${fact.label}: ${singleLine(fact.value)}`),
    '',
    '-- ',
    'Sent by hookrelay',
    '',
  ].join('\n');

  const rows = facts
    .map(
      (fact) =>
        `<tr><th align="left" style="padding:2px 12px 2px 0;color:#555">${escapeHtml(fact.label)}</th>` +
        `<td style="padding:2px 0">${escapeHtml(fact.value)}</td></tr>`,
    )
    .join('');
  const html = [
    '<!doctype html>',
    '<html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#111">',
    `<h2 style="margin:0 0 12px;color:${SEVERITY_COLOURS[alert.severity]}">${escapeHtml(title)}</h2>`,
    body ? `<p style="white-space:pre-wrap;margin:0 0 12px">${escapeHtml(body)}</p>` : '',
    `<table cellspacing="0" cellpadding="0">${rows}</table>`,
    '<p style="margin-top:16px;color:#888;font-size:12px">Sent by hookrelay</p>',
    '</body></html>',
    '',
  ].join('\n');

  return { subject, text, html };
}
