import type { Alert, Notification } from '../domain/alert.js';
import type { AppendInput, ReceivedRequest, StoredEvent } from '../domain/event.js';
import type { AdminReads, SilenceStore } from './admin-ports.js';
import type { ConversationStore } from './conversation-port.js';
import type { NonceStore } from './nonce-port.js';

/** AppendResult is what one append did. `stored + duplicates` always equals the number of items given. */
export interface AppendResult {
  /**
   * A fresh id for this request (a UUID; the SQLite engine makes time-ordered UUIDv7s). The request row is
   * kept only when `stored > 0`: a sender's retry whose items are all duplicates (or a request with no
   * items) would only keep a second copy of the body, so `getRequest(requestId)` returns undefined for it.
   * The id is still useful to correlate log lines.
   */
  requestId: string;
  /** Items newly stored. */
  stored: number;
  /** Items already in the log (same source + dedupe key), not stored again. */
  duplicates: number;
}

/** ListQuery selects items for `list`; `limit` is a non-negative integer. Every filter given must hold. */
export interface ListQuery {
  limit: number;
  source?: string;
  /** Event types, each exact or a glob as in a rule's `on:` (`*` matches any characters); any may match. */
  type?: string | readonly string[];
  /** Only items of this user id. */
  user?: string;
  /** Only items received at or after this time, epoch ms. */
  receivedSince?: number;
  /** Only items with a smaller seq (the next page back). */
  beforeSeq?: number;
  /** Only items with a larger seq: the `limit` oldest of them, still returned newest first (the next page on). */
  afterSeq?: number;
}

/**
 * EventLog is the durable, ordered log of normalised items. Every method is async so that a networked
 * engine fits behind the same port. Every method rejects with `HR_ERR_STORE_CLOSED` after `Store.close()`;
 * errors are HookrelayErrors with `HR_ERR_STORE_*` codes (see src/store/errors.ts).
 */
export interface EventLog {
  /**
   * append stores a request and its items. It resolves only after the transaction holding them has
   * committed durably; concurrent calls share one transaction (group commit). Items whose
   * (source, dedupeKey) is already stored (by an earlier call, an earlier item of the same call, or a
   * concurrent call) are skipped and counted as duplicates. Items get increasing `seq` in the order given.
   * An input the store cannot keep is rejected alone with `HR_ERR_STORE_INPUT_INVALID`, whether a check
   * refuses it before the transaction or the database refuses its rows inside it: the other appends of its
   * group commit are stored. A transaction that fails for every member (disk full, I/O error) rejects every
   * append it held with `HR_ERR_STORE_WRITE_FAILED` and stores none of them.
   */
  append(input: AppendInput): Promise<AppendResult>;
  /** list returns stored items newest first, without image bytes. It never returns more than `limit`. */
  list(query: ListQuery): Promise<StoredEvent[]>;
  /** get returns the stored item with this seq, without image bytes, or undefined (never stored, or pruned). */
  get(seq: number): Promise<StoredEvent | undefined>;
  /**
   * readAfter returns up to `limit` items with seq > `afterSeq`, oldest first, images included unless
   * `images: false` (the evaluator never reads screenshot bytes, so it skips loading them).
   */
  readAfter(afterSeq: number, limit: number, options?: { images?: boolean }): Promise<StoredEvent[]>;
  /** getRequest returns a received request by id, or undefined once pruned (or never kept, see AppendResult). */
  getRequest(id: string): Promise<ReceivedRequest | undefined>;
  /**
   * pruneOlderThan deletes items and requests received before `cutoffMs`; returns the items deleted. It
   * never deletes an item the evaluator has not passed yet (seq > the evaluator cursor), nor one whose
   * seq a pending or dead notification names (`eventSeq`: its screenshot may still be sent), nor a request
   * that a kept item or a pending or dead notification (`requestId`: a `body: event` forward) refers to.
   * Such rows go at a later prune, once nothing needs them. It works in short chunks, so it never holds
   * the write lock for long and appends keep committing meanwhile.
   */
  pruneOlderThan(cutoffMs: number): Promise<number>;
  /**
   * onAppend calls `listener` after each commit that stored at least one item (wakes the evaluator); never
   * for a commit that stored nothing. A throwing listener is logged and never affects appends. Returns an
   * unsubscribe function.
   */
  onAppend(listener: () => void): () => void;
}

/** StateEntry is one piece of rule state under a key. `value` round-trips through JSON (as JSON.parse gives it back). */
export interface StateEntry {
  key: string;
  value: unknown;
}

