import type { StoredEvent } from '../domain/event.js';
import type { Clock } from '../lib/clock.js';
import { coerceError, HookrelayError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Metrics } from '../lib/metrics.js';
import {
  type CompiledRuleSet,
  type Evaluation,
  evaluateItem,
  type RuleStateMap,
  restoreState,
  retainStateFor,
  TICK_MS,
  takeChanges,
  tick,
} from '../rules/engine.js';
import type { NewNotification, Store } from '../store/ports.js';
import { type ForwardPolicy, notificationsFor } from './notifications.js';

export interface EvaluatorOptions {
  store: Store;
  ruleSet: CompiledRuleSet;
  forwards: ForwardPolicy;
  clock: Clock;
  logger: Logger;
  /** Where items whose evaluation failed are counted (`hookrelay_evaluator_items_failed_total`). */
  metrics?: Pick<Metrics, 'evaluatorItemsFailed'>;
  /** Items read and committed per transaction. */
  batchSize?: number;
  /**
   * How often the clock-driven parts run (held-back threshold points, absence, digests); default
   * TICK_MS, the cadence `hookrelay test` steps its clock at.
   */
  tickMs?: number;
  /** Called after each tick has committed, with the tick's clock time (metrics, and tests wait on it). */
  onTick?: (nowMs: number) => void;
  /** Test-only fault injection: called after evaluating, before the commit. */
  beforeCommit?: () => void;
}

export interface Evaluator {
  /** start loads the cursor and rule state, then evaluates everything after the cursor and keeps up. */
  start(): Promise<void>;
  /** stop finishes the step in progress and stops waking up. */
  stop(): Promise<void>;
  /** reload swaps the rule set; state of rules whose fingerprint is unchanged carries over. */
  reload(ruleSet: CompiledRuleSet, forwards: ForwardPolicy): Promise<void>;
  readonly cursor: number;
}

/**
 * createEvaluator builds the evaluate stage: it reads the event log in order from a persisted cursor,
 * runs the rules, and writes the rule state, the new notifications and the advanced cursor in ONE
 * transaction, so a crash at any point neither loses an alert nor sends one twice. It wakes on every
 * append (no polling on the hot path) and on a timer for absence and digests.
 */
