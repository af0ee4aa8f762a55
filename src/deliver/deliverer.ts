/**
 * The deliver stage: one independent loop per destination claims due notifications from the outbox,
 * sends them through the destination's adapter, and decides from the adapter's classification what
 * happens next (delivered, retry later, dead letter, or pause the destination). Adapters only report;
 * backoff, Retry-After caps, pacing, the attempt ledger and the metrics live here (style.md §6.6 habit 3).
 */
import { performance } from 'node:perf_hooks';
import type { Counter, Histogram } from 'prom-client';
import type { Destination, SendContext, SendFailure, SendResult } from '../destinations/index.js';
import type { Clock } from '../lib/clock.js';
import { coerceError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Metrics } from '../lib/metrics.js';
import type {
  AttemptOutcome,
  AttemptRecord,
  Blobs,
  ClaimedNotification,
  DeadLetters,
  EventLog,
  Outbox,
} from '../store/ports.js';
import { createTokenBucket, type PacingPolicy, pacingPolicyFor, type TokenBucket } from './pacing.js';
import { decideRetry, type RetryPolicy, retryPolicyFor } from './retry-policy.js';

/** DeliveryPolicy is how one destination is retried and paced. */
export interface DeliveryPolicy {
  retry: RetryPolicy;
  pacing: PacingPolicy;
}

/**
 * DeliveryEvent is what the deliverer reports as it works (`onEvent`): the same facts its log lines and
 * metrics carry, typed, so tests and tools can wait for them instead of sleeping.
 */
export type DeliveryEvent =
  | { type: 'delivery:delivered'; destination: string; id: string; attempts: number; durationMs: number }
  | {
      type: 'delivery:retry';
      destination: string;
      id: string;
      attempts: number;
      reason: string;
      detail: string;
      dueAt: number;
    }
  | { type: 'delivery:dead'; destination: string; id: string; attempts: number; reason: string }
  | { type: 'destination:paused'; destination: string; reason: string }
  | { type: 'destination:resumed'; destination: string; by: 'reload' | 'store' }
  | { type: 'destination:unconfigured'; destination: string; pending: number }
  | { type: 'deliver:error'; destination: string; error: Error };

/** DelivererStore is the part of the store the deliver stage uses. */
export interface DelivererStore {
  outbox: Outbox;
  /** The deliver stage pauses a broken destination and notices when someone resumed it. */
  deadLetters: Pick<DeadLetters, 'pauseDestination' | 'resumeDestination' | 'listPausedDestinations'>;
  blobs: Blobs;
  events: Pick<EventLog, 'getRequest'>;
}

/** DelivererOptions configure createDeliverer. */
export interface DelivererOptions {
  store: DelivererStore;
  /** The configured destinations by name. The deliverer uses them and never closes them. */
  destinations: ReadonlyMap<string, Destination>;
  /** Retry and pacing per destination name; a destination without one gets DEFAULT_POLICY. */
  policies: ReadonlyMap<string, DeliveryPolicy>;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /**
   * How long a claim holds its rows (default 60 s). A process that dies mid-send lets the lease run out
   * and the rows are sent again after it, with the same id. Every send is aborted before its lease ends.
   */
  leaseMs?: number;
  /**
   * Longest idle wait between two looks at the outbox (default 1 s). New notifications wake the loops at
   * once; this bounds how late a retry that came due, a lease that ran out, or a pause, resume or replay
   * made by another process (`hookrelay dlq`) is noticed.
   */
  pollMs?: number;
  /**
   * Most notifications one claim takes per destination (default 1024; fewer for a paced destination, see
   * batchLimit); they wait on disk, not here. Each claim costs the loop a round trip to the store
   * between two sends: measured against a fast receiver, 64 gave about 8% fewer deliveries/s than 256,
   * and 256 about 5% fewer than 1024.
   */
  maxBatch?: number;
  /** Random source for retry jitter, [0, 1); Math.random by default. */
  random?: () => number;
  /** Called for every DeliveryEvent; a listener that throws is logged and ignored. */
  onEvent?: (event: DeliveryEvent) => void;
  /**
   * Whether `start()` first hands back every lease left in the outbox (`Outbox.releaseLeases`), so what a
   * crashed run had claimed is sent again at once instead of after its lease (default true). Right only
   * when this process alone delivers from the store, as with the SQLite engine (one relay process per
   * file); an engine that several relay processes share must set false, or a live peer's sends would be
   * duplicated.
   */
  releaseLeasesAtStart?: boolean;
}

