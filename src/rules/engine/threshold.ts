import type { Item } from '../../domain/item.js';
import { type AlertDraft, buildAlert, displayName, thresholdSentence } from '../alert.js';
import { DueQueue } from '../due-queue.js';
import { hashParts } from '../hash.js';
import { keyOf, numberOf, readPath } from '../path.js';
import { putKey, ruleState, storeKey, type ThresholdState } from '../state.js';
import type { CompiledRule, CompiledThreshold, RuleExplanation } from '../types.js';
import { MATCHED, SIMULATED } from '../window.js';
import type { PendingMemo, RuleMemos } from './cache.js';
import {
  alertOutcome,
  type Call,
  defaultTitle,
  explain,
  explainNoKey,
  formatMs,
  iso,
  keyState,
  newTrace,
  personFor,
  type Trace,
} from './call.js';
import { deliver } from './digest.js';
import { type Blocked, gate } from './gate.js';
import {
  firstPendingAt,
  type Judgement,
  newThresholdState,
  observeThreshold,
  type PointInfo,
  settleBefore,
  settleThreshold,
  type ThresholdHooks,
} from './threshold-machine.js';

/*
 * Threshold rules: each key's items go through its state machine (threshold-machine.ts), whose hooks
 * here gate its alerts and build them; ticks settle the points the machine holds back for lateness once
 * the allowance has passed on the clock (settleHeldBack). Explanations say what an item did to the key.
 */

/**
 * KeyHooks connects a threshold key's state machine to gating and alert building. One serves a whole
 * call, pointed at each rule and key in turn (`at`): one per rule and item was ~5% of the engine's garbage.
 */
export class KeyHooks implements ThresholdHooks {
  private rule: CompiledRule | undefined = undefined;
  private key = '';
  private item: Item | undefined = undefined;
  trace: Trace | undefined = undefined;

  constructor(private readonly call: Call) {}

  /** at points the hooks at one rule's key (and the item being observed, if any). */
  at(rule: CompiledRule, key: string, item: Item | undefined, trace: Trace | undefined): this {
    this.rule = rule;
    this.key = key;
    this.item = item;
    this.trace = trace;
    return this;
  }

  gate(at: number, lastNotifiedAt: number | null): Blocked | undefined {
    const rule = this.rule;
    return rule && gate(this.call, rule, this.key, this.item, at, lastNotifiedAt);
  }

  emit(kind: 'firing' | 'repeat' | 'resolved', point: PointInfo): void {
    const { call, rule, key, item } = this;
    const threshold = rule?.threshold;
    if (!rule || !threshold) return;
    const person = personFor(call, threshold.per.text, key, item);
    const name = displayName(key, person);
    const draft: AlertDraft = {
      rule,
      id: hashParts(rule.fingerprint, key, kind, point.at, point.id),
      status: kind === 'resolved' ? 'resolved' : 'firing',
      key,
      at: point.at,
      item,
      person,
      user: threshold.per.text === 'user' ? key : undefined,
      value: point.value,
      simulation: point.simulation,
      defaultTitle: defaultTitle(rule, name),
      defaultText:
        kind === 'resolved'
          ? `back to normal: ${thresholdSentence(threshold, point.value)}`
          : thresholdSentence(threshold, point.value),
      vars: undefined,
    };
    if (this.trace && item === undefined) this.trace.point = { id: point.id, at: point.at };
    deliver(call, rule, buildAlert(draft), this.trace);
  }
}

/** hooksFor returns the call's KeyHooks pointed at one rule's key. */
function hooksFor(
  call: Call,
  rule: CompiledRule,
  key: string,
  item: Item | undefined,
  trace: Trace | undefined,
): KeyHooks {
  call.hooks ??= new KeyHooks(call);
  return call.hooks.at(rule, key, item, trace);
}