/** EvaluatorSnapshot is what the evaluator resumes from: the log cursor and every state entry. */
export interface EvaluatorSnapshot {
  /** The seq of the last item evaluated; 0 on a fresh database (before the first item). */
  cursor: number;
  /** Every stored entry, ordered by key. */
  state: StateEntry[];
}

/**
 * NewNotification is one alert for one destination, written by the evaluator. Its id is deterministic
 * (derived from the rule, key and triggering item), so evaluating the same items again yields the same ids.
 */
export interface NewNotification {
  /** Stable id, reused on every delivery attempt; unique in the outbox. */
  id: string;
  destination: string;
  alert: Alert;
  /** For `body: event` forwards: the received request whose payload is sent as it came (kept while needed). */
  requestId?: string;
  /** The triggering item's seq, for `attach: screenshot` (its image is kept while needed). */
  eventSeq?: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms; the notification is not claimed before. */
  dueAt: number;
  /**
   * Orders notifications of one destination created in the same ms (lower first; default 0). The
   * delivery order per destination is `createdAt`, then `orderKey`, then the order they were committed in.
   */
  orderKey?: number;
}

/** EvaluatorCommitInput is one evaluation step: what it read up to, what it changed and what it decided. */
export interface EvaluatorCommitInput {
  /** The cursor the step started from (what `load` or the previous commit left). */
  fromCursor: number;
  /** The new cursor, at least `fromCursor` (equal for a step driven by the clock alone, e.g. absence). */
  cursor: number;
  /** Entries to create or replace. A key must not appear both here and in `deletes`. */
  upserts: StateEntry[];
  /** Keys to remove; an unknown key is ignored. */
  deletes: string[];
  /** Notifications to enqueue; an id already in the outbox (or earlier in this list) is skipped. */
  notifications: NewNotification[];
  /**
   * The evaluator's leadership, when several instances share the database: the commit holds only while
   * `hookrelay_leases` has an unexpired row `lease` held by `holder` with this `term`. Checked in the commit's
   * own transaction (the row is read FOR SHARE, so an election cannot commit in between); otherwise the
   * commit rejects with `HR_ERR_STORE_FENCED` and writes nothing. A leader that was paused past its lease
   * cannot commit afterwards, even before it knows it lost. The SQLite engine ignores it: one relay
   * process owns a file, so there is no other leader to fence off.
   */
  fence?: EvaluatorFence;
}

/** EvaluatorFence names the lease and the term an evaluator commit is conditional on. */
export interface EvaluatorFence {
  lease: string;
  holder: string;
  term: number;
}

/** EvaluatorCommitResult says what a commit did. */
export interface EvaluatorCommitResult {
  /** Notifications newly stored (ids already present were skipped and are not counted). */
  notificationsInserted: number;
}

/**
 * EvaluatorStore keeps the evaluator's cursor and rule state together with the outbox, so that one
 * evaluation step is written whole or not at all: after a crash at any point no alert is lost, and none is
 * produced twice by evaluating the same items again. Every method rejects with `HR_ERR_STORE_CLOSED` after
 * `Store.close()`.
 */
export interface EvaluatorStore {
  /** load returns the stored cursor and every state entry. It never writes. */
  load(): Promise<EvaluatorSnapshot>;
  /** cursor returns the stored cursor alone (what load() returns as `cursor`), without the rule state. */
  cursor(): Promise<number>;
  /**
   * commit writes one evaluation step in ONE transaction and resolves only once it is durable: the state
   * upserts and deletes, the notifications (an id already stored is skipped, never duplicated or
   * overwritten) and the new cursor. When the stored cursor is not `fromCursor` (another evaluator moved
   * it, or this step was already committed) it rejects with `HR_ERR_STORE_CURSOR_CONFLICT` and writes
   * nothing. A malformed input rejects with `HR_ERR_STORE_INPUT_INVALID`, a failed transaction with
   * `HR_ERR_STORE_WRITE_FAILED`; neither writes anything. Listeners of `Outbox.onEnqueue` are called after
   * a commit that stored at least one notification.
   */
  commit(input: EvaluatorCommitInput): Promise<EvaluatorCommitResult>;
}

/** AttemptOutcome classifies one delivery attempt (see the deliver stage). */
export type AttemptOutcome = 'delivered' | 'retry' | 'dead' | 'broken';