/** Deliverer runs the deliver stage. */
export interface Deliverer {
  /**
   * start releases the leases a previous run left (see `DelivererOptions.releaseLeasesAtStart`), resumes
   * every configured destination that a previous run paused (a start reads the config afresh, as a reload
   * does), warns about pending notifications for destinations no longer configured, and starts one loop
   * per destination. Calling it twice does nothing more.
   */
  start(): Promise<void>;
  /**
   * stop lets the sends in flight finish and records them, hands the claimed but unsent notifications
   * back to the outbox (due now, same place in the queue), and ends the loops. It closes nothing it did
   * not create: not the store, not the destinations.
   */
  stop(): Promise<void>;
  /**
   * reload swaps in new destinations and policies, starts and stops loops for added and removed names,
   * and resumes every paused destination that is configured (a config reload is one of the two ways
   * back; `hookrelay dlq replay/resume` is the other). It resolves once no send uses a destination object
   * from before, so the caller may then close those.
   */
  reload(
    destinations: ReadonlyMap<string, Destination>,
    policies: ReadonlyMap<string, DeliveryPolicy>,
  ): Promise<void>;
  /** wake makes every loop look at the outbox now (after a clock change, or a change by another process). */
  wake(): void;
}

const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_POLL_MS = 1_000;
const DEFAULT_MAX_BATCH = 1024;
/** A send is aborted this long before its lease ends, so no other claim can overlap it. */
const MAX_LEASE_MARGIN_MS = 1_000;
/** First guess of one send's duration, until sends are measured. */
const INITIAL_SEND_ESTIMATE_MS = 20;
/** Weight of the newest send in the running average of send durations. */
const SEND_ESTIMATE_WEIGHT = 0.2;
/** What `step` returns when only wake() can bring something to do (a send in flight always ends with one). */
const UNTIL_WOKEN = Number.POSITIVE_INFINITY;

/** What a person can do about each class of broken destination. */
const BROKEN_HINTS: Record<string, string> = {
  authError: 'check the credentials (bot token, webhook URL, SMTP login) and the permissions they grant',
  notFound:
    'the channel, webhook or mailbox is gone or the bot is not in it: fix the config or invite the bot',
  refused: 'the address is private or loopback: set allowPrivateNetworks: true if that is intended',
  clientError: 'fix the destination URL in the config',
};

/**
 * pauseReasonClass returns the class at the start of a pause reason as the deliverer writes it
 * (`authError: slack …`), for the `reason` label of hookrelay_destination_paused; `unknown` otherwise.
 */
export function pauseReasonClass(reason: string): string {
  return /^([A-Za-z]+): /.exec(reason)?.[1] ?? 'unknown';
}

interface Shared {
  store: DelivererStore;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  leaseMs: number;
  pollMs: number;
  maxBatch: number;
  random: () => number;
  emit: (event: DeliveryEvent) => void;
}

/** A claimed notification this loop holds the lease of and has not sent yet. */
interface Held {
  notification: ClaimedNotification;
  leaseUntil: number;
  /** Aborts the sends of the claim this row came with, before their common lease ends. */
  deadline: LeaseDeadline;
}

/**
 * LeaseDeadline aborts the sends of one claim shortly before its lease ends: a send must end before the
 * lease does, or another claim could send the same notification meanwhile. The rows of a claim share
 * their lease, so they share one signal and one timer (not one each: measured, a few µs per delivery).
 */
class LeaseDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private unsent: number;

  constructor(ms: number, rows: number) {
    this.unsent = rows;
    this.timer = setTimeout(
      () =>
        this.controller.abort(new DOMException('the claim on this notification is ending', 'TimeoutError')),
      Math.max(1, ms),
    );
    // A row dropped unsent never calls sent(): the timer then fires with nothing listening, and must not
    // keep the process alive meanwhile.
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** sent says one row's send ended; after the last one the timer is cleared. */
  sent(): void {
    this.unsent -= 1;
    if (this.unsent <= 0) clearTimeout(this.timer);
  }
}

