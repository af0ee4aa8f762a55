import type { Alert } from '../domain/alert.js';
import type { Item } from '../domain/item.js';
import type { AttemptRecord } from './ports.js';

/*
 * The ports the admin listener (dashboard, JSON API, remote CLI) reads and writes through, beside the
 * pipeline's own ports in ports.ts. They are read-mostly and never on the ingest or delivery hot path:
 * each call is one short query, and the only writes are stored silences. Like every port they are async,
 * so the PostgreSQL engine (issue 11) implements them with the same SQL shapes (no engine-specific
 * features beyond JSON field access and an index on an expression).
 */

/**
 * SilenceMatchers are a stored silence's matchers: the same condition syntax as a YAML silence's
 * `matchers:` (`{ "rule": "went-quiet", "user": "u-1" }`, or `{ "app.name": { "regex": "…" } }`), tested
 * against the alert's item fields plus `rule`, `key` and `severity`.
 */
export type SilenceMatchers = Record<string, unknown>;

/** StoredSilence is a silence created at run time (dashboard, API, CLI), kept in the database. */
export interface StoredSilence {
  /** A UUID, made by the store. */
  id: string;
  matchers: SilenceMatchers;
  /**
   * Epoch ms: alerts whose time is in [startsAt, endsAt) are muted, as with a YAML silence's starts/ends.
   * Without startsAt (the usual "from now on") every alert evaluated while it lasts is muted, however
   * old its item, as a YAML silence without `starts:` does.
   */
  startsAt?: number;
  endsAt: number;
  comment: string;
  createdBy: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms: set once expired by hand; an expired silence mutes nothing, whatever its times say. */
  expiredAt?: number;
}

/** NewSilence is what `SilenceStore.create` keeps; the store adds the id. */
export type NewSilence = Omit<StoredSilence, 'id' | 'expiredAt'>;

/** SilenceQuery selects stored silences for `list`, newest first; `limit` is a non-negative integer. */
export interface SilenceQuery {
  limit: number;
  /** Only silences not expired by hand whose `endsAt` is after this (epoch ms): those that may still mute. */
  endsAfter?: number;
}

/**
 * SilenceStore keeps the silences created at run time. They survive restarts and, with a shared database,
 * every instance sees them: the evaluator polls `revision` and reloads them when it changes. Every
 * method rejects with `HR_ERR_STORE_CLOSED` after `Store.close()` and with `HR_ERR_STORE_INPUT_INVALID` for
 * a malformed argument (non-finite times, `endsAt` not after `startsAt`, matchers that are not a JSON
 * object); a failed write rejects with `HR_ERR_STORE_WRITE_FAILED` and changes nothing.
 */
export interface SilenceStore {
  /** create stores a new silence durably and resolves with it (its id included). */
  create(silence: NewSilence): Promise<StoredSilence>;
  /** get returns the silence with this id, or undefined. */
  get(id: string): Promise<StoredSilence | undefined>;
  /** list returns silences newest first (by createdAt), never more than `limit`. */
  list(query: SilenceQuery): Promise<StoredSilence[]>;
  /**
   * expire marks a silence expired at `at` and resolves with it; an already expired one is returned
   * unchanged (its first expiry time is kept). Undefined for an unknown id.
   */
  expire(id: string, at: number): Promise<StoredSilence | undefined>;
  /**
   * extend moves a silence's `endsAt` and resolves with it. Undefined for an unknown id; an expired
   * silence is returned unchanged (expiry is final: create a new one).
   */
  extend(id: string, endsAt: number): Promise<StoredSilence | undefined>;
  /**
   * revision returns a value that changes with every create, expire and extend (by any process sharing
   * the database), so a poller can tell cheaply whether to reload.
   */
  revision(): Promise<string>;
}

/** EventPageQuery selects stored items for the admin's event list, newest first. */
export interface EventPageQuery {
  /** A non-negative integer. */
  limit: number;
  /** Only items with seq below this (the cursor of the next page). */
  beforeSeq?: number;
  /** Only items with seq above this (what a live stream has not shown yet). */
  afterSeq?: number;
  source?: string;
  /** An exact event type, or a glob with `*` (`desktop.*`) as in a rule's `on:`. */
  type?: string;
  user?: string;
  /** Epoch ms, inclusive: received at or after. */
  receivedFrom?: number;
  /** Epoch ms, exclusive: received before. */
  receivedTo?: number;
}