export function createEvaluator(options: EvaluatorOptions): Evaluator {
  const { store, clock, logger } = options;
  const batchSize = options.batchSize ?? 500;
  const tickMs = options.tickMs ?? TICK_MS;
  let ruleSet = options.ruleSet;
  let forwards = options.forwards;
  let state: RuleStateMap | undefined;
  let cursor = 0;
  let running = false;
  let chain: Promise<void> = Promise.resolve();
  let catchUpQueued = false;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let failures = 0;

  /** serial runs steps one after another: evaluation, ticks and reloads never interleave. */
  const serial = (step: () => Promise<void>): Promise<void> => {
    const next = chain.then(step, step);
    chain = next.catch(() => undefined);
    return next;
  };

  const reloadStateFromStore = async () => {
    const snapshot = await store.evaluator.load();
    cursor = snapshot.cursor;
    state = restoreState(snapshot.state.map((entry) => [entry.key, entry.value] as const));
    retainStateFor(ruleSet, state);
  };

  const commit = async (fromCursor: number, toCursor: number, notifications: NewNotification[]) => {
    if (!state) return;
    const changes = takeChanges(state);
    if (fromCursor === toCursor && notifications.length === 0 && changes.length === 0) return;
    options.beforeCommit?.();
    const upserts = changes.filter((c) => c.value !== undefined).map((c) => ({ key: c.key, value: c.value }));
    const deletes = changes.filter((c) => c.value === undefined).map((c) => c.key);
    await store.evaluator.commit({ fromCursor, cursor: toCursor, upserts, deletes, notifications });
    cursor = toCursor;
  };

  /** A failed commit leaves memory ahead of the store: reload so the next attempt starts from the truth. */
  const recover = async (error: unknown) => {
    failures += 1;
    const err = coerceError(error);
    const code = err instanceof HookrelayError ? err.code : undefined;
    logger.error({ err, code }, 'evaluation step failed; state reloaded from the store, retrying');
    await reloadStateFromStore();
  };

  const collect = (
    evaluation: Evaluation,
    event: StoredEvent | undefined,
    now: number,
    out: NewNotification[],
  ) => {
    let order = out.length;
    for (const firing of evaluation.firings) {
      // Routing such as "email the person's manager" needs the manager's directory entry with the alert.
      const managerId = firing.alert.person?.manager;
      const manager = managerId === undefined ? undefined : ruleSet.people.get(managerId);
      if (manager !== undefined) firing.alert.manager = manager;
      out.push(...notificationsFor(firing, event, forwards, now, () => order++));
    }
  };

  /**
   * evaluateEvents evaluates `events` in order into `out` and stops at the first one whose evaluation
   * throws, returning it: rules are pure, so such an item would throw again on every retry.
   */
  const evaluateEvents = (
    events: readonly StoredEvent[],
    now: number,
    out: NewNotification[],
  ): { event: StoredEvent; error: unknown } | undefined => {
    if (!state) return undefined;
    for (const event of events) {
      const before = out.length;
      try {
        collect(evaluateItem(ruleSet, state, event.item), event, now, out);
      } catch (error) {
        out.length = before;
        return { event, error };
      }
    }
    return undefined;
  };

  /**
   * evaluateBatch evaluates one batch read after the cursor and returns the notifications and the seq the
   * cursor moves to. An item whose evaluation throws is skipped alone (head-of-line isolation): it may
   * have changed the state half-way, so the state is reloaded from the store and only the items before
   * it are evaluated again; the cursor then moves past it, and the items behind it come next.
   */
  const evaluateBatch = async (events: readonly StoredEvent[], now: number) => {
    const notifications: NewNotification[] = [];
    const failed = evaluateEvents(events, now, notifications);
    if (!failed) return { notifications, to: (events[events.length - 1] as StoredEvent).seq, failed };
    await reloadStateFromStore();
    notifications.length = 0;
    const again = evaluateEvents(
      events.filter((event) => event.seq < failed.event.seq),
      now,
      notifications,
    );
    if (again) throw again.error;
    return { notifications, to: failed.event.seq, failed };
  };

  /** reportFailedItem logs a skipped item once (after its skip has committed) and counts it. */
  const reportFailedItem = ({ event, error }: { event: StoredEvent; error: unknown }) => {
    options.metrics?.evaluatorItemsFailed.inc();
    logger.error(
      {
        err: coerceError(error),
        code: 'HR_ERR_EVALUATE_ITEM_FAILED',
        seq: event.seq,
        source: event.item.source,
        event: event.item.event,
        id: event.item.id,
      },
      'evaluating a stored item failed; it is skipped (it stays in the event log: hookrelay events show <seq>) and evaluation goes on with the items behind it',
    );
  };

  const catchUp = async () => {
    catchUpQueued = false;
    if (!running || !state) return;
    for (;;) {
      const events = await store.events.readAfter(cursor, batchSize, { images: false });
      if (events.length === 0) return;
      const now = clock.now();
      const from = cursor;
      let failed: { event: StoredEvent; error: unknown } | undefined;
      try {
        const batch = await evaluateBatch(events, now);
        failed = batch.failed;
        await commit(from, batch.to, batch.notifications);
        failures = 0;
      } catch (error) {
        await recover(error);
        if (failures > 5) throw error;
        continue;
      }
      if (failed) {
        reportFailedItem(failed);
        continue;
      }
      if (events.length < batchSize) return;
    }
  };

  const scheduleCatchUp = () => {
    if (catchUpQueued || !running) return;
    catchUpQueued = true;
    serial(catchUp).catch((error: unknown) => logger.error({ err: coerceError(error) }, 'evaluator stalled'));
  };

  const runTick = async () => {
    if (!running || !state) return;
    const now = clock.now();
    const notifications: NewNotification[] = [];
    collect(tick(ruleSet, state, now), undefined, now, notifications);
    try {
      await commit(cursor, cursor, notifications);
    } catch (error) {
      await recover(error);
      return;
    }
    options.onTick?.(now);
  };

  return {
    get cursor() {
      return cursor;
    },
    async start() {
      await serial(reloadStateFromStore);
      running = true;
      unsubscribe = store.events.onAppend(scheduleCatchUp);
      scheduleCatchUp();
      timer = setInterval(() => {
        serial(runTick).catch((error: unknown) =>
          logger.error({ err: coerceError(error) }, 'evaluator tick failed'),
        );
      }, tickMs);
      timer.unref();
      logger.info({ cursor, rules: ruleSet.rules.length }, 'evaluator started');
    },
    async stop() {
      running = false;
      unsubscribe?.();
      if (timer) clearInterval(timer);
      await chain;
    },
    reload(next, nextForwards) {
      return serial(async () => {
        ruleSet = next;
        forwards = nextForwards;
        if (!state) return;
        const dropped = retainStateFor(ruleSet, state);
        if (dropped.length > 0)
          logger.info({ dropped: dropped.length }, 'rule state of changed or removed rules dropped');
        await commit(cursor, cursor, []);
        scheduleCatchUp();
      });
    },
  };
}