/** AttemptRecord is one delivery attempt as kept in a notification's history. */
export interface AttemptRecord {
  /** When the attempt started, epoch ms. */
  at: number;
  durationMs: number;
  outcome: AttemptOutcome;
  /** A short class (`rateLimited`, `authError`, …). */
  reason?: string;
  /** What the destination answered. Adapters never put secrets here; the store keeps it as given. */
  detail?: string;
}

/** ClaimQuery asks `claim` for due notifications. */
export interface ClaimQuery {
  /** Epoch ms: rows due at or before it, and leases that ended at or before it, count as free. */
  now: number;
  /** How long the claim holds the rows; after `now + leaseMs` another claim may take them again. */
  leaseMs: number;
  /** Most rows returned per destination. */
  limitPerDestination: number;
  /** The destinations to claim for (others, e.g. removed from the config, are left alone). */
  destinations: string[];
  /**
   * The pacing of the destinations that have one, by name: their claimed rows get send slots from one
   * bucket per destination kept in the store, shared by every process claiming from it (see claim). A
   * destination left out, or with `perSecond` Infinity, is unpaced: its claim is as without this.
   */
  pacing?: Record<string, ClaimPacing>;
}

/** ClaimPacing is a destination's send rate as a claim applies it: `perSecond` on average, `burst` at once. */
export interface ClaimPacing {
  perSecond: number;
  burst: number;
}

/** ClaimedNotification is a notification leased to the caller, with what a retry policy needs. */
export type ClaimedNotification = Notification & {
  /** Claims since it was enqueued (or last replayed), this one included: 1 on the first attempt. */
  attempts: number;
  /** When it was first claimed since enqueued or replayed (for a maximum age); `claim` always sets it. */
  firstAttemptAt?: number;
  eventSeq?: number;
  requestId?: string;
  /**
   * Stamped on the row by this claim (a fresh random value per claim). Pass it to recordDelivered,
   * scheduleRetry or deadLetter: once the lease ran out and another claim took the row, the row carries
   * that claim's token and a transition with this one is refused.
   */
  claimToken: string;
  /**
   * Epoch ms: not to be sent before then. The send slot a paced claim gave the row (ClaimQuery.pacing);
   * the claim's `now` for an unpaced destination.
   */
  sendAt: number;
};

/** PausedDestination is a destination the deliver stage found broken (bad token, channel gone). */
export interface PausedDestination {
  destination: string;
  reason: string;
  /** Epoch ms. */
  pausedAt: number;
}

/** DeadLetter is a notification that can never succeed as it is, with its whole history. */
export interface DeadLetter {
  notification: Notification;
  eventSeq?: number;
  reason: string;
  /** Epoch ms: the `at` of the attempt that dead-lettered it. */
  deadAt: number;
  /** Every recorded attempt, oldest first (attempts before a replay included). */
  attempts: AttemptRecord[];
}

/** DeadQuery selects dead letters for `listDead`; `limit` is a non-negative integer. */
export interface DeadQuery {
  limit: number;
  destination?: string;
}

/** ReplayQuery selects dead letters to replay: exactly one of `ids`, `destination` or `all: true`. */
export interface ReplayQuery {
  ids?: string[];
  destination?: string;
  all?: boolean;
  /** Epoch ms: replayed notifications are due at this time. */
  now: number;
}

/** StoredImage is the screenshot of a stored item. */
export interface StoredImage {
  bytes: Buffer;
  /** From the item's `screenshot.image.mime`; `application/octet-stream` when the item does not say. */
  mime: string;
}

/**
 * Outbox is the delivery queue, for the deliver stage: the notifications the evaluator decided, delivered
 * at least once, in creation order per destination. A claim leases rows for a while; a worker that
 * crashes lets its lease run out (or, where one process owns the store, `releaseLeases` ends it at the
 * next start) and the rows are claimed again (with the same id, so receivers can deduplicate). Every write
 * resolves only once it is durable. Claims and transitions (recordDelivered, scheduleRetry, deadLetter)
 * made by one process take effect in the order they are called, even before the earlier ones resolve: a
 * claim called after `recordDelivered(x)` sees x settled, so a caller need not wait for one write before
 * making the next. Every method rejects with `HR_ERR_STORE_CLOSED` after `Store.close()` and with
 * `HR_ERR_STORE_INPUT_INVALID` for a malformed argument; a failed write rejects with
 * `HR_ERR_STORE_WRITE_FAILED` and changes nothing.
 */