export function evaluateThresholdRule(call: Call, rule: CompiledRule, item: Item): void {
  const threshold = rule.threshold;
  if (!threshold) return;
  const key = keyOf(readPath(item, threshold.per));
  if (key === undefined) {
    if (call.explain) explainNoKey(call, rule, threshold.per.text, 'threshold');
    return;
  }
  // A window is ordered by time: an item without a usable one would corrupt it for every later item.
  if (!Number.isFinite(item.at)) {
    if (call.explain) explainNoTime(call, rule, item, key);
    return;
  }
  const matched = rule.condition.test(item);
  let value: number | null = null;
  if (threshold.field) value = numberOf(readPath(item, threshold.field)) ?? null;
  const flags = (matched ? MATCHED : 0) | (item.simulation ? SIMULATED : 0);
  const rs = ruleState(call.state, rule.fingerprint);
  const stored = keyState(rs, key, 'threshold');
  const state: ThresholdState = stored ?? newThresholdState();
  const firstBefore = stored === undefined ? undefined : firstPendingAt(stored);
  const trace = newTrace(call);
  const result = observeThreshold(
    threshold,
    state,
    item.at,
    item.id,
    flags,
    value,
    hooksFor(call, rule, key, item, trace),
    call.explain,
  );
  if (result.kind === 'late') {
    if (call.explain) explainLate(call, rule, threshold, item, key, result.head);
    return;
  }
  if (result.kind === 'duplicate') {
    if (call.explain) explainDuplicate(call, rule, item, key);
    return;
  }
  storeKey(rs, key, state, stored);
  const pending = call.memos.pending[rule.index];
  if (pending !== undefined) notePending(call, rule, pending, state, key, firstBefore, item.at);
  if (trace)
    explainThreshold(
      call,
      rule,
      threshold,
      item,
      key,
      matched,
      state,
      result.judgement,
      result.blocked,
      trace,
    );
}

function explainDuplicate(call: Call, rule: CompiledRule, item: Item, key: string): void {
  explain(call, rule, 'duplicate', () => `item ${item.id} was already counted for ${key}`, { key });
}

function explainNoTime(call: Call, rule: CompiledRule, item: Item, key: string): void {
  explain(call, rule, 'ignored', () => `the item has no usable time (at is ${String(item.at)})`, { key });
}

function explainLate(
  call: Call,
  rule: CompiledRule,
  threshold: CompiledThreshold,
  item: Item,
  key: string,
  head: number,
): void {
  explain(
    call,
    rule,
    'late',
    () =>
      `item time ${iso(item.at)} is more than the lateness allowance (${formatMs(threshold.latenessMs)}) behind the newest item of ${key} (${iso(head)}); not counted`,
    { key },
  );
}

/** explainThreshold says what an observed item did to a threshold key. */
function explainThreshold(
  call: Call,
  rule: CompiledRule,
  threshold: CompiledThreshold,
  item: Item,
  key: string,
  matched: boolean,
  state: ThresholdState,
  judgement: Judgement | undefined,
  blockedBy: Blocked | undefined,
  trace: Trace,
): void {
  const extra: Partial<RuleExplanation> = { key };
  if (judgement?.value !== undefined) extra.value = judgement.value;
  const sentence = thresholdSentence(threshold, judgement?.value);
  if (trace.alertIds.length > 0) {
    extra.alertIds = trace.alertIds;
    explain(call, rule, alertOutcome(trace), () => sentence, extra);
  } else if (!matched && !threshold.needsData && threshold.aggregate !== 'ratio') {
    // For these thresholds a non-matching item only moves the window on; the miss is the news.
    explain(
      call,
      rule,
      'no-match',
      () => rule.condition.explain(item) ?? 'the condition did not hold',
      extra,
    );
  } else if (blockedBy) {
    const blocked = blockedBy;
    explain(call, rule, blocked.outcome, () => `${sentence}; ${blocked.reason()}`, extra);
  } else if (state.eager !== null || (state.firing && state.notified)) {
    explain(call, rule, 'holding', () => `${sentence}; already alerted, quiet until it clears`, extra);
  } else if (judgement?.holds) {
    explain(
      call,
      rule,
      'pending',
      () =>
        `${sentence}; decided at the first tick after ${iso(item.at + threshold.latenessMs)} (lateness ${formatMs(threshold.latenessMs)}), or sooner once newer items of ${key} arrive`,
      extra,
    );
  } else if (judgement && !judgement.ready) {
    const need =
      threshold.minCount !== undefined
        ? `${judgement.total} of ${threshold.minCount} items (minCount)`
        : `${key} has not been active for a full ${threshold.windowText} yet`;
    explain(call, rule, 'not-ready', () => `not enough data to judge: ${need}`, extra);
  } else {
    const miss = matched ? '' : `${rule.condition.explain(item)}; `;
    explain(call, rule, 'below-threshold', () => `${miss}${sentence}`, extra);
  }
}

