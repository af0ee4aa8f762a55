import type { Alert } from '../domain/alert.js';
import type { Item, Person } from '../domain/item.js';
import {
  checkQuiet,
  markSeen,
  newAbsenceState,
  type QuietCheck,
  quietContext,
  recordAbsenceAlert,
} from './absence.js';
import { type AlertDraft, buildAlert, displayName, thresholdSentence } from './alert.js';
import { type EngineCache, memosFor, type PendingMemo, type PruneClock, type RuleMemos } from './cache.js';
import { cooldownUntil, newMatchState, recordAlert } from './cooldown.js';
import { digestDueAt, digestPeriod, digestText, digestTitle, foldIntoDigest, openDigest } from './digest.js';
import { DueQueue } from './due-queue.js';
import { encodeParts, hashEncoded, hashParts } from './hash.js';
import { keyOf, numberOf, readPath, showValue } from './path.js';
import { type CompiledSchedule, formatLocal } from './schedule.js';
import { activeSilence, describeSilence } from './silence.js';
import {
  type AbsenceState,
  type DigestState,
  deleteKey,
  type MatchState,
  type MetaState,
  type PerKeyState,
  putKey,
  type RuleState,
  type RuleStateMap,
  ruleState,
  setDigest,
  setMeta,
  storeKey,
  type ThresholdState,
} from './state.js';
import {
  type Blocked,
  firstPendingAt,
  type Judgement,
  newThresholdState,
  observeThreshold,
  type PointInfo,
  settleBefore,
  settleThreshold,
  type ThresholdHooks,
} from './threshold.js';
import type {
  CompiledAbsence,
  CompiledRule,
  CompiledRuleSet,
  CompiledThreshold,
  EvaluateOptions,
  Evaluation,
  Firing,
  Outcome,
  RuleExplanation,
} from './types.js';
import { MATCHED, SIMULATED } from './window.js';

/*
 * The engine API the evaluator calls. Everything here is a pure function of (rule set, state, input):
 * no I/O, no clock (item calls use the item's own times, ticks take `now`). State is mutated in place
 * and every change is recorded in it; after a batch the caller takes the changed rows (takeChanges)
 * and writes exactly those in the same transaction as the notifications and its log cursor. If that
 * transaction fails, the caller must restore the state from the store before evaluating again.
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

interface Call {
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

function newCall(
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

function finish(call: Call): Evaluation {
  const evaluation: Evaluation = { firings: call.firings };
  if (call.explain) evaluation.explanations = call.explanations;
  return evaluation;
}

/** keyState reads a rule's per-key value of the expected kind (a value of another kind reads as none). */
function keyState<K extends PerKeyState['t']>(
  rs: RuleState,
  key: string,
  kind: K,
): Extract<PerKeyState, { t: K }> | undefined {
  const value = rs.keys.get(key);
  return value !== undefined && value.t === kind ? (value as Extract<PerKeyState, { t: K }>) : undefined;
}

