/**
 * The loop of one destination: claim the head of its queue, send in order under its pacing (the send slots
 * its claims get from the destination's bucket in the store, shared by every instance, and a local token
 * bucket), decide what each answer means, write that, and report it. Decisions are decide.ts, store writes
 * record.ts, the leases lease.ts; metrics and logs are the observer's, from the events reported here.
 */
import { performance } from 'node:perf_hooks';
import type { Destination, SendContext, SendResult } from '../destinations/index.js';
import type { Clock } from '../lib/clock.js';
import { coerceError } from '../lib/errors.js';
import type { ConversationKey, ConversationStore } from '../store/conversation-port.js';
import type { Blobs, ClaimPacing, DeadLetters, EventLog, Outbox } from '../store/ports.js';
import { decide, type Sent } from './decide.js';
import type { DeliveryEvent } from './events.js';
import { outcomeEvent } from './events.js';
import { type Held, HeldRows } from './lease.js';
import { createTokenBucket, type PacingPolicy, type TokenBucket } from './pacing.js';
import type { DeliveryPolicy } from './policy.js';
import { writeDecision } from './record.js';

/** DelivererStore is the part of the store the deliver stage uses. */
export interface DelivererStore {
  /** The engine; a shared one (`postgres`) never has its leases released at start. */
  readonly engine?: 'sqlite' | 'postgres';
  outbox: Outbox;
  /** The deliver stage pauses a broken destination and notices when someone resumed it. */
  deadLetters: Pick<DeadLetters, 'pauseDestination' | 'resumeDestination' | 'listPausedDestinations'>;
  blobs: Blobs;
  events: Pick<EventLog, 'getRequest'>;
  /** The alerts' conversations, for destinations that thread (see Destination.threads). */
  conversations: ConversationStore;
}

/** WorkerContext is what every destination's loop shares. */
export interface WorkerContext {
  store: DelivererStore;
  clock: Clock;
  leaseMs: number;
  pollMs: number;
  maxBatch: number;
  random: () => number;
  emit: (event: DeliveryEvent) => void;
}

/** A firing this long after its conversation's first message starts a new one (see send). */
export const CONVERSATION_MAX_AGE_MS = 24 * 3_600_000;

/** First guess of one send's duration, until sends are measured. */
const INITIAL_SEND_ESTIMATE_MS = 20;
/** Weight of the newest send in the running average of send durations. */
const SEND_ESTIMATE_WEIGHT = 0.2;
/** What `step` returns when only wake() can bring something to do (a send in flight always ends with one). */
const UNTIL_WOKEN = Number.POSITIVE_INFINITY;

/**
 * DestinationWorker is the loop of one destination. It keeps at most one claimed batch in memory, sends
 * it in order, and stops sending (but keeps its leases) while the notification at the head of the queue
 * waits for its retry, so order holds without handing rows back to the store.
 *
 * A send's slot is free once its answer is decided, before the outbox has recorded it: what follows
 * depends only on that decision (a retry blocks the queue, a broken destination pauses it, both decided
 * at once), so the next send overlaps the previous write and a store that group-commits can put many of
 * them in one transaction. A claim need not wait for them: the outbox applies claims and transitions in
 * call order, so it sees the rows just sent as settled, not as leased (a claim stops at a leased row).
 * The pause check reads through another path (the paused list) and waits for them.
 */
export class DestinationWorker {
  private readonly held: HeldRows;
  /** Sends in flight (from the request until its answer is decided); bounded by `concurrency`. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Outbox writes of decided sends, not yet durable. */
  private readonly recording = new Set<Promise<void>>();
  private blockedUntil: number | undefined;
  private paused = false;
  private stopped = false;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private bucket: TokenBucket;
  private sendEstimateMs = INITIAL_SEND_ESTIMATE_MS;

  constructor(
    private readonly name: string,
    private destination: Destination,
    private policy: DeliveryPolicy,
    private readonly shared: WorkerContext,
  ) {
    this.held = new HeldRows(shared.leaseMs);
    this.bucket = createTokenBucket(policy.pacing, shared.clock.now());
  }

