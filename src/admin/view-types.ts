import type { Alert } from '../domain/alert.js';
import type { Person } from '../domain/item.js';
import type { EventSummary, NotificationStatus, StoredSilence } from '../store/admin-ports.js';
import type { AttemptRecord } from '../store/ports.js';
import type { DestinationSummary } from './redact.js';

/*
 * The shapes the admin service returns: what the dashboard renders, the JSON API sends and the CLI reads
 * (plain data, configuration values redacted).
 */

/** EventView is a stored item as the dashboard shows it. */
export interface EventView extends EventSummary {
  person?: Person;
}

/** DeliveryView is one notification of an alert: its destination, status and attempts. */
export interface DeliveryView {
  notificationId: string;
  destination: string;
  destinationType?: string;
  status: NotificationStatus;
  createdAt: number;
  /** For a pending one: when it is next due. */
  dueAt?: number;
  attemptCount: number;
  deliveredAt?: number;
  deadAt?: number;
  deadReason?: string;
  attempts: AttemptRecord[];
}

/** AlertView is one alert with its deliveries (one per destination). */
export interface AlertView {
  alert: Alert;
  createdAt: number;
  eventSeq?: number;
  /** Worst first: dead, pending, delivered. */
  status: NotificationStatus;
  deliveries: DeliveryView[];
}

/** DestinationView is a destination with its backlog and pause. */
export interface DestinationView {
  name: string;
  type?: string;
  /** False for a destination that only the outbox still knows (removed from the file). */
  configured: boolean;
  settings: DestinationSummary;
  pending: number;
  oldestPendingAt?: number;
  dead: number;
  paused?: { reason: string; pausedAt: number };
}

/** SilenceView is a stored silence with its state now. */
export interface SilenceView extends StoredSilence {
  state: 'active' | 'pending' | 'expired';
}

/** RuleView is a loaded rule with its activity. */
export interface RuleView {
  name: string;
  kind: string;
  on: string[];
  to: string[];
  severity: string;
  description: string;
  settings: Record<string, unknown>;
  alerts: number;
  lastAlertAt?: number;
}

/** OverviewView is the dashboard's summary. */
export interface OverviewView {
  now: number;
  since: number;
  sources: Array<{ name: string; perMinute: number[]; lastMinute: number; total: number }>;
  rules: Array<{ name: string; perMinute: number[]; lastMinute: number; total: number }>;
  destinations: DestinationView[];
  deadLetters: number;
  evaluator: { cursor: number; newestSeq: number; lagItems: number; lagSeconds: number };
}