/** Trace collects the alerts one rule produced in this call, for its explanation. */
interface Trace {
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
const newTrace = (call: Call): Trace | undefined =>
  call.explain ? { alertIds: [], fired: 0, resolved: 0, digested: 0 } : undefined;

/** explain records an explanation; `reason` is a thunk so the hot path never builds the words. */
function explain(
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
function alertOutcome(_rule: CompiledRule, trace: Trace): Outcome {
  if (trace.digested > 0 && trace.digested === trace.alertIds.length) return 'digested';
  return trace.fired > 0 ? 'fired' : 'resolved';
}

/**
 * deliver routes a built alert: into the rule's digest bucket, or out as a firing to its destinations
 * (with `first: now`, the alert that opens a digest period goes out too, and its bucket opens empty).
 */
function deliver(call: Call, rule: CompiledRule, alert: Alert, trace: Trace | undefined): void {
  if (trace) {
    trace.alertIds.push(alert.id);
    if (alert.status === 'resolved') trace.resolved++;
    else trace.fired++;
  }
  const digest = rule.digest;
  if (digest !== undefined) {
    const rs = ruleState(call.state, rule.fingerprint);
    const open = rs.digest;
    if (open === undefined && digest.firstNow) setDigest(rs, openDigest(digest, call.clockMs));
    else {
      const bucket = open ?? openDigest(digest, call.clockMs);
      setDigest(rs, foldIntoDigest(bucket, alert, displayName(alert.key, alert.person)));
      if (trace) trace.digested++;
      return;
    }
  }
  call.firings.push({ alert, destinations: [...rule.to] });
}

/** personFor returns the directory entry a key names: only user keys name a person. */
function personFor(call: Call, perText: string, key: string, item: Item | undefined): Person | undefined {
  if (perText !== 'user') return undefined;
  return item?.user === key && item.person !== undefined ? item.person : call.ruleSet.people.get(key);
}

const iso = (ms: number) => new Date(ms).toISOString();

const NO_OPTIONS: EvaluateOptions = Object.freeze({});
// Never written to: explanations are only pushed when explaining.
const NO_EXPLANATIONS: RuleExplanation[] = [];

/**
 * gate says why an alert at `at` may not go out: schedule, silence, then cooldown. The reasons are built
 * by the helpers below: a closure here would make V8 allocate a context on every call, blocked or not.
 */
function gate(
  call: Call,
  rule: CompiledRule,
  key: string,
  item: Item | undefined,
  at: number,
  lastAlertAt: number | null,
): Blocked | undefined {
  if (rule.during && !rule.during.contains(at)) return outsideSchedule(rule.during, at, 'is outside');
  if (rule.outside?.contains(at)) return outsideSchedule(rule.outside, at, 'is inside', ' (outside:)');
  if (call.ruleSet.silences.length > 0) {
    const silenced = silencedBy(call, rule, key, item, at);
    if (silenced) return silenced;
  }
  const until = cooldownUntil(lastAlertAt, at, rule.cooldownMs);
  if (until !== undefined && lastAlertAt !== null) return inCooldown(rule, key, lastAlertAt, until);
  return undefined;
}

function outsideSchedule(schedule: CompiledSchedule, at: number, verb: string, note = ''): Blocked {
  return {
    outcome: 'outside-schedule',
    reason: () => `${formatLocal(at, schedule.timezone)} ${verb} ${schedule.describe()}${note}`,
  };
}

function silencedBy(
  call: Call,
  rule: CompiledRule,
  key: string,
  item: Item | undefined,
  at: number,
): Blocked | undefined {
  const silence = activeSilence(call.ruleSet.silences, rule.name, at, () => ({
    ...(item ?? {}),
    user: item?.user ?? key,
    person: item?.person ?? call.ruleSet.people.get(item?.user ?? key),
    rule: rule.name,
    key,
    severity: rule.severity,
  }));
  return silence && { outcome: 'silenced', reason: () => describeSilence(silence) };
}

function inCooldown(rule: CompiledRule, key: string, lastAlertAt: number, until: number): Blocked {
  return {
    outcome: 'cooldown',
    reason: () =>
      `cooldown ${rule.config.cooldown}: last alert for ${key} at ${iso(lastAlertAt)}, next from ${iso(until)}`,
  };
}

/** withPerson attaches the directory entry as `person`, only when some rule's condition reads it. */
function withPerson(ruleSet: CompiledRuleSet, item: Item): Item {
  if (!ruleSet.conditionsReadPerson || item.user === undefined || item.person !== undefined) return item;
  const person = ruleSet.people.get(item.user);
  return person === undefined ? item : { ...item, person };
}

function defaultTitle(rule: CompiledRule, name: string): string {
  return name === '' ? rule.name : `${rule.name}: ${name}`;
}

function itemSentence(item: Item, name: string): string {
  const who = name === '' ? '' : ` from ${name}`;
  const app = item.app?.name !== undefined ? ` (${item.app.name})` : '';
  return `${item.event}${who}${app}`;
}

const formatMs = (ms: number): string => {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
};

// ---- plain rules -------------------------------------------------------------------------------------

/*
 * The evaluate functions below build explanations in helpers of their own: a closure in a hot function
 * makes V8 allocate a context for its captured variables on every call, explaining or not (measured:
 * with evaluateItem's loop and gate, about a fifth of the engine's garbage per item).
 */

/*
 * Item alert ids hash (fingerprint, key, 'item', source, id); the first three repeat for every alert of
 * a rule's key, so their encoded text is kept per rule and key and only source and id are encoded per
 * alert. Measured at 100 rules: 11% less garbage per item, +4 to +13% items per CPU-second over
 * interleaved runs (the hash then flattens a short string tree instead of a deep one). The ids are the
 * same by construction (hashEncoded of the same text). The memo (in the state's cache) is bounded as a
 * whole (about 100 bytes an entry) and starts afresh when full.
 */
const MAX_ID_PREFIXES = 50_000;

/** itemIdPrefix returns encodeParts(rule.fingerprint, key, 'item'), memoised in the state's cache. */
function itemIdPrefix(cache: EngineCache, rule: CompiledRule, key: string): string {
  let memo = cache.idPrefixes.get(rule);
  let prefix = memo?.get(key);
  if (prefix !== undefined) return prefix;
  if (cache.idPrefixCount >= MAX_ID_PREFIXES) {
    cache.idPrefixes = new WeakMap();
    cache.idPrefixCount = 0;
    memo = undefined;
  }
  if (memo === undefined) {
    memo = new Map();
    cache.idPrefixes.set(rule, memo);
  }
  prefix = encodeParts(rule.fingerprint, key, 'item');
  memo.set(key, prefix);
  cache.idPrefixCount++;
  return prefix;
}

function evaluateMatchRule(call: Call, rule: CompiledRule, item: Item): void {
  const key = keyOf(readPath(item, rule.per)) ?? '';
  const stateful = rule.cooldownMs !== undefined || rule.resolve;
  const rs = stateful ? ruleState(call.state, rule.fingerprint) : undefined;
  if (!rule.condition.test(item)) {
    const state = rs ? keyState(rs, key, 'match') : undefined;
    if (rs && state?.active && rule.resolve) resolveMatch(call, rule, item, key, rs, state);
    else if (call.explain) explainNoMatch(call, rule, item, key);
    return;
  }
  const state: MatchState | undefined = rs ? (keyState(rs, key, 'match') ?? newMatchState()) : undefined;
  const blocked = gate(call, rule, key, item, item.at, state?.lastAlertAt ?? null);
  if (blocked) {
    if (call.explain) explain(call, rule, blocked.outcome, blocked.reason, { key });
    return;
  }
  const person = personFor(call, rule.per.text, key, item);
  const name = displayName(key, person);
  const draft: AlertDraft = {
    rule,
    id: hashEncoded(itemIdPrefix(call.state.cache, rule, key) + encodeParts(item.source, item.id)),
    status: 'firing',
    key,
    at: item.at,
    item,
    person,
    user: rule.per.text === 'user' && key !== '' ? key : undefined,
    value: undefined,
    simulation: item.simulation,
    defaultTitle: defaultTitle(rule, name),
    defaultText: itemSentence(item, name),
    vars: undefined,
  };
  if (rs && state) {
    recordAlert(state, item.at, draft.id);
    putKey(rs, key, state);
  }
  const trace = newTrace(call);
  deliver(call, rule, buildAlert(draft), trace);
  if (trace) explainMatched(call, rule, key, trace);
}

/** resolveMatch sends the resolved alert of a key whose item no longer matches. */
function resolveMatch(
  call: Call,
  rule: CompiledRule,
  item: Item,
  key: string,
  rs: RuleState,
  state: MatchState,
): void {
  const person = personFor(call, rule.per.text, key, item);
  const name = displayName(key, person);
  const draft: AlertDraft = {
    rule,
    id: hashParts(rule.fingerprint, key, 'resolved', item.source, item.id),
    status: 'resolved',
    key,
    at: item.at,
    item,
    person,
    user: undefined,
    value: undefined,
    simulation: item.simulation,
    defaultTitle: defaultTitle(rule, name),
    defaultText: `${itemSentence(item, name)} no longer matches`,
    vars: undefined,
  };
  state.active = false;
  state.alertId = null;
  putKey(rs, key, state);
  const trace = newTrace(call);
  deliver(call, rule, buildAlert(draft), trace);
  if (trace) {
    explain(call, rule, alertOutcome(rule, trace), () => 'the condition no longer holds for this key', {
      key,
      alertIds: trace.alertIds,
    });
  }
}

function explainNoMatch(call: Call, rule: CompiledRule, item: Item, key?: string): void {
  const extra: Partial<RuleExplanation> = key === undefined ? {} : { key };
  explain(call, rule, 'no-match', () => rule.condition.explain(item) ?? 'the condition did not hold', extra);
}

function explainMatched(call: Call, rule: CompiledRule, key: string, trace: Trace): void {
  explain(
    call,
    rule,
    alertOutcome(rule, trace),
    () => `matched ${rule.hasCondition ? rule.condition.describe() : rule.on.describe()}`,
    { key, alertIds: trace.alertIds },
  );
}

// ---- threshold rules ---------------------------------------------------------------------------------

/**
 * KeyHooks connects a threshold key's state machine to gating and alert building. One serves a whole
 * call, pointed at each rule and key in turn (`at`): one per rule and item was ~5% of the engine's garbage.
 */
class KeyHooks implements ThresholdHooks {
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

function evaluateThresholdRule(call: Call, rule: CompiledRule, item: Item): void {
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
  if (pending !== undefined) notePending(pending, state, key, firstBefore, item.at);
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

function explainNoKey(call: Call, rule: CompiledRule, per: string, what: 'threshold' | 'absent'): void {
  explain(call, rule, 'ignored', () => `the item has no ${per} (${what} per ${per})`);
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
    explain(call, rule, alertOutcome(rule, trace), () => sentence, extra);
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
 * A point that waits for its lateness allowance (ratios, averages, "low" rules: see threshold.ts) is
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
  memo: PendingMemo,
  state: ThresholdState,
  key: string,
  firstBefore: number | undefined,
  at: number,
): void {
  if (at > memo.newestAt) memo.newestAt = at;
  const first = firstPendingAt(state);
  if (first !== undefined && (firstBefore === undefined || first < firstBefore)) memo.queue.push(first, key);
}

/** pendingMemo returns a threshold rule's queue, built from every key of its state when missing. */
function pendingMemo(call: Call, rule: CompiledRule): PendingMemo {
  const existing = call.memos.pending[rule.index];
  if (existing !== undefined) return existing;
  const memo: PendingMemo = { queue: new DueQueue(), newestAt: Number.NEGATIVE_INFINITY };
  const rs = call.state.rules.get(rule.fingerprint);
  if (rs) {
    for (const [key, value] of rs.keys) {
      if (value.t !== 'threshold') continue;
      if (value.head !== null && value.head > memo.newestAt) memo.newestAt = value.head;
      const first = firstPendingAt(value);
      if (first !== undefined) memo.queue.push(first, key);
    }
  }
  call.memos.pending[rule.index] = memo;
  return memo;
}

/** settleHeldBack judges a threshold rule's points whose allowance has passed by `now` or its item clock. */
function settleHeldBack(call: Call, rule: CompiledRule, now: number): void {
  const threshold = rule.threshold;
  if (!threshold) return;
  const memo = pendingMemo(call, rule);
  const { queue } = memo;
  const clock = Math.max(now, memo.newestAt);
  const watermark = clock - threshold.latenessMs;
  if (!(queue.nextDue() < watermark)) return;
  const rs = call.state.rules.get(rule.fingerprint);
  const popped = new Set<string>();
  while (queue.nextDue() < watermark) popped.add(queue.popKey() as string);
  if (!rs) return;
  // Sorted, so the order of alerts never depends on the order keys were seen or restored in.
  for (const key of [...popped].sort()) {
    const state = keyState(rs, key, 'threshold');
    if (state === undefined) continue;
    const settledBefore = state.sn;
    const trace = newTrace(call);
    const blocked = settleBefore(threshold, state, hooksFor(call, rule, key, undefined, trace), watermark);
    if (state.sn !== settledBefore) putKey(rs, key, state);
    const first = firstPendingAt(state);
    if (first !== undefined) queue.push(first, key);
    if (!trace) continue;
    if (trace.alertIds.length > 0) {
      const extra: Partial<RuleExplanation> = { key, alertIds: trace.alertIds };
      if (trace.point) extra.item = trace.point;
      explain(call, rule, alertOutcome(rule, trace), () => heldBackReason(threshold, clock, now), extra);
    } else if (blocked) explain(call, rule, blocked.outcome, blocked.reason, { key });
  }
}

function heldBackReason(threshold: CompiledThreshold, clock: number, now: number): string {
  const by = clock > now ? `the newest item time of the rule (${iso(clock)})` : `the clock (${iso(now)})`;
  return `judged by ${by}: the lateness allowance (${formatMs(threshold.latenessMs)}) has passed`;
}

// ---- absence rules -----------------------------------------------------------------------------------

function observeAbsenceRule(call: Call, rule: CompiledRule, item: Item): void {
  const absence = rule.absence;
  if (!absence) return;
  if (!rule.condition.test(item)) {
    if (call.explain) explainNoMatch(call, rule, item);
    return;
  }
  const key = keyOf(readPath(item, absence.per));
  if (key === undefined) {
    if (call.explain) explainNoKey(call, rule, absence.per.text, 'absent');
    return;
  }
  const rs = ruleState(call.state, rule.fingerprint);
  const stored = keyState(rs, key, 'absence');
  const state: AbsenceState = stored ?? newAbsenceState();
  const periodStart = call.memos.absence[rule.index]?.periodStart;
  // Seen before the queue's stretch of the schedule began: with watch: seen it has no entry there.
  const known =
    state.seenAt !== null &&
    state.alertedAt === null &&
    (periodStart === undefined || state.seenAt >= periodStart);
  const endedSpell = markSeen(state, item.receivedAt);
  storeKey(rs, key, state, stored);
  // A new key, or one whose spell just ended, may be due before any entry it has in the due queue.
  if (!known) noteDue(call, rule, (state.seenAt ?? item.receivedAt) + absence.forMs, key);
  if (endedSpell === undefined || !rule.resolve) {
    if (call.explain) explainSeen(call, rule, absence, item, key);
    return;
  }
  resolveAbsence(call, rule, absence, item, key, endedSpell);
}

function explainSeen(
  call: Call,
  rule: CompiledRule,
  absence: CompiledAbsence,
  item: Item,
  key: string,
): void {
  explain(
    call,
    rule,
    'seen',
    () => `${key} seen at ${iso(item.receivedAt)}; the ${absence.forText} timer restarts`,
    { key },
  );
}

/** resolveAbsence sends the resolved alert of a key seen again after its quiet spell was alerted. */
function resolveAbsence(
  call: Call,
  rule: CompiledRule,
  absence: CompiledAbsence,
  item: Item,
  key: string,
  endedSpell: number,
): void {
  const person = personFor(call, absence.per.text, key, item);
  const name = displayName(key, person);
  const trace = newTrace(call);
  const draft: AlertDraft = {
    rule,
    id: hashParts(rule.fingerprint, key, 'absent-resolved', endedSpell),
    status: 'resolved',
    key,
    at: item.at,
    item,
    person,
    user: absence.per.text === 'user' ? key : undefined,
    value: undefined,
    simulation: item.simulation,
    defaultTitle: defaultTitle(rule, name),
    defaultText: `${name} is active again (${item.event})`,
    vars: { for: absence.forText },
  };
  deliver(call, rule, buildAlert(draft), trace);
  if (trace) {
    explain(call, rule, alertOutcome(rule, trace), () => `${name} is active again`, {
      key,
      alertIds: trace.alertIds,
    });
  }
}

/*
 * A tick looks only at the keys of an absence rule that may be due: per rule and state, a queue holds a
 * lower bound of every watched key's due time (see DueQueue). Seeing a key only moves its due time later,
 * so its entry stays a lower bound; a new key or one whose spell ended gets a fresh entry
 * (observeAbsenceRule), and a new stretch of the schedule (the memo remembers the stretch it was built
 * in) or an explaining tick rebuilds the queue from every key.
 * It is a memo in the state's cache, never part of the state: without it every tick would give the same
 * result.
 */
/** noteDue gives a key that may now be due before its queued time (new, or its spell ended) an entry. */
function noteDue(call: Call, rule: CompiledRule, due: number, key: string): void {
  call.memos.absence[rule.index]?.queue.push(due, key);
}

function explainQuiet(call: Call, rule: CompiledRule, key: string, check: QuietCheck): void {
  if (check.kind === 'unwatched') {
    explain(
      call,
      rule,
      'ignored',
      () => `${key} was not seen since this stretch of the schedule began; watched once seen (watch: seen)`,
      { key },
    );
  } else if (check.kind === 'alerted') {
    explain(call, rule, 'holding', () => `${key} quiet since ${iso(check.quietSince)}; already alerted`, {
      key,
    });
  } else if (check.kind === 'active') {
    explain(
      call,
      rule,
      'seen',
      () => `${key} quiet since ${iso(check.quietSince)}; alerts in ${formatMs(check.remainingMs)}`,
      { key },
    );
  }
}

/** quietText is an absence alert's default text: gone quiet after being seen, or not seen at all. */
function quietText(
  rule: CompiledRule,
  absence: CompiledAbsence,
  name: string,
  state: AbsenceState | undefined,
  quietSince: number,
): string {
  const what = `no ${rule.on.describe()} for ${absence.forText}`;
  if (state?.seenAt === quietSince) return `${name} went quiet: ${what} (since ${iso(quietSince)})`;
  return `${name} has not been seen: ${what} (since ${iso(quietSince)}; watch: ${absence.watch})`;
}

function tickAbsenceRule(call: Call, rule: CompiledRule, now: number): void {
  const absence = rule.absence;
  if (!absence) return;
  const rs = ruleState(call.state, rule.fingerprint);
  let meta: MetaState | undefined = rs.meta;
  if (!meta) {
    meta = { t: 'meta', armedAt: now };
    setMeta(rs, meta);
  }
  const armedAt = meta.armedAt;
  // The schedule is judged once per tick, not once per key.
  const context = quietContext(rule, now);
  if (context.inactive) {
    explain(
      call,
      rule,
      'outside-schedule',
      () => `${iso(now)} is not inside the rule's schedule; nobody is watched now`,
    );
    return;
  }
  const memo = call.memos.absence[rule.index];
  const due: Array<{ key: string; quietSince: number; state: AbsenceState | undefined }> = [];
  let queue: DueQueue;
  if (!call.explain && memo && memo.periodStart === context.periodStart) {
    queue = memo.queue;
    if (now < queue.nextDue()) return;
    // Every key due now has an entry at or before now; a key may have several, so each is judged once.
    const popped = new Set<string>();
    while (queue.nextDue() <= now) popped.add(queue.popKey() as string);
    for (const key of popped) {
      const stored = rs.keys.get(key);
      // The same keys the full scan below judges: absence state, or a directory key never seen.
      if (stored === undefined ? !memo.directory.has(key) : stored.t !== 'absence') continue;
      const value = stored?.t === 'absence' ? stored : undefined;
      const check = checkQuiet(absence.forMs, context, value, armedAt, now, absence.watch);
      if (check.kind === 'due') due.push({ key, quietSince: check.quietSince, state: value });
      else if (check.kind === 'active') queue.push(now + check.remainingMs, key);
      // An alerted key needs no entry: it can only become due again once seen (noteDue) or in a new stretch.
    }
  } else {
    queue = new DueQueue();
    const fresh = queue;
    const consider = (key: string, state: AbsenceState | undefined) => {
      const check = checkQuiet(absence.forMs, context, state, armedAt, now, absence.watch);
      if (check.kind === 'due') due.push({ key, quietSince: check.quietSince, state });
      else if (check.kind === 'active') fresh.push(now + check.remainingMs, key);
      if (call.explain && check.kind !== 'due') explainQuiet(call, rule, key, check);
    };
    for (const [key, value] of rs.keys) if (value.t === 'absence') consider(key, value);
    for (const key of absence.directoryKeys) if (!rs.keys.has(key)) consider(key, undefined);
    call.memos.absence[rule.index] = {
      periodStart: context.periodStart,
      queue,
      directory: memo?.directory ?? new Set(absence.directoryKeys),
    };
  }
  // A due key that stays unsent (silenced) must be looked at again next tick; once alerted, the next
  // tick drops its entry.
  for (const entry of due) queue.push(entry.quietSince + absence.forMs, entry.key);
  // Sorted, so the order of alerts never depends on the order state was restored in.
  due.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const { key, quietSince, state } of due) {
    const person = personFor(call, absence.per.text, key, undefined);
    const name = displayName(key, person);
    const silence =
      call.ruleSet.silences.length > 0
        ? activeSilence(call.ruleSet.silences, rule.name, now, () => ({
            user: absence.per.text === 'user' ? key : undefined,
            person,
            rule: rule.name,
            key,
            severity: rule.severity,
          }))
        : undefined;
    if (silence) {
      explain(call, rule, 'silenced', () => describeSilence(silence), { key });
      continue;
    }
    const next: AbsenceState = state ?? newAbsenceState();
    recordAbsenceAlert(next, quietSince, now);
    putKey(rs, key, next);
    const trace = newTrace(call);
    const draft: AlertDraft = {
      rule,
      id: hashParts(rule.fingerprint, key, 'absent', quietSince),
      status: 'firing',
      key,
      at: now,
      item: undefined,
      person,
      user: absence.per.text === 'user' ? key : undefined,
      value: undefined,
      simulation: false,
      defaultTitle: defaultTitle(rule, name),
      defaultText: quietText(rule, absence, name, state, quietSince),
      vars: { for: absence.forText, quietSince, watch: absence.watch },
    };
    deliver(call, rule, buildAlert(draft), trace);
    if (trace) {
      explain(call, rule, alertOutcome(rule, trace), () => `${name} quiet since ${iso(quietSince)}`, {
        key,
        alertIds: trace.alertIds,
      });
    }
  }
}

// ---- digests -----------------------------------------------------------------------------------------

function flushDigest(call: Call, rule: CompiledRule, now: number, force: boolean): void {
  const digest = rule.digest;
  if (digest === undefined) return;
  const rs = call.state.rules.get(rule.fingerprint);
  const bucket: DigestState | undefined = rs?.digest;
  if (!rs || !bucket || (!force && now < digestDueAt(digest, bucket))) return;
  // A first: now period whose only alert went out at once ends with nothing more to say.
  if (bucket.count === 0) {
    setDigest(rs, undefined);
    return;
  }
  const first = bucket.entries[0];
  const allSimulated = bucket.simulated === bucket.count;
  const alert: Alert = {
    id: hashParts(rule.fingerprint, 'digest', bucket.openedAt, first?.id ?? ''),
    rule: rule.name,
    status: 'firing',
    severity: rule.severity,
    // A digest of one alert is that alert's title; otherwise it names the people.
    title:
      bucket.count === 1 && first !== undefined
        ? first.title
        : `${allSimulated ? '[simulation] ' : ''}${rule.name}: ${digestTitle(bucket)}`,
    text: digestText(bucket, digestPeriod(digest, bucket)),
    key: bucket.keys.length === 1 ? (bucket.keys[0] as string) : '',
    at: now,
    simulation: allSimulated,
    digest: { count: bucket.count, keys: [...bucket.keys] },
  };
  setDigest(rs, undefined);
  call.firings.push({ alert, destinations: [...rule.to] });
  explain(call, rule, 'fired', () => `digest of ${bucket.count} alert(s) since ${iso(bucket.openedAt)}`, {
    alertIds: [alert.id],
  });
}

// ---- pruning idle keys -------------------------------------------------------------------------------

/*
 * A key that stops sending items (a person who left, a domain visited once with `per: app.domain`) would
 * keep its window or cooldown forever: entries are evicted only when the key's next item arrives. Ticks
 * drop such keys once the newest item time seen is a day past anything they could still matter for.
 * The measure is item time, so a replay prunes as live traffic does; the day of margin means only an
 * item more than a day later than its neighbours could notice, and that item would be refused as too
 * late anyway. Open episodes are kept: their resolved alert is still owed; so are keys with points not
 * yet judged (a tick settles them first, but a key is never deleted with a judgement inside it).
 */
const IDLE_MARGIN_MS = 86_400_000;
// Pruning scans a rule's keys; once per hour of item time is plenty.
const PRUNE_EVERY_MS = 3_600_000;
function noteItemTime(clock: PruneClock, at: number): void {
  if (clock.newestItemAt === undefined || at > clock.newestItemAt) clock.newestItemAt = at;
}

function pruneIdleKeys(call: Call): void {
  const clock = call.state.cache.prune;
  const newest = clock.newestItemAt;
  if (newest === undefined) return;
  const last = clock.lastPrunedAt;
  if (last !== undefined && newest - last < PRUNE_EVERY_MS) return;
  clock.lastPrunedAt = newest;
  for (const rule of call.ruleSet.keyedRules) {
    const rs = call.state.rules.get(rule.fingerprint);
    if (!rs) continue;
    const threshold = rule.threshold;
    const horizon = threshold
      ? newest - threshold.windowMs - threshold.latenessMs - IDLE_MARGIN_MS
      : newest - (rule.cooldownMs ?? 0) - IDLE_MARGIN_MS;
    let pruned = false;
    for (const [key, value] of rs.keys) {
      const idle =
        value.t === 'threshold'
          ? !value.firing &&
            value.eager === null &&
            value.sn >= value.at.length &&
            value.head !== null &&
            value.head < horizon
          : value.t === 'match' &&
            // Only a rule that resolves still owes an active key its resolved alert.
            (!value.active || !rule.resolve) &&
            (value.lastAlertAt === null || value.lastAlertAt < horizon);
      if (!idle) continue;
      deleteKey(rs, key);
      pruned = true;
    }
    // The rule's item clock is the newest head of its keys: a pruned key takes its head with it, and
    // the next tick rebuilds the queue from the keys that are left.
    if (threshold && pruned) call.memos.pending[rule.index] = undefined;
  }
}

// ---- the API -----------------------------------------------------------------------------------------

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
  for (const rule of ruleSet.thresholdRules) settleHeldBack(call, rule, nowMs);
  for (const rule of ruleSet.absenceRules) tickAbsenceRule(call, rule, nowMs);
  for (const rule of ruleSet.digestRules) flushDigest(call, rule, nowMs, false);
  pruneIdleKeys(call);
  return finish(call);
}

const MINUTE_MS = 60_000;

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
  const now = Number.NEGATIVE_INFINITY;
  let due = Number.POSITIVE_INFINITY;
  for (const rule of ruleSet.thresholdRules) {
    const threshold = rule.threshold;
    if (!threshold || !state.rules.has(rule.fingerprint)) continue;
    const memo = memos.pending[rule.index];
    if (memo === undefined) return now;
    const first = memo.queue.nextDue();
    if (first === Number.POSITIVE_INFINITY) continue;
    // Settled once the clock is more than the allowance past it (or the item clock already is).
    if (memo.newestAt - threshold.latenessMs > first) return now;
    due = Math.min(due, Math.floor(first + threshold.latenessMs) + 1);
  }
  for (const rule of ruleSet.absenceRules) {
    const memo = memos.absence[rule.index];
    if (memo === undefined || state.rules.get(rule.fingerprint)?.meta === undefined) return now;
    due = Math.min(due, memo.queue.nextDue());
    // A schedule changes only on whole minutes (local times are minutes, UTC offsets whole quarters of an
    // hour): a new stretch rebuilds the queue and makes alerted keys due again, so look at each minute.
    if (rule.during || rule.outside)
      due = Math.min(due, (Math.floor(lastTickMs / MINUTE_MS) + 1) * MINUTE_MS);
  }
  for (const rule of ruleSet.digestRules) {
    const bucket = state.rules.get(rule.fingerprint)?.digest;
    if (bucket && rule.digest) due = Math.min(due, digestDueAt(rule.digest, bucket));
  }
  const prune = state.cache.prune;
  if (
    prune.newestItemAt !== undefined &&
    (prune.lastPrunedAt === undefined || prune.newestItemAt - prune.lastPrunedAt >= PRUNE_EVERY_MS)
  ) {
    return now;
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
  for (const rule of ruleSet.rules) {
    const threshold = rule.threshold;
    if (!threshold) continue;
    const rs = state.rules.get(rule.fingerprint);
    if (!rs) continue;
    for (const key of [...rs.keys.keys()].sort()) {
      const keyState = rs.keys.get(key);
      if (keyState?.t !== 'threshold' || keyState.sn >= keyState.at.length) continue;
      const trace = newTrace(call);
      const blocked = settleThreshold(threshold, keyState, hooksFor(call, rule, key, undefined, trace));
      putKey(rs, key, keyState);
      if (!trace) continue;
      if (trace.alertIds.length > 0) {
        explain(call, rule, alertOutcome(rule, trace), () => 'settled at the end of the stream', {
          key,
          alertIds: trace.alertIds,
        });
      } else if (blocked) explain(call, rule, blocked.outcome, blocked.reason, { key });
    }
  }
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
