import type { Item, Person } from '../../domain/item.js';
import { displayName } from '../alert.js';
import type { PerKeyState, RuleState, RuleStateMap } from '../state.js';
import type {
  CompiledRule,
  CompiledRuleSet,
  EvaluateOptions,
  Evaluation,
  Firing,
  Outcome,
  RuleExplanation,
} from '../types.js';
import { memosFor, type RuleMemos } from './cache.js';
import type { KeyHooks } from './threshold.js';

/*
 * One engine call (an item, or a tick): what it collects (firings, explanations), how it explains a
 * rule's outcome in words, and the small helpers every rule kind uses to name people and items.
 *
 * Every kind builds its explanations in helpers of their own: a closure in a hot function makes V8
 * allocate a context for its captured variables on every call, explaining or not (measured: with
 * evaluateItem's loop and the gate, about a fifth of the engine's garbage per item).
 */

export interface Call {
  ruleSet: CompiledRuleSet;
  state: RuleStateMap;
  explain: boolean;
  firings: Firing[];
  explanations: RuleExplanation[];
  /** Clock time of this call: the item's receivedAt, or the tick's now (digest buckets open at it). */
  clockMs: number;
  /** The call's threshold hooks, made on first use (see hooksFor). */
  hooks: KeyHooks | undefined;
  /** The memos of this rule set's rules in the state's cache. */
  memos: RuleMemos;
  /** The item being evaluated; undefined on ticks. */
  item: Item | undefined;
}

export function newCall(
  ruleSet: CompiledRuleSet,
  state: RuleStateMap,
  clockMs: number,
  options: EvaluateOptions,
): Call {
  return {
    ruleSet,
    state,
    explain: options.explain === true,
    firings: [],
    explanations: options.explain === true ? [] : NO_EXPLANATIONS,
    clockMs,
    hooks: undefined,
    memos: memosFor(state.cache, ruleSet),
    item: undefined,
  };
}

export function finish(call: Call): Evaluation {
  const evaluation: Evaluation = { firings: call.firings };
  if (call.explain) evaluation.explanations = call.explanations;
  return evaluation;
}

/** keyState reads a rule's per-key value of the expected kind (a value of another kind reads as none). */
export function keyState<K extends PerKeyState['t']>(
  rs: RuleState,
  key: string,
  kind: K,
): Extract<PerKeyState, { t: K }> | undefined {
  const value = rs.keys.get(key);
  return value !== undefined && value.t === kind ? (value as Extract<PerKeyState, { t: K }>) : undefined;
}

/** Trace collects the alerts one rule produced in this call, for its explanation. */
export interface Trace {
  alertIds: string[];
  fired: number;
  resolved: number;
  /** Of those, folded into the rule's digest bucket. */
  digested: number;
  /** The threshold point judged, when a tick's alert came from one. */
  point?: { id: string; at: number };
}

/**
 * newTrace returns a trace only when the call explains: nothing else reads one, and one per alert and
 * threshold rule was a measurable share of the garbage of plain evaluation.
 */
export const newTrace = (call: Call): Trace | undefined =>
  call.explain ? { alertIds: [], fired: 0, resolved: 0, digested: 0 } : undefined;

/** explain records an explanation; `reason` is a thunk so the hot path never builds the words. */
export function explain(
  call: Call,
  rule: CompiledRule,
  outcome: Outcome,
  reason: () => string,
  extra: Partial<RuleExplanation> = {},
): void {
  if (!call.explain) return;
  const entry: RuleExplanation = {
    rule: rule.name,
    ruleIndex: rule.index,
    outcome,
    reason: reason(),
    ...extra,
  };
  const item = call.item;
  if (item !== undefined && entry.item === undefined)
    entry.item = { id: item.id, at: item.at, event: item.event };
  if (item === undefined) entry.clockAt = call.clockMs;
  if (entry.who === undefined) {
    const key = entry.key;
    const perText = rule.threshold?.per.text ?? rule.absence?.per.text ?? rule.per.text;
    if (key !== undefined && key !== '') entry.who = displayName(key, personFor(call, perText, key, item));
    else if (item?.user !== undefined)
      entry.who = displayName(item.user, personFor(call, 'user', item.user, item));
  }
  call.explanations.push(entry);
}

/** alertOutcome names what a rule's alerts became: digested, or fired/resolved. */
export function alertOutcome(trace: Trace): Outcome {
  if (trace.digested > 0 && trace.digested === trace.alertIds.length) return 'digested';
  return trace.fired > 0 ? 'fired' : 'resolved';
}

/** personFor returns the directory entry a key names: only user keys name a person. */
export function personFor(
  call: Call,
  perText: string,
  key: string,
  item: Item | undefined,
): Person | undefined {
  if (perText !== 'user') return undefined;
  return item?.user === key && item.person !== undefined ? item.person : call.ruleSet.people.get(key);
}

export const iso = (ms: number) => new Date(ms).toISOString();

export const NO_OPTIONS: EvaluateOptions = Object.freeze({});
// Never written to: explanations are only pushed when explaining.
const NO_EXPLANATIONS: RuleExplanation[] = [];

/** withPerson attaches the directory entry as `person`, only when some rule's condition reads it. */
export function withPerson(ruleSet: CompiledRuleSet, item: Item): Item {
  if (!ruleSet.conditionsReadPerson || item.user === undefined || item.person !== undefined) return item;
  const person = ruleSet.people.get(item.user);
  return person === undefined ? item : { ...item, person };
}

export function defaultTitle(rule: CompiledRule, name: string): string {
  return name === '' ? rule.name : `${rule.name}: ${name}`;
}

export function itemSentence(item: Item, name: string): string {
  const who = name === '' ? '' : ` from ${name}`;
  const app = item.app?.name !== undefined ? ` (${item.app.name})` : '';
  return `${item.event}${who}${app}`;
}

export const formatMs = (ms: number): string => {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
};

/** explainNoMatch says which condition of the rule the item failed. */
export function explainNoMatch(call: Call, rule: CompiledRule, item: Item, key?: string): void {
  const extra: Partial<RuleExplanation> = key === undefined ? {} : { key };
  explain(call, rule, 'no-match', () => rule.condition.explain(item) ?? 'the condition did not hold', extra);
}

/** explainNoKey says the item has nothing to key the rule's state by. */
export function explainNoKey(
  call: Call,
  rule: CompiledRule,
  per: string,
  what: 'threshold' | 'absent',
): void {
  explain(call, rule, 'ignored', () => `the item has no ${per} (${what} per ${per})`);
}
