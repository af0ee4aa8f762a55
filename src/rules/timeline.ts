import type { Item } from '../domain/item.js';
import { createState, evaluateItem, nextDueAt, TICK_MS, tick } from './engine.js';
import type { RuleStateMap } from './state.js';
import type { CompiledRuleSet, Evaluation, Firing, RuleExplanation } from './types.js';

/*
 * Time as `serve` experiences it, for `hookrelay test`: the items arrive at their receivedAt, in the
 * order given (the log's order), and the clock ticks every TICK_MS from the first arrival until
 * `advance` after the last, calling the engine's own evaluateItem and tick exactly as the evaluator
 * does. Nothing is settled or flushed at the end: what serve would not have sent by then, the test
 * does not see either.
 *
 * Ticks sit on a grid from the first arrival; an item is evaluated before the first tick at or after
 * its receivedAt. Stepping `due` (the default) asks the engine when a tick may next act (nextDueAt)
 * and skips the grid ticks before that, which gives the same results as `every-tick` (one tick per
 * TICK_MS) without calling the engine 259,200 times for `advance: 3d`; a test proves they agree.
 */

/** Stepping says which grid ticks the runner calls: all of them, or those the engine may act at. */
export type Stepping = 'due' | 'every-tick';

/** TimelineOptions shape one run. */
export interface TimelineOptions {
  /** Keep the clock running this long after the last item's receivedAt (the test's `advance:`). */
  advanceMs?: number;
  explain?: boolean;
  stepping?: Stepping;
  /** Start from this state (default: an empty one). */
  state?: RuleStateMap;
}

/** TimelineResult is what a run decided. */
export interface TimelineResult extends Evaluation {
  firings: Firing[];
  /** When serve would have sent each firing: its item's receivedAt, or the tick's clock. */
  sentAt: number[];
  state: RuleStateMap;
  /** The clock at the first and the last tick (undefined when there were no items). */
  startedAt: number | undefined;
  endedAt: number | undefined;
  /** Engine ticks called. */
  ticks: number;
}

/**
 * keepTickExplanation keeps what a tick did to somebody (an alert, or one held back), once: an explaining
 * tick also restates every watched key's timer, and a silenced key is looked at again every tick.
 */
function keepTickExplanation(kept: Map<string, string>, explanation: RuleExplanation): boolean {
  if (explanation.alertIds !== undefined && explanation.alertIds.length > 0) return true;
  const held = ['silenced', 'cooldown', 'outside-schedule'].includes(explanation.outcome);
  if (!held || explanation.key === undefined) return false;
  const slot = `${explanation.ruleIndex}|${explanation.key}`;
  const said = `${explanation.outcome}|${explanation.reason}`;
  if (kept.get(slot) === said) return false;
  kept.set(slot, said);
  return true;
}

/** runTimeline feeds items and clock ticks through the engine the way the evaluator does. */
export function runTimeline(
  ruleSet: CompiledRuleSet,
  items: readonly Item[],
  options: TimelineOptions = {},
): TimelineResult {
  const state = options.state ?? createState();
  const explainOption = options.explain === true ? { explain: true } : {};
  const firings: Firing[] = [];
  const sentAt: number[] = [];
  const explanations: RuleExplanation[] = [];
  const saidByTicks = new Map<string, string>();
  const result: TimelineResult = {
    firings,
    sentAt,
    state,
    startedAt: undefined,
    endedAt: undefined,
    ticks: 0,
  };
  if (options.explain) result.explanations = explanations;
  const arrivals = items.map((item) => item.receivedAt).filter((at) => Number.isFinite(at));
  if (arrivals.length === 0) return result;

  const start = Math.floor(Math.min(...arrivals));
  const end = Math.max(...arrivals) + Math.max(0, options.advanceMs ?? 0);
  const stepping = options.stepping ?? 'due';
  // The first grid tick at or after `ms` (and after `after`).
  const gridAt = (ms: number, after: number) =>
    Math.max(after + TICK_MS, start + Math.ceil((ms - start) / TICK_MS) * TICK_MS);

  let next = 0;
  let now = start;
  for (;;) {
    while (next < items.length) {
      const item = items[next] as Item;
      if (Number.isFinite(item.receivedAt) && item.receivedAt > now) break;
      const evaluation = evaluateItem(ruleSet, state, item, explainOption);
      for (const firing of evaluation.firings) {
        firings.push(firing);
        sentAt.push(Number.isFinite(item.receivedAt) ? item.receivedAt : now);
      }
      if (evaluation.explanations) explanations.push(...evaluation.explanations);
      next++;
    }
    const ticked = tick(ruleSet, state, now, explainOption);
    result.ticks++;
    for (const firing of ticked.firings) {
      firings.push(firing);
      sentAt.push(now);
    }
    for (const explanation of ticked.explanations ?? []) {
      if (keepTickExplanation(saidByTicks, explanation)) explanations.push(explanation);
    }
    if (now >= end && next >= items.length) break;
    if (stepping === 'every-tick') now += TICK_MS;
    else {
      const arrival = next < items.length ? (items[next] as Item).receivedAt : Number.POSITIVE_INFINITY;
      const target = Math.min(nextDueAt(ruleSet, state, now), arrival, end);
      now = gridAt(target, now);
    }
  }
  result.startedAt = start;
  result.endedAt = now;
  return result;
}
