import { createTransport } from 'nodemailer';
import type { Alert, Notification } from '../../domain/alert.js';
import { findAddressRefused } from '../../lib/safe-fetch.js';
import { screenshotFilename } from '../../render/screenshot.js';
import { createDeadline, createRedactor, fail, render, urlSecrets } from '../shared.js';
import type { Destination, DestinationDeps, SendContext, SendFailure, SendResult } from '../types.js';
import type { EmailOptions } from './config.js';
import { guardedSmtpSocket } from './guarded-socket.js';
import { renderEmail } from './render.js';

/**
 * SMTP_CONNECTION_TIMEOUT_MS and the two below are the transport timeouts. nodemailer's defaults (2 min to connect, 10 min of socket silence) would hold a
 * worker far too long. https://nodemailer.com/smtp/#connection-options
 */
export const SMTP_CONNECTION_TIMEOUT_MS = 10_000;
/** SMTP_GREETING_TIMEOUT_MS: wait for the server's 220 banner after connecting. */
export const SMTP_GREETING_TIMEOUT_MS = 10_000;
/** SMTP_SOCKET_TIMEOUT_MS: longest silence on an open connection. */
export const SMTP_SOCKET_TIMEOUT_MS = 30_000;

/** SMTP replies that mean "authenticate first" or "your credentials are wrong" (RFC 4954 §6). */
const AUTH_REPLY_CODES = new Set([530, 534, 535, 538]);
/** nodemailer error codes that mean the destination's configuration is wrong, not this message. */
const AUTH_ERROR_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2']);
const CONFIG_ERROR_CODES = new Set(['ECONFIG', 'ETLS', 'EREQUIRETLS']);
/** Connection-level failures: try again later. */
const NETWORK_ERROR_CODES = new Set(['ESOCKET', 'ECONNECTION', 'EDNS', 'EPROXY']);

/** The fields of a nodemailer error we read (https://nodemailer.com/errors/). */
interface MailError {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  permanent?: unknown;
  message?: unknown;
}

/** The SentMessageInfo fields we read. */
interface MailInfo {
  accepted?: unknown[];
  rejected?: unknown[];
  rejectedErrors?: MailError[];
}

function addressOf(entry: unknown): string {
  if (typeof entry === 'string') return entry;
  if (entry && typeof entry === 'object' && typeof (entry as { address?: unknown }).address === 'string') {
    return (entry as { address: string }).address;
  }
  return String(entry);
}

/**
 * classifyMailError maps a nodemailer error: bad credentials or TLS/config problems break the destination;
 * a permanent (5xx) rejection of the envelope (sender or every recipient refused) also breaks it, since
 * every message would fail the same way until the config changes; a permanent rejection of the message
 * itself (DATA 5xx) dead-letters it; 4xx/421, socket, DNS and timeouts retry.
 */
