import type { Item, Person } from './item.js';

export type Severity = 'info' | 'warning' | 'critical';

/**
 * Alert is one decision to notify (a "firing"), rendered to plain text and structured fields. It is what
 * the outbound webhook sends as JSON by default and what the `log` destination prints. Destination
 * adapters escape its text for their medium; nothing here is pre-escaped.
 */
export interface Alert {
  /** Stable id, reused on every delivery attempt (the `webhook-id` of outbound webhooks). */
  id: string;
  rule: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  title: string;
  text: string;
  /** The value of the rule's `per` key (a user id by default). */
  key: string;
  user?: string;
  person?: Person;
  /** The directory entry of `person.manager`, when there is one (for routing, e.g. email the manager). */
  manager?: Person;
  /** Event type of the triggering item. */
  event?: string;
  /** When it happened, epoch ms: the triggering item's own time, or the clock for absence and digests. */
  at: number;
  /** The aggregate value and what it was compared with, for threshold rules. */
  value?: number;
  threshold?: { op: 'gt' | 'gte' | 'lt' | 'lte'; value: number; aggregate: string; window: string };
  simulation: boolean;
  /** The triggering item (screenshot bytes never inline). */
  item?: Item;
  /** For digests: how many alerts were folded into this one, and their keys. */
  digest?: { count: number; keys: string[] };
  /** Set when the rule says `attach: screenshot` and the item carried image bytes. */
  attachScreenshot?: boolean;
}

/** Notification is one alert for one destination: the unit the outbox stores and delivers. */
export interface Notification {
  id: string;
  destination: string;
  alert: Alert;
  /** For `body: event` webhook forwards: the received request whose payload is sent as it came. */
  requestId?: string;
  createdAt: number;
}
