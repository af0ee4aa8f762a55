import type { Clock } from '../lib/clock.js';
import { HookrelayError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { StoreErrorCode, storeError } from './errors.js';
import type { Store } from './ports.js';

/** RetentionOptions configure `startRetention`. */
export interface RetentionOptions {
  /** With an outbox, delivered notifications are pruned too (before the items, which they may hold). */
  store: Pick<Store, 'events'> & Partial<Pick<Store, 'outbox'>>;
  /**
   * Items and requests received more than this long ago are deleted (unless the evaluator or a pending or
   * dead notification still needs them, see EventLog.pruneOlderThan), and notifications delivered more than
   * this long ago.
   */
  maxAgeMs: number;
  /** Time between the end of one prune and the start of the next. */
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  /** Delay before the first prune; defaults to the smaller of 10 s and `intervalMs`. */
  firstRunDelayMs?: number;
}

const DEFAULT_FIRST_RUN_DELAY_MS = 10_000;

/**
 * startRetention prunes the event log (and, given an outbox, delivered notifications) in the background: soon after start, then `intervalMs` after each
 * run ends (runs never overlap). It never throws out of its timer: a failed prune is logged with its code
 * and retried at the next interval. Its timers are unref'd, so it never keeps the process alive. Returns
 * `stop`, which cancels the next run and resolves once a prune already running has finished.
 */
export function startRetention(options: RetentionOptions): () => Promise<void> {
  const { store, maxAgeMs, intervalMs, clock } = options;
  for (const [name, value] of [
    ['maxAgeMs', maxAgeMs],
    ['intervalMs', intervalMs],
  ] as const) {
    // A zero interval would prune in a tight loop; a zero age would delete what was just acknowledged.
    if (!Number.isFinite(value) || value <= 0) {
      throw storeError(
        StoreErrorCode.inputInvalid,
        `retention ${name} must be a positive number of ms, got ${value}`,
      );
    }
  }
  const logger = options.logger.child({ component: 'retention' });
  const firstRunDelayMs = options.firstRunDelayMs ?? Math.min(DEFAULT_FIRST_RUN_DELAY_MS, intervalMs);

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const pruneOnce = async (): Promise<void> => {
    const cutoffMs = clock.now() - maxAgeMs;
    try {
      // Delivered notifications first: the items they named become prunable in the same run.
      const notificationsPruned = (await store.outbox?.pruneDelivered(cutoffMs)) ?? 0;
      const pruned = await store.events.pruneOlderThan(cutoffMs);
      if (pruned > 0 || notificationsPruned > 0) {
        logger.info(
          { pruned, notificationsPruned, cutoffMs },
          `retention pruned ${pruned} item(s) and ${notificationsPruned} delivered notification(s)`,
        );
      } else logger.debug({ pruned, notificationsPruned, cutoffMs }, 'retention pruned nothing');
    } catch (error) {
      const code = error instanceof HookrelayError ? error.code : undefined;
      logger.error({ err: error, code, cutoffMs }, 'retention prune failed; retrying at the next interval');
    }
  };

  const schedule = (delayMs: number): void => {
    timer = setTimeout(() => {
      timer = undefined;
      running = pruneOnce().finally(() => {
        running = undefined;
        if (!stopped) schedule(intervalMs);
      });
    }, delayMs);
    timer.unref();
  };

  schedule(firstRunDelayMs);

  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    await running;
  };
}