// ---- held-back threshold points on ticks --------------------------------------------------------------

/*
 * A point that waits for its lateness allowance (ratios, averages, "low" rules: see threshold-machine.ts) is
 * settled by its key's own newer items, but a key that sends nothing more (the last hour of a day) would
 * keep it waiting for ever. So a tick settles every point more than the allowance before the clock: the
 * tick's `now`, or the rule's item clock (the newest item time of its keys) when that is later, so a
 * replay whose ticks lag its items settles as live traffic does. Items keep their own time in windows;
 * an item that still arrives for a settled point's window is judged on arrival, as with lateness 0.
 *
 * A tick looks only at keys that may have such points: per rule, the state's cache holds a queue with an
 * entry at or before each key's first point not yet settled. An item that gives its key a new, earlier
 * first such point adds an entry (notePending); a missing queue (a restart, a reload, a restored state)
 * is rebuilt from every key, so the queue never changes what a tick decides.
 */

/** notePending keeps a key's queue entry a lower bound after an item was observed for it. */
function notePending(
  call: Call,
  rule: CompiledRule,
  memo: PendingMemo,
  state: ThresholdState,
  key: string,
  firstBefore: number | undefined,
  at: number,
): void {
  if (at > memo.newestAt) memo.newestAt = at;
  const first = firstPendingAt(state);
  if (first !== undefined && (firstBefore === undefined || first < firstBefore))
    queuePending(call, rule, memo, first, key);
}

/** queuePending adds a key's entry and lists the rule among those a tick looks at. */
function queuePending(call: Call, rule: CompiledRule, memo: PendingMemo, first: number, key: string): void {
  memo.queue.push(first, key);
  if (memo.listed) return;
  memo.listed = true;
  call.memos.pendingRules.add(rule);
}

/** buildPendingMemos gives every threshold rule its queue, from every key of its state. */
function buildPendingMemos(call: Call): void {
  for (const rule of call.ruleSet.thresholdRules) {
    if (call.memos.pending[rule.index] !== undefined) continue;
    const memo: PendingMemo = { queue: new DueQueue(), newestAt: Number.NEGATIVE_INFINITY, listed: false };
    call.memos.pending[rule.index] = memo;
    const rs = call.state.rules.get(rule.fingerprint);
    if (!rs) continue;
    for (const [key, value] of rs.keys) {
      if (value.t !== 'threshold') continue;
      if (value.head !== null && value.head > memo.newestAt) memo.newestAt = value.head;
      const first = firstPendingAt(value);
      if (first !== undefined) queuePending(call, rule, memo, first, key);
    }
  }
  call.memos.pendingBuilt = true;
}

/**
 * settleHeldBackPoints is a tick's part for threshold rules: each rule with queued keys, in rule order,
 * judges its points whose allowance has passed by `now` or its item clock.
 */
export function settleHeldBackPoints(call: Call, now: number): void {
  if (!call.memos.pendingBuilt) buildPendingMemos(call);
  const listed = call.memos.pendingRules;
  if (listed.size === 0) return;
  for (const rule of [...listed].sort((a, b) => a.index - b.index)) {
    const memo = call.memos.pending[rule.index];
    if (memo !== undefined) settleHeldBack(call, rule, memo, now);
  }
}

