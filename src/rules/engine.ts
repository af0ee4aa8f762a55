import type { Item } from '../domain/item.js';
import { absenceDueAt, observeAbsenceRule, tickAbsenceRule } from './engine/absence.js';
import { memosFor } from './engine/cache.js';
import { type Call, explain, finish, NO_OPTIONS, newCall, withPerson } from './engine/call.js';
import { digestDueAt, flushDigest } from './engine/digest.js';
import { evaluateMatchRule } from './engine/match.js';
import { noteItemTime, pruneDue, pruneIdleKeys } from './engine/prune.js';
import {
  evaluateThresholdRule,
  heldBackDueAt,
  settleEveryPoint,
  settleHeldBackPoints,
} from './engine/threshold.js';
import { showValue } from './path.js';
import type { RuleStateMap } from './state.js';
import type {
  CompiledRule,
  CompiledRuleSet,
  EvaluateOptions,
  Evaluation,
  Firing,
  RuleExplanation,
} from './types.js';

/*
 * The engine API the evaluator calls. Everything here is a pure function of (rule set, state, input):
 * no I/O, no clock (item calls use the item's own times, ticks take `now`). State is mutated in place
 * and every change is recorded in it; after a batch the caller takes the changed rows (takeChanges)
 * and writes exactly those in the same transaction as the notifications and its log cursor. If that
 * transaction fails, the caller must restore the state from the store before evaluating again. Beside
 * the rows, the state object carries the engine's cache of memos (engine/cache.ts): they make calls
 * cheaper and never change what a call decides.
 *
 * Each rule kind lives in engine/: match.ts (plain rules), threshold.ts (with its state machine in
 * threshold-machine.ts), absence.ts, digest.ts (which also routes every alert: into a digest or out);
 * gate.ts holds schedules, silences and cooldowns; prune.ts forgets idle keys; call.ts is what one call
 * collects and how it explains. This file runs the kinds for an item or a tick.
 */

export { compileRules } from './compile.js';
export {
  createState,
  hasChanges,
  type KeyState,
  type RuleStateMap,
  restoreState,
  retainStateFor,
  type StateChange,
  serialiseState,
  stateRows,
  stateSize,
  takeChanges,
} from './state.js';
export type {
  CompiledRuleSet,
  CompileProblem,
  EvaluateOptions,
  Evaluation,
  Firing,
  Outcome,
  RuleExplanation,
} from './types.js';

/**
 * TICK_MS is how often the clock-driven parts run: the evaluator ticks at this cadence, and `hookrelay
 * test` steps its clock the same way, so both see the same ticks.
 */
export const TICK_MS = 1_000;

/** skips says whether a rule ignores an item before its condition (scope, simulation, event type). */
function skips(rule: CompiledRule, subject: Item, checkEvent: boolean): boolean {
  if (checkEvent && !rule.on.test(subject.event)) return true;
  if (subject.simulation ? rule.simulation === 'ignore' : rule.simulation === 'only') return true;
  if (rule.users && (subject.user === undefined || !rule.users.has(subject.user))) return true;
  return rule.teams !== undefined && (subject.team === undefined || !rule.teams.has(subject.team));
}

/**
 * explainSkip says why `skips` skipped a rule. It is apart from evaluateItem's loop because closures
 * there made V8 allocate a context for every rule of every item, explaining or not (measured: ~7% of
 * the engine's garbage).
 */
function explainSkip(call: Call, rule: CompiledRule, subject: Item): void {
  if (!rule.on.test(subject.event)) {
    explain(
      call,
      rule,
      'not-watched',
      () => `does not watch ${subject.event} (it watches ${rule.on.describe()})`,
    );
  } else if (subject.simulation ? rule.simulation === 'ignore' : rule.simulation === 'only') {
    explain(call, rule, 'ignored', () =>
      subject.simulation
        ? 'simulation items are ignored (simulation: ignore)'
        : 'only simulation items count (simulation: only)',
    );
  } else if (rule.users && (subject.user === undefined || !rule.users.has(subject.user))) {
    explain(call, rule, 'no-match', () => `user ${showValue(subject.user)} is not one of the rule's users`);
  } else {
    explain(call, rule, 'no-match', () => `team ${showValue(subject.team)} is not one of the rule's teams`);
  }
}

/**
 * evaluateItem runs one item through the rules: plain matches, threshold windows, absence "seen"
 * timers. It returns the alerts to send (digest rules fold theirs into their bucket instead) and, with
 * `explain`, one explanation per rule of the set. It never throws for any item.
 */
export function evaluateItem(
  ruleSet: CompiledRuleSet,
  state: RuleStateMap,
  item: Item,
  options: EvaluateOptions = NO_OPTIONS,
): Evaluation {
  const call = newCall(ruleSet, state, item.receivedAt, options);
  noteItemTime(state.cache.prune, item.at);
  const subject = withPerson(ruleSet, item);
  if (call.explain) call.item = subject;
  const rules = call.explain ? ruleSet.rules : ruleSet.candidates(subject);
  for (const rule of rules) {
    // Candidates come from the event-type index; only the explain path walks every rule.
    if (skips(rule, subject, call.explain)) {
      if (call.explain) explainSkip(call, rule, subject);
      continue;
    }
    if (rule.kind === 'threshold') evaluateThresholdRule(call, rule, subject);
    else if (rule.kind === 'absence') observeAbsenceRule(call, rule, subject);
    else evaluateMatchRule(call, rule, subject);
  }
  return finish(call);
}

