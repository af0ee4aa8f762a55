/**
 * The conversation of one alert at one destination: where its first message went, so that follow-ups
 * (a resolve, a repeat, a digest continuation) are posted in that message's thread and the message itself
 * is updated to show the alert's state. Engine-neutral: both engines run conversation-contract.ts.
 */
import { epochMs, invalidInput, nonEmptyString } from './validate.js';

/**
 * ConversationRef is what a destination needs to find its first message again. Each kind fills its own
 * fields: Slack `channel` + `ts`; Discord `messageId` (+ `threadId` when the message is in a thread or
 * started a forum post); email `messageId` (the RFC 5322 Message-ID, with its angle brackets).
 */
export interface ConversationRef {
  channel?: string;
  ts?: string;
  messageId?: string;
  threadId?: string;
}

/** Conversation is one alert's (rule + key) conversation at one destination. */
export interface Conversation {
  destination: string;
  rule: string;
  key: string;
  ref: ConversationRef;
  /** Epoch ms of the first message. */
  startedAt: number;
  /** Set once a person acknowledged the alert (Slack button): repeats are not sent until it resolves. */
  acknowledged?: { by: string; at: number };
}

/** ConversationKey names a conversation. */
export interface ConversationKey {
  destination: string;
  rule: string;
  key: string;
}

/**
 * ConversationStore keeps one conversation per (destination, rule, key). Every method rejects with
 * `HR_ERR_STORE_CLOSED` after `Store.close()`, and with `HR_ERR_STORE_INPUT_INVALID` for input it cannot
 * keep (an empty name, a ref that is not an object of short strings).
 */
export interface ConversationStore {
  /** find returns the open conversation, or undefined. */
  find(key: ConversationKey): Promise<Conversation | undefined>;
  /**
   * start records a conversation and resolves once it is durable. When one is already open for the same
   * key, it is kept unchanged and returned (the first message wins), so a retried first send never moves it.
   */
  start(conversation: Conversation): Promise<Conversation>;
  /** end forgets the conversation (the alert resolved: its next firing starts a new one). True when one was open. */
  end(key: ConversationKey): Promise<boolean>;
  /**
   * acknowledge marks every open conversation of the alert (rule + key, at every destination) as
   * acknowledged by `by` at `at`, keeping an earlier acknowledgement; returns how many it marked.
   */
  acknowledge(alert: { rule: string; key: string }, by: string, at: number): Promise<number>;
}

/** The ref fields a conversation keeps; anything else is refused. */
const REF_FIELDS = ['channel', 'ts', 'messageId', 'threadId'] as const;
/** Longest ref field or name kept: ids and timestamps, never documents. */
const MAX_FIELD_CHARS = 1_000;

/** PreparedConversation is a Conversation checked, with its ref as JSON (engine-neutral). */
export interface PreparedConversation {
  destination: string;
  rule: string;
  key: string;
  refJson: string;
  startedAt: number;
  ackedBy?: string | null;
  ackedAt?: number | null;
}

/**
 * prepareConversationKey checks a key. Engines call it (and prepareConversation) before any transaction,
 * so malformed input is refused the same way everywhere and never half-written.
 */
export function prepareConversationKey(what: string, key: ConversationKey): ConversationKey {
  for (const name of ['destination', 'rule'] as const) {
    const value: unknown = key[name];
    if (!nonEmptyString(value) || value.length > MAX_FIELD_CHARS) {
      throw invalidInput(what, `${name} must be a non-empty string of at most ${MAX_FIELD_CHARS} characters`);
    }
  }
  const value: unknown = key.key;
  if (typeof value !== 'string' || value.length > MAX_FIELD_CHARS) {
    throw invalidInput(what, `key must be a string of at most ${MAX_FIELD_CHARS} characters`);
  }
  return { destination: key.destination, rule: key.rule, key: key.key };
}

/** prepareConversation checks a conversation and serialises its ref (only the known fields, in order). */
export function prepareConversation(conversation: Conversation): PreparedConversation {
  const what = 'conversations.start';
  const key = prepareConversationKey(what, conversation);
  const ref = conversation.ref as unknown;
  if (typeof ref !== 'object' || ref === null || Array.isArray(ref)) {
    throw invalidInput(what, 'ref must be an object');
  }
  const kept: ConversationRef = {};
  for (const [name, value] of Object.entries(ref)) {
    if (!(REF_FIELDS as readonly string[]).includes(name)) throw invalidInput(what, `ref.${name} is unknown`);
    if (value === undefined) continue;
    if (!nonEmptyString(value) || value.length > MAX_FIELD_CHARS) {
      throw invalidInput(
        what,
        `ref.${name} must be a non-empty string of at most ${MAX_FIELD_CHARS} characters`,
      );
    }
    kept[name as (typeof REF_FIELDS)[number]] = value;
  }
  return {
    ...key,
    refJson: JSON.stringify(kept),
    startedAt: epochMs(what, 'startedAt', conversation.startedAt),
  };
}

/** readConversation turns a stored row back into a Conversation. */
export function readConversation(row: PreparedConversation): Conversation {
  return {
    destination: row.destination,
    rule: row.rule,
    key: row.key,
    ref: JSON.parse(row.refJson) as ConversationRef,
    startedAt: row.startedAt,
    ...(row.ackedBy != null && row.ackedAt != null
      ? { acknowledged: { by: row.ackedBy, at: row.ackedAt } }
      : {}),
  };
}

/** ConversationRow is a conversation as both engines store it. */
export interface ConversationRow {
  destination: string;
  rule: string;
  key: string;
  ref: string;
  started_at: number;
  acked_by: string | null;
  acked_at: number | null;
}

export const CONVERSATION_COLUMNS = 'destination, rule, key, ref, started_at, acked_by, acked_at';

/** fromConversationRow reads a row back (PostgreSQL's bigint may arrive as a string: Number() either way). */
export function fromConversationRow(row: ConversationRow): PreparedConversation {
  return {
    destination: row.destination,
    rule: row.rule,
    key: row.key,
    refJson: row.ref,
    startedAt: Number(row.started_at),
    ackedBy: row.acked_by,
    ackedAt: row.acked_at === null ? null : Number(row.acked_at),
  };
}

/** prepareAcknowledge checks ConversationStore.acknowledge's arguments; it never reads the database. */
export function prepareAcknowledge(
  alert: { rule: string; key: string },
  by: string,
  at: number,
): { rule: string; key: string; by: string; at: number } {
  const what = 'conversations.acknowledge';
  const k = prepareConversationKey(what, { destination: '-', ...alert });
  if (typeof by !== 'string' || by === '' || by.length > 1_000) {
    throw invalidInput(what, 'by must be a non-empty string of at most 1000 characters');
  }
  return { rule: k.rule, key: k.key, by, at: epochMs(what, 'at', at) };
}
