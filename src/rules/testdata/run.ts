import type { Item } from '../../domain/item.js';
import { createState, type RuleStateMap, replay, type Step } from '../engine.js';
import type { CompiledRuleSet, Evaluation, Firing } from '../types.js';
import { MINUTE, REFERENCE_TIME } from './items.js';

/** offset renders an instant as minutes after REFERENCE_TIME: `+30m`, `-5m`, `+90.5m`. */
export function offset(ms: number): string {
  const minutes = (ms - REFERENCE_TIME) / MINUTE;
  return `${minutes >= 0 ? '+' : ''}${Math.round(minutes * 1000) / 1000}m`;
}

/** summarise turns firings into short lines a test can compare: `idle-screens u-ada firing +10m`. */
export function summarise(firings: readonly Firing[], options: { value?: boolean } = {}): string[] {
  return firings.map(({ alert }) => {
    const value =
      options.value && alert.value !== undefined ? ` value=${Math.round(alert.value * 1000) / 1000}` : '';
    return `${alert.rule} ${alert.key} ${alert.status} ${offset(alert.at)}${value}`;
  });
}

/** steps turns items into replay steps. */
export function steps(items: readonly Item[]): Step[] {
  return items.map((item) => ({ item }));
}

/** run replays items (and ticks) on a fresh (or given) state. */
export function run(
  ruleSet: CompiledRuleSet,
  input: ReadonlyArray<Item | Step>,
  options: { settle?: boolean; explain?: boolean; state?: RuleStateMap } = {},
): Evaluation & { state: RuleStateMap } {
  const state = options.state ?? createState();
  const stepList = input.map((entry) => ('event' in entry ? { item: entry } : entry));
  const replayOptions: { settle?: boolean; explain?: boolean } = {};
  if (options.settle) replayOptions.settle = true;
  if (options.explain) replayOptions.explain = true;
  return { ...replay(ruleSet, state, stepList, replayOptions), state };
}