/**
 * tick runs the clock-driven parts at `nowMs` (the caller's clock): threshold points whose lateness
 * allowance has passed (see settleHeldBack), absence checks, digest flushes, and pruning of keys idle for
 * a day (see pruneIdleKeys). The evaluator calls it every TICK_MS, and `hookrelay test` at the same cadence.
 */
export function tick(
  ruleSet: CompiledRuleSet,
  state: RuleStateMap,
  nowMs: number,
  options: EvaluateOptions = {},
): Evaluation {
  const call = newCall(ruleSet, state, nowMs, options);
  settleHeldBackPoints(call, nowMs);
  for (const rule of ruleSet.absenceRules) tickAbsenceRule(call, rule, nowMs);
  for (const rule of ruleSet.digestRules) flushDigest(call, rule, nowMs, false);
  pruneIdleKeys(call);
  return finish(call);
}

/**
 * nextDueAt says when a tick may next change anything, given that the last one ran at `lastTickMs`: a
 * tick at any time before the returned one (and after the last) decides nothing, so a caller that
 * steps a clock (`hookrelay test`) may skip those ticks and get exactly the results of ticking every
 * TICK_MS. It is a lower bound: a tick at the returned time may still find nothing to do. A value at or
 * before `lastTickMs` means "the next tick" (a memo to rebuild, pruning due, a silenced key to look at
 * again). Times are whole milliseconds.
 */
export function nextDueAt(ruleSet: CompiledRuleSet, state: RuleStateMap, lastTickMs: number): number {
  const memos = memosFor(state.cache, ruleSet);
  if (pruneDue(state.cache.prune)) return Number.NEGATIVE_INFINITY;
  let due = Number.POSITIVE_INFINITY;
  due = Math.min(due, heldBackDueAt(memos));
  for (const rule of ruleSet.absenceRules)
    due = Math.min(due, absenceDueAt(rule, memos.absence[rule.index], state, lastTickMs));
  for (const rule of ruleSet.digestRules) {
    const bucket = state.rules.get(rule.fingerprint)?.digest;
    if (bucket && rule.digest) due = Math.min(due, digestDueAt(rule.digest, bucket));
  }
  return due;
}

/**
 * settleAll judges every threshold point still waiting for its lateness allowance, as if the allowance
 * had passed, and with `flushDigestsAt` empties digest buckets at that time: "what would this stream
 * decide in the end", for tests of the engine. Neither serve nor `hookrelay test` calls it; both let
 * ticks settle points once the allowance has passed on their clock (see timeline.ts).
 */
export function settleAll(
  ruleSet: CompiledRuleSet,
  state: RuleStateMap,
  options: EvaluateOptions & { flushDigestsAt?: number } = {},
): Evaluation {
  const call = newCall(ruleSet, state, options.flushDigestsAt ?? 0, options);
  for (const rule of ruleSet.thresholdRules) settleEveryPoint(call, rule);
  const flushAt = options.flushDigestsAt;
  if (flushAt !== undefined) for (const rule of ruleSet.digestRules) flushDigest(call, rule, flushAt, true);
  return finish(call);
}

/** Step is one input of a replayed stream: an item, or a clock tick. */
export type Step = { item: Item } | { tick: number };

/**
 * replay feeds a stream of items and ticks through the engine and gathers the results, as the
 * evaluator would; with `settle`, it ends with settleAll (flushing digests at the last tick, if any).
 * `hookrelay test` uses runTimeline instead, which makes the ticks as the evaluator's clock would.
 */
export function replay(
  ruleSet: CompiledRuleSet,
  state: RuleStateMap,
  steps: Iterable<Step>,
  options: EvaluateOptions & { settle?: boolean } = {},
): Evaluation {
  const firings: Firing[] = [];
  const explanations: RuleExplanation[] = [];
  let lastTick: number | undefined;
  const take = (evaluation: Evaluation) => {
    firings.push(...evaluation.firings);
    if (evaluation.explanations) explanations.push(...evaluation.explanations);
  };
  for (const step of steps) {
    if ('item' in step) take(evaluateItem(ruleSet, state, step.item, options));
    else {
      lastTick = step.tick;
      take(tick(ruleSet, state, step.tick, options));
    }
  }
  if (options.settle) {
    const settleOptions: EvaluateOptions & { flushDigestsAt?: number } = {};
    if (options.explain) settleOptions.explain = true;
    if (lastTick !== undefined) settleOptions.flushDigestsAt = lastTick;
    take(settleAll(ruleSet, state, settleOptions));
  }
  const evaluation: Evaluation = { firings };
  if (options.explain) evaluation.explanations = explanations;
  return evaluation;
}