export interface Outbox {
  /**
   * claim leases, for each named destination that is not paused (DeadLetters.pauseDestination), the head
   * of its queue of pending notifications: rows in creation order, up to `limitPerDestination`, stopping
   * at the first row that is not due yet or is leased by another claim whose lease has not run out, so a
   * row waiting for its retry holds back the rows behind it (order per destination is kept) but never
   * another destination. In the same transaction each claimed row gets `lease_until = now + leaseMs` and
   * one more attempt. It never waits for rows leased elsewhere. Results are grouped by destination, in the
   * order named.
   *
   * For a destination paced in `query.pacing`, the same transaction reads and updates the destination's
   * bucket (GCRA: one "theoretical arrival time" per destination, store-wide), so claims made by several
   * processes on one database draw from one bucket: after `burst` rows, each row's `sendAt` is one interval
   * (1000 / perSecond ms) after the previous one's, whoever claimed it. The claim stops, as at a row not
   * due, at the first row whose slot is more than a quarter of `leaseMs` away, so each claimed row can be
   * sent inside its lease. A slot is spent by the claim: a row claimed and not sent wastes it.
   */
  claim(query: ClaimQuery): Promise<ClaimedNotification[]>;
  /**
   * recordDelivered marks a pending notification delivered, clears its lease and appends `attempt`
   * (outcome `delivered`) to its history. Resolves false, changing no state, when the id is unknown or the
   * notification is no longer pending (another worker finished it after this one's lease ran out); the
   * attempt is still appended to the history of a known id. With `claimToken` (the token of the claim that
   * leased the row), it also resolves false and changes nothing at all (no history entry either) when the
   * row was claimed again since: the lease ran out and another claim (in this process or another) holds
   * it, so this worker's write is stale. Without `claimToken` no such check is made.
   */
  recordDelivered(id: string, attempt: AttemptRecord, claimToken?: string): Promise<boolean>;
  /**
   * scheduleRetry makes a pending notification due again at `dueAt`, clears its lease and appends
   * `attempt` (outcome `retry` or `broken`). Resolves false, as recordDelivered does, when there was
   * nothing pending to change, or when `claimToken` is stale (as recordDelivered). It never resets the
   * attempt count.
   */
  scheduleRetry(
    id: string,
    retry: { dueAt: number; attempt: AttemptRecord },
    claimToken?: string,
  ): Promise<boolean>;
  /**
   * deadLetter moves a pending notification to the dead letters with `reason`, clears its lease and
   * appends `attempt` (outcome `dead` or `broken`). Resolves false, as recordDelivered does, when there was
   * nothing pending to change, or when `claimToken` is stale (as recordDelivered). Dead letters stay until
   * replayed (DeadLetters.replayDead); pruneDelivered never removes them.
   */
  deadLetter(
    id: string,
    dead: { reason: string; attempt: AttemptRecord },
    claimToken?: string,
  ): Promise<boolean>;
  /**
   * releaseLeases ends every lease on a pending notification, so the next claim takes those rows at once
   * (in their place in the queue; the attempt each claim counted is kept, as the send may have gone out),
   * and resolves with how many leases it ended. It is for a process starting up: leases left by a run that
   * crashed mid-send would otherwise hold their rows until they run out. It is only safe where one process
   * owns the store and calls it before claiming (the SQLite engine: one relay process per file); an engine
   * that several delivering processes share must not call it, since it would end leases that live peers
   * hold and their notifications would be sent twice.
   */
  releaseLeases(): Promise<number>;
  /**
   * claimsHeld says whether this process may still send what it claimed, on an engine where a claim is
   * only as good as its claimant's liveness (PostgreSQL: a peer re-claims the rows of an instance whose
   * heartbeat is a few seconds old). false once this process's own heartbeat has not been confirmed for
   * long enough that a peer may soon judge it dead; with `claimToken`, also false when that claim was made
   * before such a stall (the engine gave its rows up when the heartbeat came back). The caller then forgets
   * what it holds, and sends and claims nothing while it is false. Absent where claims are never taken over
   * (SQLite: one process).
   */
  claimsHeld?(claimToken?: string): boolean;
  /** pendingCounts returns the number of pending notifications per destination (paused ones included). */
  pendingCounts(): Promise<Record<string, number>>;
  /**
   * onEnqueue calls `listener` after each evaluator commit that stored at least one notification, and after
   * a replay, a resume or a lease release in this process (wakes delivery without polling). A throwing
   * listener is logged and never affects the commit. Returns an unsubscribe function.
   */
  onEnqueue(listener: () => void): () => void;
  /**
   * pruneDelivered deletes notifications delivered before `cutoffMs` with their attempt history; returns
   * how many. It never deletes a pending or dead notification, and works in short chunks like
   * `EventLog.pruneOlderThan`.
   */
  pruneDelivered(cutoffMs: number): Promise<number>;
}