/** A send that has its answer, to be recorded. */
interface Sent {
  notification: ClaimedNotification;
  /** When the attempt started, epoch ms. */
  at: number;
  durationMs: number;
  result: SendResult;
}

/**
 * createDeliverer builds the deliver stage over the store's outbox. Nothing runs before `start()`.
 * Per destination, notifications are sent in queue order, one at a time by default (`rate.concurrency`
 * above 1 lets several run at once, in which case they may arrive out of order); a notification waiting
 * for its retry holds back the ones behind it, never another destination's.
 */
export function createDeliverer(options: DelivererOptions): Deliverer {
  const { store, logger, metrics } = options;
  const emit = (event: DeliveryEvent): void => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      logger.error({ err: error }, 'a delivery event listener threw; ignored');
    }
  };
  const shared: Shared = {
    store,
    clock: options.clock,
    logger,
    metrics,
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    pollMs: options.pollMs ?? DEFAULT_POLL_MS,
    maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
    random: options.random ?? Math.random,
    emit,
  };
  const workers = new Map<string, DestinationWorker>();
  let destinations = options.destinations;
  let policies = options.policies;
  let unsubscribe: (() => void) | undefined;
  let started = false;
  let stopping: Promise<void> | undefined;
  const warnedUnconfigured = new Set<string>();

  const policyOf = (name: string): DeliveryPolicy => policies.get(name) ?? DEFAULT_POLICY;

  /**
   * releaseLeftLeases hands back what a previous run of this process had claimed: that run is gone (it
   * crashed, or was killed mid-send), so nobody holds those leases, and waiting them out would only delay
   * the alerts by up to `leaseMs`.
   */
  async function releaseLeftLeases(): Promise<void> {
    if (options.releaseLeasesAtStart === false) return;
    const released = await store.outbox.releaseLeases();
    if (released > 0) {
      logger.info(
        { released },
        `released ${released} notification(s) a previous run had claimed but not settled; they are sent again`,
      );
    }
  }

  async function resumeConfigured(): Promise<void> {
    const paused = await store.deadLetters.listPausedDestinations();
    for (const { destination, reason } of paused) {
      if (!destinations.has(destination)) continue;
      if (await store.deadLetters.resumeDestination(destination)) {
        logger.info(
          { destination, pausedFor: reason },
          `destination "${destination}" resumed by the configuration`,
        );
        workers.get(destination)?.clearPause();
        emit({ type: 'destination:resumed', destination, by: 'reload' });
      }
    }
  }

  async function warnUnconfigured(): Promise<void> {
    const counts = await store.outbox.pendingCounts();
    for (const name of [...warnedUnconfigured]) if (destinations.has(name)) warnedUnconfigured.delete(name);
    for (const [destination, pending] of Object.entries(counts)) {
      if (destinations.has(destination) || warnedUnconfigured.has(destination)) continue;
      warnedUnconfigured.add(destination);
      logger.warn(
        { destination, pending },
        `${pending} notification(s) wait for destination "${destination}", which is no longer configured; ` +
          'they are kept and sent once it is configured again',
      );
      emit({ type: 'destination:unconfigured', destination, pending });
    }
  }

  function startWorker(name: string, destination: Destination): void {
    const worker = new DestinationWorker(name, destination, policyOf(name), shared);
    workers.set(name, worker);
    worker.start();
  }

  const wakeAll = (): void => {
    for (const worker of workers.values()) worker.wake();
  };

  return {
    async start() {
      if (started) return;
      started = true;
      await releaseLeftLeases();
      await resumeConfigured();
      await warnUnconfigured();
      if (stopping) return;
      unsubscribe = store.outbox.onEnqueue(wakeAll);
      metrics.observeOutbox({
        pending: async () => {
          const counts = await store.outbox.pendingCounts();
          for (const name of destinations.keys()) counts[name] ??= 0;
          return counts;
        },
        paused: async () =>
          (await store.deadLetters.listPausedDestinations()).map((p) => ({
            destination: p.destination,
            reason: pauseReasonClass(p.reason),
          })),
      });
      for (const [name, destination] of destinations) startWorker(name, destination);
    },

    stop() {
      stopping ??= (async () => {
        unsubscribe?.();
        metrics.observeOutbox(undefined);
        await Promise.all([...workers.values()].map((worker) => worker.stop()));
        workers.clear();
      })();
      return stopping;
    },

    async reload(nextDestinations, nextPolicies) {
      destinations = nextDestinations;
      policies = nextPolicies;
      if (!started || stopping) return;
      const waits: Promise<unknown>[] = [];
      for (const [name, worker] of workers) {
        if (nextDestinations.has(name)) continue;
        workers.delete(name);
        waits.push(worker.stop());
      }
      for (const [name, destination] of nextDestinations) {
        const worker = workers.get(name);
        if (worker) waits.push(worker.update(destination, policyOf(name)));
        else startWorker(name, destination);
      }
      await resumeConfigured();
      await warnUnconfigured();
      wakeAll();
      await Promise.all(waits);
    },

    wake: wakeAll,
  };
}