  start(): void {
    this.loop = this.run();
  }

  /** stop ends the loop once in-flight sends are recorded, and hands back what it holds. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  /** update swaps the adapter and policy; resolves when no send uses the previous adapter any more. */
  async update(destination: Destination, policy: DeliveryPolicy): Promise<void> {
    const previous = [...this.inFlight];
    this.destination = destination;
    if (!samePacing(this.policy.pacing, policy.pacing)) {
      this.bucket = createTokenBucket(policy.pacing, this.shared.clock.now());
    }
    this.policy = policy;
    this.wake();
    await Promise.allSettled(previous);
  }

  /** clearPause forgets the local pause once the store's pause was lifted by the caller (who reports it). */
  clearPause(): void {
    this.paused = false;
    this.wake();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let waitMs: number;
      try {
        waitMs = await this.step();
      } catch (thrown) {
        // A store failure: let the leases of what is held lapse (the rows come back in order) and retry.
        this.held.forget();
        this.reportError(thrown);
        waitMs = this.shared.pollMs;
      }
      if (this.stopped) break;
      if (waitMs > 0) await this.sleep(waitMs);
    }
    await Promise.allSettled([...this.inFlight]);
    // A send settles after it started its write, so every write is in `recording` by now.
    await Promise.allSettled([...this.recording]);
    await this.handBack('hookrelay was stopping').catch((thrown) => this.reportError(thrown));
  }

  /**
   * step does what can be done now and returns how long to wait before the next step (0: at once,
   * UNTIL_WOKEN: until wake()).
   */
  private async step(): Promise<number> {
    const { clock, pollMs, leaseMs, store } = this.shared;
    if (this.paused && this.recording.size > 0) {
      // The write that paused the destination (and hands back what is held) may still be in flight:
      // before it lands, the paused list would say "resumed". The step starts over once it has.
      await Promise.allSettled([...this.recording]);
      return 0;
    }
    if (this.paused) {
      // A paused destination is never claimed, so ask the store whether someone lifted the pause.
      const paused = await store.deadLetters.listPausedDestinations();
      if (paused.some((p) => p.destination === this.name)) return pollMs;
      // A reload may have lifted it meanwhile; then it has already said so.
      if (this.paused) {
        this.paused = false;
        this.shared.emit({ type: 'destination:resumed', destination: this.name, by: 'store' });
      }
    }
    let now = clock.now();
    this.held.dropExpiring(now, this.sendEstimateMs);
    if (this.blockedUntil !== undefined && now < this.blockedUntil) {
      return Math.min(this.blockedUntil - now, pollMs);
    }
    const concurrency = this.policy.pacing.concurrency;
    if (this.fenced()) return pollMs;
    // Claim when there is nothing to send, or when the head's retry came due. In-flight rows keep their
    // leases, and a claim stops at a leased row, so there is nothing to claim behind them yet.
    if ((this.held.length === 0 && this.inFlight.size === 0) || this.blockedUntil !== undefined) {
      const claimed = await store.outbox.claim({
        now,
        leaseMs,
        limitPerDestination: this.batchLimit(),
        destinations: [this.name],
        pacing: this.claimPacing(),
      });
      if (claimed.length === 0) {
        // Nothing due (or the head is still leased elsewhere): new notifications wake us at once.
        return pollMs;
      }
      this.blockedUntil = undefined;
      this.held.adopt(claimed, now);
    }
    while (
      this.held.length > 0 &&
      this.inFlight.size < concurrency &&
      this.blockedUntil === undefined &&
      !this.paused &&
      !this.stopped
    ) {
      now = clock.now();
      this.held.dropExpiring(now, this.sendEstimateMs);
      const first = this.held.first();
      if (first === undefined) break;
      if (this.fenced(first.notification.claimToken)) return pollMs;
      // The slot the claim gave it from the destination's bucket in the store, shared by every instance:
      // the cluster's pace. The local bucket below comes second: it paces rows whose slots are old (those
      // held while the head waited for its retry). It hardly ever delays a fresh slot: this process's sends
      // are a part of the cluster's, which keep the same rate and burst.
      const untilSlot = first.notification.sendAt - now;
      if (untilSlot > 0) return untilSlot;
      const wait = this.bucket.tryTake(now);
      if (wait > 0) return wait;
      const next = this.held.take();
      if (next !== undefined) this.startSend(next);
    }
    // Busy: a finishing send wakes the loop (no timer needed: one per send was measurable).
    if (this.inFlight.size > 0) return UNTIL_WOKEN;
    return this.held.length > 0 || this.blockedUntil !== undefined ? 0 : pollMs;
  }

  /**
   * claimPacing asks the claim for send slots from the destination's bucket in the store (absent for an
   * unpaced one: its claim is unchanged). A slot is spent when claimed: a row claimed and not sent (a retry,
   * a hand-back, a crash) wastes it, which only ever sends slower than the rate, never faster.
   */
  private claimPacing(): Record<string, ClaimPacing> | undefined {
    const { perSecond, burst } = this.policy.pacing;
    return Number.isFinite(perSecond) ? { [this.name]: { perSecond, burst } } : undefined;
  }

  /** batchLimit claims about as many rows as can be sent in a quarter of the lease, at the measured pace. */
  private batchLimit(): number {
    const { perSecond, concurrency } = this.policy.pacing;
    const interval = Number.isFinite(perSecond) ? 1000 / perSecond : 0;
    const perSend = Math.max(this.sendEstimateMs / concurrency, interval, 0.05);
    const limit = Math.floor(this.shared.leaseMs / 4 / perSend);
    return Math.max(1, Math.min(this.shared.maxBatch, limit));
  }

  private startSend(held: Held): void {
    const promise: Promise<void> = this.send(held)
      .then((sent) => this.startRecord(sent))
      .catch((thrown) => {
        // Reading what to send failed: keep the order by letting the held leases lapse as well.
        this.held.forget();
        this.reportError(thrown);
      })
      .finally(() => {
        this.inFlight.delete(promise);
        this.wake();
      });
    this.inFlight.add(promise);
  }

  /**
   * startRecord decides a send and starts its outbox write; the decisions that hold back the next send
   * (a retry's wait, a pause) are taken before it returns, so the send slot can be freed at once.
   */
  private startRecord(sent: Sent): void {
    const promise: Promise<void> = this.record(sent)
      .catch((thrown) => {
        // Recording failed: keep the order by letting the held leases lapse as well. A send started
        // meanwhile may already have reached the peer; the unrecorded row comes back after its lease
        // (or at the next start) and is sent again, with its id: at least once, never lost.
        this.held.forget();
        this.reportError(thrown);
      })
      .finally(() => {
        this.recording.delete(promise);
      });
    this.recording.add(promise);
  }

  private async send({ notification, deadline }: Held): Promise<Sent> {
    const { clock, store } = this.shared;
    const destination = this.destination;
    const context: Omit<SendContext, 'signal'> = { attempt: notification.attempts };
    if (notification.alert.attachScreenshot && notification.eventSeq !== undefined) {
      const image = await store.blobs.getImage(notification.eventSeq);
      if (image) context.image = image;
    }
    if (notification.requestId !== undefined && destination.wantsRequestBody === true) {
      const request = await store.events.getRequest(notification.requestId);
      if (request) context.requestBody = request.body;
    }
    // A destination that threads needs the alert's conversation; the queue's order per destination means
    // the first message was sent (and its conversation recorded) before any follow-up is claimed.
    const conversationKey: ConversationKey | undefined =
      destination.threads === true
        ? { destination: this.name, rule: notification.alert.rule, key: notification.alert.key }
        : undefined;
    const found = conversationKey && (await store.conversations.find(conversationKey));
    // A rule that never resolves (a plain match, a digest) would thread into its first message forever:
    // a firing a day after the first message starts a new conversation instead. A resolve always goes home.
    const stale =
      found !== undefined &&
      notification.alert.status === 'firing' &&
      clock.now() - found.startedAt > CONVERSATION_MAX_AGE_MS;
    const conversation = stale ? undefined : found;
    if (conversation) context.conversation = conversation.ref;
    const at = clock.now();
    const started = performance.now();
    let result: SendResult;
    try {
      const acknowledged = conversation?.acknowledged;
      result =
        acknowledged && notification.alert.status === 'firing'
          ? // A person acknowledged the alert: its repeats stay quiet until it resolves (the resolve is sent).
            { ok: true, detail: `not sent: acknowledged by ${acknowledged.by}` }
          : await destination.send(notification, { ...context, signal: deadline.signal });
    } catch (thrown) {
      // Adapters never throw for a failed delivery; this is a bug, kept as a retry so nothing is lost.
      const error = coerceError(thrown);
      this.shared.emit({ type: 'deliver:error', destination: this.name, error, in: 'adapter' });
      result = { ok: false, outcome: 'retry', reason: 'network', detail: `adapter error: ${error.message}` };
    } finally {
      deadline.sent();
    }
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    this.sendEstimateMs += SEND_ESTIMATE_WEIGHT * (durationMs - this.sendEstimateMs);
    if (conversationKey && result.ok) {
      // Written before the delivery is recorded: after a crash in between, the notification is sent
      // again as a follow-up of the message that did go out, never as a second first message.
      if (!conversation && result.conversation) {
        if (stale) await store.conversations.end(conversationKey);
        await store.conversations.start({ ...conversationKey, ref: result.conversation, startedAt: at });
      }
      if (notification.alert.status === 'resolved') await store.conversations.end(conversationKey);
    }
    return { notification, at, durationMs, result };
  }

  /**
   * record decides a send, writes the decision to the outbox, then reports it. Everything that holds back
   * the next send (`blockedUntil`, `paused`) is set before its first await: see startRecord.
   */
  private async record(sent: Sent): Promise<void> {
    const { store, clock, emit } = this.shared;
    const now = clock.now();
    const decision = decide(sent, this.policy.retry, now, this.shared.random);
    // The rest of the queue waits for a retried notification, so that order holds; after a broken
    // answer nothing more is sent (other sends in flight finish and are recorded as they end).
    let firstPause = false;
    if (decision.kind === 'retry') this.blockedUntil = decision.dueAt;
    if (decision.kind === 'pause') {
      firstPause = !this.paused;
      this.paused = true;
    }
    const recorded = await writeDecision(store, this.name, sent, decision, now);
    emit(outcomeEvent(this.name, sent, decision, recorded));
    if (decision.kind !== 'pause') return;
    if (firstPause) {
      emit({
        type: 'destination:paused',
        destination: this.name,
        reason: decision.reason,
        hint: decision.hint,
        id: sent.notification.id,
        attempts: sent.notification.attempts,
        failure: decision.failure,
      });
    }
    await this.handBack(`destination "${this.name}" was paused`);
  }

  /**
   * fenced: the store says a peer may soon take over what this process claimed (its heartbeat stalled:
   * event loop blocked, database slow), or already may (`claimToken`'s claim predates such a stall). Then
   * nothing held is sent (a peer may be sending it) and nothing is claimed; what is held is forgotten, as
   * after a store failure, and comes back from the store.
   */
  private fenced(claimToken?: string): boolean {
    if (this.shared.store.outbox.claimsHeld?.(claimToken) !== false) return false;
    this.held.forget();
    return true;
  }

  /** handBack returns the held, unsent rows to the outbox, due now in their place. */
  private handBack(why: string): Promise<void> {
    return this.held.handBack(this.shared.store.outbox, why, this.shared.clock.now());
  }

  private reportError(thrown: unknown): void {
    this.shared.emit({ type: 'deliver:error', destination: this.name, error: coerceError(thrown) });
  }

  /** sleep waits `ms`, or until wake(); UNTIL_WOKEN waits for wake() alone. */
  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = ms === UNTIL_WOKEN ? undefined : setTimeout(done, ms);
      function done(): void {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    }).then(() => {
      this.wakeUp = undefined;
      this.woken = false;
    });
  }
}

function samePacing(a: PacingPolicy, b: PacingPolicy): boolean {
  return a.perSecond === b.perSecond && a.burst === b.burst && a.concurrency === b.concurrency;
}
