/**
 * The contract between the deliver stage and the destination adapters. An adapter renders a Notification
 * for its medium, sends it once (SDK retries off) and classifies what happened; the deliver stage alone
 * decides about backoff, Retry-After caps, dead letters and pausing (style.md §6.6 habit 3).
 */
import type { Notification } from '../domain/alert.js';
import type { Logger } from '../lib/log.js';
import type { ConversationRef } from '../store/conversation-port.js';

export type { ConversationRef };

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
  /**
   * For a destination with `threads`: the alert's (rule + key) conversation here, when its first message
   * was delivered. The send is then a follow-up: it goes in that message's thread, and a resolve updates it.
   */
  conversation?: ConversationRef;
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
  /** The message cannot be rendered for this destination (e.g. an item nested too deep to serialise). */
  | 'unrenderable'
  | 'refused';

/** SendSuccess: the peer accepted the message. `detail` notes anything partial (rejected recipients, upload skipped). */
export interface SendSuccess {
  ok: true;
  detail?: string;
  /** The first message of a conversation (a send without `context.conversation`): where it went. */
  conversation?: ConversationRef;
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
  /** The destination's `type:` (a DestinationType; a string here so this contract needs no registry). */
  readonly type: string;
  /**
   * True when send() uses `context.requestBody` (a webhook with `body: event`): the deliverer reads the
   * stored request only then, not once per send.
   */
  readonly wantsRequestBody?: boolean;
  /**
   * True when the destination keeps one conversation per alert (threads, in-place updates): the deliverer
   * then passes `context.conversation` and records the `conversation` a first send returns.
   */
  readonly threads?: boolean;
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
