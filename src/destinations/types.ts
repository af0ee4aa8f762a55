/**
 * The contract between the deliver stage and the destination adapters. An adapter renders a Notification
 * for its medium, sends it once (SDK retries off) and classifies what happened; the deliver stage alone
 * decides about backoff, Retry-After caps, dead letters and pausing (style.md §6.6 habit 3).
 */
import type { Notification } from '../domain/alert.js';
import type { Logger } from '../lib/log.js';

/** DestinationType is the `type:` of a destination in the rules file (stable names, DESIGN.md). */
export type DestinationType = 'slack' | 'discord' | 'email' | 'webhook' | 'log';

/** SendContext is what the deliver stage passes with each attempt. */
export interface SendContext {
  /** Aborts the attempt (shutdown, or the stage's own deadline). An aborted attempt is a `retry`. */
  signal: AbortSignal;
  /** Screenshot bytes, when the alert says `attachScreenshot` and the event still has them. */
  image?: { bytes: Buffer; mime: string };
  /** The received request body as it came, for `body: event` webhook forwards. */
  requestBody?: Buffer;
  /** 1 for the first attempt; the notification id stays the same on every attempt. */
  attempt: number;
}

/**
 * FailureOutcome says what the deliver stage should do next:
 * `retry` later (transient), `dead` (this message can never succeed: dead-letter it),
 * `broken` (the destination is misconfigured or gone: pause it, keep its messages).
 */
export type FailureOutcome = 'retry' | 'dead' | 'broken';

/** FailureReason is a stable label for logs and metrics (`delivery:attempt:failed { reason }`). */
export type FailureReason =
  | 'rateLimited'
  | 'serverError'
  | 'timeout'
  | 'network'
  | 'clientError'
  | 'authError'
  | 'notFound'
  | 'payloadRejected'
  | 'refused';

/** SendSuccess: the peer accepted the message. `detail` notes anything partial (rejected recipients, upload skipped). */
export interface SendSuccess {
  ok: true;
  detail?: string;
}

/**
 * SendFailure is a failed attempt as a value. `detail` is for a person and never contains a token,
 * webhook URL, signing secret or header value from the config.
 */
export interface SendFailure {
  ok: false;
  outcome: FailureOutcome;
  reason: FailureReason;
  /** The peer's own wait hint (Retry-After, Discord `retry_after`), uncapped; the retry stage caps it. */
  retryAfterMs?: number;
  detail: string;
}

/** SendResult is what every `send` resolves to. `send` never rejects for a delivery failure. */
export type SendResult = SendSuccess | SendFailure;

/** Destination is one configured destination: render + send + classify. */
export interface Destination {
  readonly name: string;
  readonly type: DestinationType;
  /**
   * True when send() uses `context.requestBody` (a webhook with `body: event`): the deliverer reads the
   * stored request only then, not once per send.
   */
  readonly wantsRequestBody?: boolean;
  /** send delivers one notification once. It never retries and never throws for a failed delivery. */
  send(notification: Notification, context: SendContext): Promise<SendResult>;
  /** close releases connections and pools. The destination is unusable afterwards. */
  close(): Promise<void>;
}

/** What every adapter factory receives besides its options. */
export interface DestinationDeps {
  logger: Logger;
  /** Wall clock in epoch ms (webhook signing timestamps); defaults to Date.now. */
  now?: () => number;
}

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
}

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
}

/** EmailOptions: SMTP delivery through a pooled nodemailer transport. */
export interface EmailOptions {
  /** `smtp://user:pass@host:587` or `smtps://…:465`; query options as nodemailer accepts them. */
  smtpUrl: string;
  from: string;
  to: string[];
  cc?: string[];
  /**
   * Also send to the alert's person and/or their manager, with the email addresses of the `people:`
   * directory (never addresses from a payload). Someone without an email is skipped.
   */
  toPeople?: Array<'person' | 'manager'>;
  /** Put before `[severity] title` in the subject, e.g. `[hookrelay]`. */
  subjectPrefix?: string;
  /** Upper bound for one send, queueing in the pool included. */
  timeoutMs: number;
  /** Connect to a private, loopback or link-local SMTP server (a local relay); refused by default. */
  allowPrivateNetworks?: boolean;
}

/** WebhookOptions: an outbound HTTP request per alert (Zapier, Make, n8n, anything). */
export interface WebhookOptions {
  url: string;
  method: 'POST' | 'PUT' | 'PATCH';
  /** Extra request headers (may hold credentials; never echoed in a detail). */
  headers: Record<string, string>;
  /** `alert`: the Alert as JSON; `event`: the received webhook body as it came. */
  body: 'alert' | 'event';
  /**
   * Standard Webhooks signing secret. `whsec_<base64>` uses the base64-decoded bytes as the HMAC key
   * (as the spec and its reference libraries do); any other string is used as its UTF-8 bytes.
   */
  signingSecret?: string;
  timeoutMs: number;
  /** Turns the SSRF guard off for this destination (a receiver on localhost or the LAN). */
  allowPrivateNetworks: boolean;
}

/** LogOptions: one line per alert. */
export interface LogOptions {
  /** `json`: the Alert as one JSON line; `pretty`: one human-readable line. */
  format: 'json' | 'pretty';
  /** Where lines go (without the trailing newline); defaults to stdout. */
  write?: (line: string) => void;
}

/** DestinationOptions is the options of any destination, discriminated on `type`. */
export type DestinationOptions =
  | ({ type: 'slack' } & SlackOptions)
  | ({ type: 'discord' } & DiscordOptions)
  | ({ type: 'email' } & EmailOptions)
  | ({ type: 'webhook' } & WebhookOptions)
  | ({ type: 'log' } & LogOptions);