function settleHeldBack(call: Call, rule: CompiledRule, memo: PendingMemo, now: number): void {
  const threshold = rule.threshold;
  if (!threshold) return;
  const { queue } = memo;
  const clock = Math.max(now, memo.newestAt);
  const watermark = clock - threshold.latenessMs;
  if (queue.nextDue() < watermark) {
    const popped: string[] = [];
    while (queue.nextDue() < watermark) popped.push(queue.popKey() as string);
    const rs = call.state.rules.get(rule.fingerprint);
    // Sorted, so the order of alerts never depends on the order keys were seen or restored in; a key
    // may have had several entries, and is judged once.
    popped.sort();
    for (let i = 0; rs && i < popped.length; i++) {
      const key = popped[i] as string;
      if (i > 0 && popped[i - 1] === key) continue;
      const state = keyState(rs, key, 'threshold');
      if (state === undefined) continue;
      const { firing, notified, lastNotifiedAt, eager } = state;
      const alertsBefore = call.firings.length;
      const trace = newTrace(call);
      const blocked = settleBefore(threshold, state, hooksFor(call, rule, key, undefined, trace), watermark);
      // Only a changed episode (or an alert) needs writing: points settled without one are judged the
      // same way again after a restart, so the row the key's next item writes will do.
      if (
        state.firing !== firing ||
        state.notified !== notified ||
        state.lastNotifiedAt !== lastNotifiedAt ||
        state.eager !== eager ||
        call.firings.length !== alertsBefore
      )
        putKey(rs, key, state);
      const first = firstPendingAt(state);
      if (first !== undefined) queue.push(first, key);
      if (!trace) continue;
      if (trace.alertIds.length > 0) {
        const extra: Partial<RuleExplanation> = { key, alertIds: trace.alertIds };
        if (trace.point) extra.item = trace.point;
        explain(call, rule, alertOutcome(trace), () => heldBackReason(threshold, clock, now), extra);
      } else if (blocked) explain(call, rule, blocked.outcome, blocked.reason, { key });
    }
  }
  if (queue.size === 0) {
    memo.listed = false;
    call.memos.pendingRules.delete(rule);
  }
}

function heldBackReason(threshold: CompiledThreshold, clock: number, now: number): string {
  const by = clock > now ? `the newest item time of the rule (${iso(clock)})` : `the clock (${iso(now)})`;
  return `judged by ${by}: the lateness allowance (${formatMs(threshold.latenessMs)}) has passed`;
}

/**
 * heldBackDueAt is the earliest clock time a tick may settle a held-back point of any threshold rule:
 * -Infinity when the next tick may (the queues are to be built, or an item clock has passed a point).
 */
export function heldBackDueAt(memos: RuleMemos): number {
  if (!memos.pendingBuilt) return Number.NEGATIVE_INFINITY;
  let due = Number.POSITIVE_INFINITY;
  for (const rule of memos.pendingRules) {
    const memo = memos.pending[rule.index];
    const threshold = rule.threshold;
    if (memo === undefined || threshold === undefined) continue;
    const first = memo.queue.nextDue();
    // Settled once the clock is more than the allowance past it (or the item clock already is).
    if (memo.newestAt - threshold.latenessMs > first) return Number.NEGATIVE_INFINITY;
    due = Math.min(due, Math.floor(first + threshold.latenessMs) + 1);
  }
  return due;
}

/** settleEveryPoint judges every point of a threshold rule still held back, as if the allowance had passed. */
export function settleEveryPoint(call: Call, rule: CompiledRule): void {
  const threshold = rule.threshold;
  if (!threshold) return;
  const rs = call.state.rules.get(rule.fingerprint);
  if (!rs) return;
  for (const key of [...rs.keys.keys()].sort()) {
    const state = rs.keys.get(key);
    if (state?.t !== 'threshold' || state.sn >= state.at.length) continue;
    const trace = newTrace(call);
    const blocked = settleThreshold(threshold, state, hooksFor(call, rule, key, undefined, trace));
    putKey(rs, key, state);
    if (!trace) continue;
    if (trace.alertIds.length > 0) {
      explain(call, rule, alertOutcome(trace), () => 'settled at the end of the stream', {
        key,
        alertIds: trace.alertIds,
      });
    } else if (blocked) explain(call, rule, blocked.outcome, blocked.reason, { key });
  }
}
