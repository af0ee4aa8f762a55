/**
 * The deliver stage: one independent loop per destination (worker.ts) claims due notifications from the
 * outbox, sends them through the destination's adapter, decides from the adapter's classification what
 * happens next (decide.ts: delivered, retry later, dead letter, or pause the destination), writes that
 * (record.ts) and reports it as a DeliveryEvent, which one subscriber (observer.ts) counts and logs.
 * Adapters only report; backoff, Retry-After caps, pacing and the attempt ledger live here (style.md
 * §6.6 habit 3). This file starts, reloads and stops the loops.
 */
import type { Destination } from '../destinations/index.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { Metrics } from '../lib/metrics.js';
import { pauseReasonClass } from './decide.js';
import { createEmitter, type DeliveryEvent } from './events.js';
import { createDeliveryObserver } from './observer.js';
import { DEFAULT_POLICY, type DeliveryPolicy } from './policy.js';
import { type DelivererStore, DestinationWorker, type WorkerContext } from './worker.js';

export { pauseReasonClass } from './decide.js';
export type { DeliveryEvent } from './events.js';
export type { DeliveryPolicy } from './policy.js';
export type { DelivererStore } from './worker.js';

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

/**
 * createDeliverer builds the deliver stage over the store's outbox. Nothing runs before `start()`.
 * Per destination, notifications are sent in queue order, one at a time by default (`rate.concurrency`
 * above 1 lets several run at once, in which case they may arrive out of order); a notification waiting
 * for its retry holds back the ones behind it, never another destination's.
 */
export function createDeliverer(options: DelivererOptions): Deliverer {
  const { store, metrics } = options;
  const emit = createEmitter(
    createDeliveryObserver(options.logger, metrics),
    options.onEvent,
    options.logger,
  );
  const shared: WorkerContext = {
    store,
    clock: options.clock,
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
    // A shared database (PostgreSQL) has peers whose leases are alive: ending them would send twice.
    if (store.engine === 'postgres') return;
    const released = await store.outbox.releaseLeases();
    if (released > 0) emit({ type: 'deliver:leases-released', released });
  }

  async function resumeConfigured(): Promise<void> {
    const paused = await store.deadLetters.listPausedDestinations();
    for (const { destination } of paused) {
      if (!destinations.has(destination)) continue;
      if (await store.deadLetters.resumeDestination(destination)) {
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