/** DEFAULT_POLICY is used for a destination the policies map does not name (the webhook defaults). */
const DEFAULT_POLICY: DeliveryPolicy = {
  retry: retryPolicyFor('webhook'),
  pacing: pacingPolicyFor('webhook'),
};

/**
 * DestinationWorker is the loop of one destination. It keeps at most one claimed batch in memory, sends
 * it in order, and stops sending (but keeps its leases) while the notification at the head of the queue
 * waits for its retry, so order holds without handing rows back to the store.
 *
 * A send's slot is free once its answer is classified, before the outbox has recorded it: what follows
 * depends only on that classification (a retry blocks the queue, a broken destination pauses it, both
 * decided at once), so the next send overlaps the previous write and a store that group-commits can put
 * many of them in one transaction. A claim need not wait for them: the outbox applies claims and
 * transitions in call order, so it sees the rows just sent as settled, not as leased (a claim stops at
 * a leased row). The pause check reads through another path (the paused list) and waits for them.
 */
class DestinationWorker {
  private held: Held[] = [];
  /** Sends in flight (from the request until its answer is classified); bounded by `concurrency`. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Outbox writes of classified sends, not yet durable. */
  private readonly recording = new Set<Promise<void>>();
  private blockedUntil: number | undefined;
  private paused = false;
  private stopped = false;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private bucket: TokenBucket;
  private sendEstimateMs = INITIAL_SEND_ESTIMATE_MS;
  // The labelled series every send touches, looked up once (prom-client hashes the labels on each call).
  private readonly sendSeconds: Histogram.Internal<'destination'>;
  private readonly deliveredCount: Counter.Internal;