/**
 * DeadLetters holds what needs a person: notifications that can never succeed as they are (dead letters)
 * and destinations found broken (paused). The deliver stage pauses a broken destination; an operator
 * (`hookrelay dlq`) lists, replays and resumes. Pauses and replays are persisted, so every process sharing
 * the database sees them at its next claim. Errors are as for Outbox.
 */
export interface DeadLetters {
  /**
   * pauseDestination records that a destination is broken: its notifications stay pending and are not
   * claimed until it is resumed. Pausing a paused destination replaces its reason and time.
   */
  pauseDestination(destination: string, pause: { reason: string; at: number }): Promise<void>;
  /** resumeDestination lifts a pause; resolves false when the destination was not paused. Wakes onEnqueue listeners. */
  resumeDestination(destination: string): Promise<boolean>;
  /** listPausedDestinations returns every paused destination, ordered by name. */
  listPausedDestinations(): Promise<PausedDestination[]>;
  /** listDead returns dead letters newest first (by `deadAt`), never more than `limit`. */
  listDead(query: DeadQuery): Promise<DeadLetter[]>;
  /**
   * replayDead moves the selected dead letters back to pending, due at `now`, with their attempt count
   * reset (their history is kept), in their original place in the destination's queue; and resumes the
   * destinations concerned (`destination`; the replayed ids' destinations; every paused one for `all`),
   * even when no dead letter was selected. Resolves with how many were replayed. Ids that are unknown or
   * not dead are ignored. Wakes onEnqueue listeners when something was replayed or resumed.
   */
  replayDead(query: ReplayQuery): Promise<number>;
}

/**
 * Blobs serves the large bytes kept beside the event log (screenshots) to the deliver stage, which
 * attaches them. Errors are as for Outbox.
 */
export interface Blobs {
  /**
   * getImage returns the screenshot bytes of the stored item with this seq, or undefined when it has none
   * or was pruned (which retention never does while a pending or dead notification names the seq).
   */
  getImage(eventSeq: number): Promise<StoredImage | undefined>;
}

/**
 * CommitStats are counters since the store opened, for /metrics: `appendsCommitted ÷ appendCommits` is how
 * many webhook requests one durable commit (one fsync) carries, the figure group commit lives by.
 */
export interface CommitStats {
  /** Transactions that committed at least one append. */
  appendCommits: number;
  /** Appends (one per webhook request) those transactions committed. */
  appendsCommitted: number;
}

/** Store is everything the stages persist, one port per audience. */
export interface Store {
  readonly engine: 'sqlite' | 'postgres';
  /** The event log: ingest appends, the evaluator reads. */
  readonly events: EventLog;
  /** The evaluator's cursor and rule state, committed with the notifications it decides. */
  readonly evaluator: EvaluatorStore;
  /** The delivery queue (the deliver stage). */
  readonly outbox: Outbox;
  /** Dead letters and paused destinations (the deliver stage pauses; an operator replays and resumes). */
  readonly deadLetters: DeadLetters;
  /** Screenshot bytes for the deliver stage. */
  readonly blobs: Blobs;
  /** Silences created at run time (dashboard, API, CLI); see admin-ports.ts. */
  readonly silences: SilenceStore;
  /** One conversation per alert and destination (threads and in-place updates); see conversation-port.ts. */
  readonly conversations: ConversationStore;
  /** Values usable once within a window, across every process sharing the database (Slack interaction signatures). */
  readonly nonces: NonceStore;
  /** The admin listener's read queries; see admin-ports.ts. */
  readonly admin: AdminReads;
  /** commitStats returns the counters so far; it never touches the database. */
  commitStats(): CommitStats;
  /**
   * checkWritable resolves true when the store can keep what it is sent (for /readyz): a small write
   * commits now, no append failed for the store's reasons in the last 30 s without one committing since (a
   * probe fits on a full disk, appends do not), and the database is still the one opened (an engine with
   * a file: not deleted or replaced). It never rejects.
   */
  checkWritable(): Promise<boolean>;
  /** close flushes pending appends, then releases the database. Calling it again resolves and does nothing. */
  close(): Promise<void>;
}