/** EventSummary is one stored item as the admin lists it (never its image bytes). */
export interface EventSummary {
  seq: number;
  requestId: string;
  dedupeKey: string;
  receivedAt: number;
  hasImage: boolean;
  item: Item;
}

/** EventDetail is one stored item with the request it came in (its raw body), when still kept. */
export interface EventDetail extends EventSummary {
  /** The raw webhook body as received; undefined when the request was pruned or never kept. */
  body?: Buffer;
}

/** NotificationStatus is where a notification is in the outbox. */
export type NotificationStatus = 'pending' | 'delivered' | 'dead';

/** NotificationView is one notification (an alert for one destination) with its delivery state. */
export interface NotificationView {
  seq: number;
  id: string;
  destination: string;
  alert: Alert;
  status: NotificationStatus;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms: when a pending one is next due. */
  dueAt: number;
  /** Claims since enqueued or last replayed. */
  attemptCount: number;
  deliveredAt?: number;
  deadAt?: number;
  deadReason?: string;
  /** The item that triggered it, when it was an item (not a tick). */
  eventSeq?: number;
  /** Every recorded attempt, oldest first; only filled by the calls that say so. */
  attempts?: AttemptRecord[];
}

/** NotificationQuery selects notifications, newest first (by seq). */
export interface NotificationQuery {
  /** A non-negative integer. */
  limit: number;
  beforeSeq?: number;
  afterSeq?: number;
  rule?: string;
  destination?: string;
  status?: NotificationStatus;
  /** The notifications of one alert (one per destination). */
  alertId?: string;
  /** The notifications an item triggered. */
  eventSeq?: number;
  /** Created at or after (epoch ms). */
  createdFrom?: number;
  /** Include each one's attempt history. */
  withAttempts?: boolean;
}

/** MinuteCount is a count in one minute (`minute` is the epoch ms the minute starts at). */
export interface MinuteCount {
  key: string;
  minute: number;
  count: number;
}

/** DestinationBacklog is what waits in the outbox for one destination. */
export interface DestinationBacklog {
  destination: string;
  pending: number;
  /** Epoch ms: createdAt of the oldest pending notification. */
  oldestPendingAt?: number;
  dead: number;
}

/** EvaluatorProgress says how far the evaluator is behind the event log. */
export interface EvaluatorProgress {
  cursor: number;
  /** The newest stored seq (0 when the log is empty). */
  newestSeq: number;
  /** receivedAt of the oldest item the evaluator has not passed; undefined when it is caught up. */
  oldestPendingAt?: number;
}

/** Overview is the dashboard's summary since `since`. */
export interface Overview {
  /** Items received per source and minute. */
  eventsPerMinute: MinuteCount[];
  /** Alerts (not notifications: one alert to two destinations counts once) per rule and minute. */
  alertsPerMinute: MinuteCount[];
  backlog: DestinationBacklog[];
  evaluator: EvaluatorProgress;
}

/** RuleActivity is how often a rule has alerted within the kept history. */
export interface RuleActivity {
  rule: string;
  alerts: number;
  /** Epoch ms of its newest alert. */
  lastAt: number;
}

/**
 * AdminReads are the queries behind the dashboard and the JSON API. They never write, never load image
 * bytes except `getImage`-style calls elsewhere, and are bounded by their `limit`s (the overview and
 * rule activity scan the kept history, which retention bounds). Every method rejects with
 * `HR_ERR_STORE_CLOSED` after `Store.close()` and `HR_ERR_STORE_INPUT_INVALID` for a malformed argument.
 */
export interface AdminReads {
  /** listEvents returns stored items newest first, filtered, never more than `limit`. */
  listEvents(query: EventPageQuery): Promise<EventSummary[]>;
  /** getEvent returns one stored item with its raw request body, or undefined once pruned. */
  getEvent(seq: number): Promise<EventDetail | undefined>;
  /** listNotifications returns notifications newest first, filtered, never more than `limit`. */
  listNotifications(query: NotificationQuery): Promise<NotificationView[]>;
  /** getNotification returns one notification with its attempt history, or undefined. */
  getNotification(id: string): Promise<NotificationView | undefined>;
  /** overview summarises activity since `since` (epoch ms) and the present backlog. */
  overview(since: number): Promise<Overview>;
  /** ruleActivity returns, per rule that alerted within the kept history, its alert count and newest alert. */
  ruleActivity(): Promise<RuleActivity[]>;
  /** newestSeqs returns the newest item seq and notification seq (0 when none): where a live stream starts. */
  newestSeqs(): Promise<{ event: number; notification: number }>;
}