  constructor(
    private readonly name: string,
    private destination: Destination,
    private policy: DeliveryPolicy,
    private readonly shared: Shared,
  ) {
    this.bucket = createTokenBucket(policy.pacing, shared.clock.now());
    this.sendSeconds = shared.metrics.deliverySeconds.labels({ destination: name });
    this.deliveredCount = shared.metrics.deliveries.labels({
      destination: name,
      outcome: 'delivered',
      reason: 'ok',
    });
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
        this.held = [];
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
        this.shared.logger.info({ destination: this.name }, `destination "${this.name}" resumed`);
        this.shared.emit({ type: 'destination:resumed', destination: this.name, by: 'store' });
      }
    }
    let now = clock.now();
    this.dropExpiring(now);
    if (this.blockedUntil !== undefined && now < this.blockedUntil) {
      return Math.min(this.blockedUntil - now, pollMs);
    }
    const concurrency = this.policy.pacing.concurrency;
    // Claim when there is nothing to send, or when the head's retry came due. In-flight rows keep their
    // leases, and a claim stops at a leased row, so there is nothing to claim behind them yet.
    if ((this.held.length === 0 && this.inFlight.size === 0) || this.blockedUntil !== undefined) {
      const claimed = await store.outbox.claim({
        now,
        leaseMs,
        limitPerDestination: this.batchLimit(),
        destinations: [this.name],
      });
      if (claimed.length === 0) {
        // Nothing due (or the head is still leased elsewhere): new notifications wake us at once.
        return pollMs;
      }
      this.blockedUntil = undefined;
      const leaseUntil = now + leaseMs;
      const deadline = new LeaseDeadline(leaseMs - this.margin(), claimed.length);
      // A claim returns the head of the queue up to the first row leased by anyone, ours included, so
      // what it returns comes before what is held.
      this.held = [...claimed.map((notification) => ({ notification, leaseUntil, deadline })), ...this.held];
    }
    while (
      this.held.length > 0 &&
      this.inFlight.size < concurrency &&
      this.blockedUntil === undefined &&
      !this.paused &&
      !this.stopped
    ) {
      now = clock.now();
      this.dropExpiring(now);
      const next = this.held[0];
      if (next === undefined) break;
      const wait = this.bucket.tryTake(now);
      if (wait > 0) return wait;
      this.held.shift();
      this.startSend(next);
    }
    // Busy: a finishing send wakes the loop (no timer needed: one per send was measurable).
    if (this.inFlight.size > 0) return UNTIL_WOKEN;
    return this.held.length > 0 || this.blockedUntil !== undefined ? 0 : pollMs;
  }

  /**
   * dropExpiring forgets held rows whose lease is too close to its end to start a send (another claim may
   * take them after it); they come back from the store, in order, once the lease has run out.
   */
  private dropExpiring(now: number): void {
    const first = this.held[0];
    if (first === undefined) return;
    const needed = Math.min(
      this.shared.leaseMs / 2,
      Math.max(4 * this.sendEstimateMs, 1_000) + this.margin(),
    );
    if (first.leaseUntil - now < needed) this.held = [];
  }

  private margin(): number {
    return Math.min(MAX_LEASE_MARGIN_MS, this.shared.leaseMs / 10);
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
        this.held = [];
        this.reportError(thrown);
      })
      .finally(() => {
        this.inFlight.delete(promise);
        this.wake();
      });
    this.inFlight.add(promise);
  }

  /**
   * startRecord classifies a send and starts its outbox write; the decisions that hold back the next send
   * (a retry's wait, a pause) are taken before it returns, so the send slot can be freed at once.
   */
  private startRecord(sent: Sent): void {
    const promise: Promise<void> = this.record(sent.notification, sent.at, sent.durationMs, sent.result)
      .catch((thrown) => {
        // Recording failed: keep the order by letting the held leases lapse as well. A send started
        // meanwhile may already have reached the peer; the unrecorded row comes back after its lease
        // (or at the next start) and is sent again, with its id: at least once, never lost.
        this.held = [];
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
    const at = clock.now();
    const started = performance.now();
    let result: SendResult;
    try {
      result = await destination.send(notification, { ...context, signal: deadline.signal });
    } catch (thrown) {
      // Adapters never throw for a failed delivery; this is a bug, kept as a retry so nothing is lost.
      const error = coerceError(thrown);
      this.shared.logger.error({ err: error, destination: this.name }, 'a destination adapter threw');
      result = { ok: false, outcome: 'retry', reason: 'network', detail: `adapter error: ${error.message}` };
    } finally {
      deadline.sent();
    }
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    this.sendEstimateMs += SEND_ESTIMATE_WEIGHT * (durationMs - this.sendEstimateMs);
    this.sendSeconds.observe(durationMs / 1000);
    return { notification, at, durationMs, result };
  }

  /**
   * record writes a send's outcome to the outbox, then counts, logs and reports it. Everything that
   * holds back the next send (`blockedUntil`, `paused`) is set before its first await: see startRecord.
   */
  private async record(
    notification: ClaimedNotification,
    at: number,
    durationMs: number,
    result: SendResult,
  ): Promise<void> {
    const { store, clock, logger, metrics, emit } = this.shared;
    const { outbox } = store;
    const name = this.name;
    const id = notification.id;
    const attempts = notification.attempts;
    const attempt = (outcome: AttemptOutcome, reason?: string, detail?: string): AttemptRecord => ({
      at,
      durationMs,
      outcome,
      ...(reason === undefined ? {} : { reason }),
      ...(detail === undefined ? {} : { detail }),
    });
    const count = (outcome: AttemptOutcome, reason: string) =>
      metrics.deliveries.inc({ destination: name, outcome, reason });

    if (result.ok) {
      const recorded = await outbox.recordDelivered(id, attempt('delivered', undefined, result.detail));
      this.deliveredCount.inc();
      if (!recorded) logger.debug({ destination: name, id }, 'delivered, but another worker had finished it');
      if (result.detail)
        logger.info({ destination: name, id, detail: result.detail }, 'delivered, with a note');
      emit({ type: 'delivery:delivered', destination: name, id, attempts, durationMs });
      return;
    }

    const failure: SendFailure = result;
    const log = { destination: name, id, attempt: attempts, reason: failure.reason, detail: failure.detail };
    switch (failure.outcome) {
      case 'retry': {
        const decision = decideRetry(
          this.policy.retry,
          {
            attempts,
            firstAttemptAt: notification.firstAttemptAt ?? at,
            now: clock.now(),
            ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
          },
          this.shared.random,
        );
        if (decision.retry) {
          // The rest of the queue waits for this one, so that order holds (set before the write: see
          // startRecord).
          this.blockedUntil = decision.dueAt;
          await outbox.scheduleRetry(id, {
            dueAt: decision.dueAt,
            attempt: attempt('retry', failure.reason, failure.detail),
          });
          count('retry', failure.reason);
          logger.warn({ ...log, retryInMs: decision.delayMs }, `delivery to "${name}" failed; will retry`);
          emit({
            type: 'delivery:retry',
            destination: name,
            id,
            attempts,
            reason: failure.reason,
            detail: failure.detail,
            dueAt: decision.dueAt,
          });
          return;
        }
        // The last error goes with the reason, so `hookrelay dlq list` says what kept failing.
        const deadReason = `${decision.reason}; last: ${failure.reason}: ${failure.detail}`;
        await outbox.deadLetter(id, {
          reason: deadReason,
          attempt: attempt('dead', failure.reason, failure.detail),
        });
        count('dead', decision.cause);
        logger.error({ ...log, deadReason }, `gave up delivering to "${name}": ${decision.reason}`);
        emit({ type: 'delivery:dead', destination: name, id, attempts, reason: deadReason });
        return;
      }
      case 'dead': {
        const reason = `${failure.reason}: ${failure.detail}`;
        await outbox.deadLetter(id, { reason, attempt: attempt('dead', failure.reason, failure.detail) });
        count('dead', failure.reason);
        logger.error(log, `"${name}" refused this notification; it is a dead letter (hookrelay dlq list)`);
        emit({ type: 'delivery:dead', destination: name, id, attempts, reason });
        return;
      }
      case 'broken': {
        const hint = BROKEN_HINTS[failure.reason] ?? 'fix the destination in the config';
        const reason = `${failure.reason}: ${failure.detail} (${hint})`;
        const now = clock.now();
        // Nothing more is sent from here on (other sends in flight finish and are recorded as they end).
        const firstReport = !this.paused;
        this.paused = true;
        // Paused first, so the row made due again below is not claimed before the pause is visible.
        await store.deadLetters.pauseDestination(name, { reason, at: now });
        await outbox.scheduleRetry(id, {
          dueAt: now,
          attempt: attempt('broken', failure.reason, failure.detail),
        });
        count('broken', failure.reason);
        if (firstReport) {
          logger.error(
            log,
            `destination "${name}" is paused: ${failure.detail}. To fix: ${hint}. Its notifications are kept; ` +
              `then reload the config (SIGHUP) or run: hookrelay dlq resume ${name}`,
          );
          emit({ type: 'destination:paused', destination: name, reason });
        }
        await this.handBack(`destination "${name}" was paused`);
        return;
      }
    }
  }

  /**
   * handBack returns the held, unsent rows to the outbox, due now in their place, so nothing waits for a
   * lease to run out. The outbox has no "release", so each gets an attempt entry that says it was not sent
   * (reason `canceled`) and keeps the attempt its claim counted.
   */
  private async handBack(why: string): Promise<void> {
    const rows = this.held;
    this.held = [];
    const now = this.shared.clock.now();
    // All at once: a store that group-commits writes them in one transaction, not one fsync each.
    await Promise.all(
      rows.map(({ notification }) =>
        this.shared.store.outbox.scheduleRetry(notification.id, {
          dueAt: now,
          attempt: {
            at: now,
            durationMs: 0,
            outcome: 'retry',
            reason: 'canceled',
            detail: `not sent: ${why}`,
          },
        }),
      ),
    );
  }

  private reportError(thrown: unknown): void {
    const error = coerceError(thrown);
    this.shared.logger.error(
      { err: error, destination: this.name },
      'delivery loop error; trying again shortly',
    );
    this.shared.emit({ type: 'deliver:error', destination: this.name, error });
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