export function classifyMailError(thrown: unknown, timedOut: boolean): SendFailure {
  const err = (typeof thrown === 'object' && thrown !== null ? thrown : {}) as MailError;
  const code = typeof err.code === 'string' ? err.code : '';
  const responseCode = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const command = typeof err.command === 'string' ? err.command : '';
  const response =
    typeof err.response === 'string' ? err.response : typeof err.message === 'string' ? err.message : '';
  const detail = `smtp${command ? ` ${command}` : ''}: ${responseCode ?? (code || 'error')}${response ? ` ${oneLine(response)}` : ''}`;

  const refused = findAddressRefused(thrown);
  if (refused) return fail('broken', 'refused', refused.message);
  if (code === 'EABORT') {
    return fail(
      'retry',
      'timeout',
      timedOut ? 'smtp: no answer in time' : 'smtp: attempt aborted by the caller',
    );
  }
  if (AUTH_ERROR_CODES.has(code) || (responseCode !== undefined && AUTH_REPLY_CODES.has(responseCode))) {
    return fail('broken', 'authError', detail);
  }
  if (CONFIG_ERROR_CODES.has(code)) return fail('broken', 'clientError', detail);
  if (code === 'ETIMEDOUT') return fail('retry', 'timeout', detail);
  if (responseCode !== undefined) {
    const permanent =
      err.permanent === true || (err.permanent === undefined && responseCode >= 500 && responseCode !== 503);
    if (!permanent) return fail('retry', 'serverError', detail);
    if (code === 'EENVELOPE' || /^(MAIL FROM|RCPT TO)/.test(command))
      return fail('broken', 'notFound', detail);
    return fail('dead', 'payloadRejected', detail);
  }
  if (NETWORK_ERROR_CODES.has(code)) return fail('retry', 'network', detail);
  if (err.permanent === true) return fail('dead', 'clientError', detail);
  return fail('retry', 'network', detail);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/** messageIdDomain takes the domain of the From address for Message-IDs (falls back to a reserved name). */
function messageIdDomain(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return match?.[1] ?? 'hookrelay.invalid';
}

/**
 * smtpTransportOptions are the nodemailer options of one destination: pooled, short timeouts, no file or
 * URL access (no message field can read a local file or fetch a URL), and the SMTP server's address
 * checked at connect time unless the destination allows private networks.
 */
export function smtpTransportOptions(options: EmailOptions) {
  return {
    url: options.smtpUrl,
    pool: true as const,
    connectionTimeout: SMTP_CONNECTION_TIMEOUT_MS,
    greetingTimeout: SMTP_GREETING_TIMEOUT_MS,
    socketTimeout: SMTP_SOCKET_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(options.allowPrivateNetworks ? {} : { getSocket: guardedSmtpSocket(SMTP_CONNECTION_TIMEOUT_MS) }),
  };
}

/**
 * createEmailDestination sends alerts over SMTP with a pooled nodemailer transport (short timeouts, file and
 * URL access disabled so no message field can read a local file or fetch a URL). The Message-ID is derived
 * from the notification id, so a retried send carries the same id and mail systems can deduplicate. Some
 * recipients rejected while others accepted is delivered, with the rejections in `detail`.
 */
export function createEmailDestination(
  name: string,
  options: EmailOptions,
  _deps: DestinationDeps,
): Destination {
  const transport = createTransport(smtpTransportOptions(options));
  const redact = createRedactor(urlSecrets(options.smtpUrl));
  const domain = messageIdDomain(options.from);

  async function send(notification: Notification, context: SendContext): Promise<SendResult> {
    const rendered = render('smtp', () => renderEmail(notification.alert, options.subjectPrefix));
    if (!rendered.ok) return rendered.failure;
    const content = rendered.value;
    const image = context.image;
    const deadline = createDeadline(context.signal, options.timeoutMs);
    const messageId = `<${notification.id}@${domain}>`;
    // A follow-up names the alert's first message, so mail clients thread the conversation under it.
    const original = context.conversation?.messageId;
    try {
      const info = (await transport.sendMail({
        from: options.from,
        to: recipientsOf(notification.alert, options),
        ...(options.cc && options.cc.length > 0 ? { cc: options.cc } : {}),
        subject: content.subject,
        text: content.text,
        html: content.html,
        messageId,
        ...(original === undefined ? {} : { inReplyTo: original, references: [original] }),
        headers: { 'X-Hookrelay-Alert-Id': notification.alert.id },
        ...(image
          ? {
              attachments: [
                {
                  filename: screenshotFilename(image.mime, 'bin'),
                  content: image.bytes,
                  contentType: image.mime,
                },
              ],
            }
          : {}),
        signal: deadline.signal,
      })) as MailInfo;
      const result = partialDetail(info);
      return original === undefined && result.ok ? { ...result, conversation: { messageId } } : result;
    } catch (thrown) {
      const failure = classifyMailError(thrown, deadline.timedOut());
      return { ...failure, detail: redact(failure.detail) };
    } finally {
      deadline.dispose();
    }
  }

  return {
    name,
    type: 'email',
    threads: true,
    send,
    close: async () => {
      transport.close();
    },
  };
}

// The same shape config validation accepts for `to:`; directory entries come from a CSV too, so check.
const ADDRESS = /^(?:[^<>,;@\r\n]*<[^\s@<>,;]+@[^\s@<>,;]+>|[^\s@<>,;]+@[^\s@<>,;]+)$/;

/**
 * recipientsOf is `to` plus, with `toPeople`, the alert's person's and manager's addresses from the
 * directory. Payload text never becomes a recipient: only `people:` entries are read.
 */
export function recipientsOf(alert: Alert, options: EmailOptions): string[] {
  const recipients = [...options.to];
  for (const who of options.toPeople ?? []) {
    const email = (who === 'manager' ? alert.manager : alert.person)?.email;
    if (email !== undefined && ADDRESS.test(email) && !recipients.includes(email)) recipients.push(email);
  }
  return recipients;
}

/** partialDetail reports recipients the server refused while accepting others (the message is delivered). */
function partialDetail(info: MailInfo): SendResult {
  const rejected = (info.rejected ?? []).map(addressOf);
  if (rejected.length === 0) return { ok: true };
  const accepted = (info.accepted ?? []).length;
  const reasons = (info.rejectedErrors ?? [])
    .map((error) => (typeof error.response === 'string' ? oneLine(error.response) : ''))
    .filter((text) => text !== '');
  const because = reasons.length > 0 ? ` (${reasons.join('; ')})` : '';
  return {
    ok: true,
    detail: `delivered to ${accepted} of ${accepted + rejected.length} recipients; rejected: ${rejected.join(', ')}${because}`,
  };
}
