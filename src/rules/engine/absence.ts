import type { Item } from '../../domain/item.js';
import { type AlertDraft, buildAlert, displayName } from '../alert.js';
import { DueQueue } from '../due-queue.js';
import { hashParts } from '../hash.js';
import { keyOf, readPath } from '../path.js';
import { activeSilence, describeSilence } from '../silence.js';
import {
  type AbsenceState,
  type MetaState,
  putKey,
  type RuleStateMap,
  ruleState,
  setMeta,
  storeKey,
} from '../state.js';
import type { CompiledAbsence, CompiledRule } from '../types.js';
import type { DueMemo } from './cache.js';
import {
  alertOutcome,
  type Call,
  defaultTitle,
  explain,
  explainNoKey,
  explainNoMatch,
  formatMs,
  iso,
  keyState,
  newTrace,
  personFor,
} from './call.js';
import { deliver } from './digest.js';

/*
 * Absence: a per-key dead-man's switch ("went quiet for 30m"). A key counts as seen when a matching item
 * is received; `tick(now)` from the caller's clock finds keys quiet for `for` and alerts once per quiet
 * spell; the next matching item resolves it. Timers are plain numbers in the state, so they survive a
 * restart when the caller persists them. Absence runs on the clock (the item's receivedAt and the tick's
 * now), not on item time: "quiet" means nothing arrived, whatever time the items claim.
 *
 * With `during:`, only quiet time inside the schedule counts (a spell starts no earlier than the current
 * stretch of the schedule). Which keys are watched is the rule's `watch`: by default (`seen`) the keys
 * that sent a matching item, and with `during:` only those seen since the current stretch began, so a
 * person on holiday is not "quiet" every morning; with `watch: people` also everyone in people: (or
 * their teams) before they are first seen, and a spell still going on when the next stretch begins is
 * alerted again: "nobody from the team has started by 09:30" is worth saying every morning.
 */

/** newAbsenceState returns the state of a key before it was seen. */
export function newAbsenceState(): AbsenceState {
  return { t: 'absence', seenAt: null, alertedAt: null, spell: null };
}

/** markSeen records a received matching item; it returns the start of the alerted spell it ends, if any. */
export function markSeen(state: AbsenceState, receivedAt: number): number | undefined {
  state.seenAt = state.seenAt === null ? receivedAt : Math.max(state.seenAt, receivedAt);
  if (state.alertedAt === null) return undefined;
  const endedSpell = state.spell ?? state.alertedAt;
  state.alertedAt = null;
  state.spell = null;
  return endedSpell;
}

/** QuietContext is what the rule's schedule says at one tick (judged once per tick, not per key). */
export interface QuietContext {
  /** The schedule is not watching now: no key is judged. */
  inactive: boolean;
  /** Start of the schedule's current stretch (with `during:`). */
  periodStart?: number;
}

/** quietContext judges the rule's schedule at `now`. */
export function quietContext(rule: CompiledRule, now: number): QuietContext {
  if (rule.outside?.contains(now)) return { inactive: true };
  if (!rule.during) return { inactive: false };
  const periodStart = rule.during.activeSince(now);
  return periodStart === undefined ? { inactive: true } : { inactive: false, periodStart };
}

/** QuietCheck is the verdict for one key at one tick. */
export type QuietCheck =
  | { kind: 'unwatched' }
  | { kind: 'active'; quietSince: number; remainingMs: number }
  | { kind: 'alerted'; quietSince: number }
  | { kind: 'due'; quietSince: number };

/**
 * checkQuiet decides whether a key is due an absence alert at `now`. `armedAt` is when the rule started
 * watching (the start of the quiet spell of keys listed in people but never seen). With `watch: seen`,
 * a key not seen in the current stretch of the schedule is not watched (until it is seen again).
 */
export function checkQuiet(
  forMs: number,
  context: QuietContext,
  state: AbsenceState | undefined,
  armedAt: number,
  now: number,
  watch: 'seen' | 'people' = 'people',
): QuietCheck {
  const periodStart = context.periodStart;
  const seenAt = state?.seenAt ?? null;
  if (watch === 'seen' && (seenAt === null || (periodStart !== undefined && seenAt < periodStart))) {
    return { kind: 'unwatched' };
  }
  const base = seenAt ?? armedAt;
  const quietSince = periodStart !== undefined ? Math.max(base, periodStart) : base;
  const alertedAt = state?.alertedAt ?? null;
  // Alerted in this stretch of the schedule (or, without one, in this spell): once is enough.
  if (alertedAt !== null && (periodStart === undefined || alertedAt >= periodStart)) {
    return { kind: 'alerted', quietSince: state?.spell ?? quietSince };
  }
  const quietFor = now - quietSince;
  if (quietFor < forMs) return { kind: 'active', quietSince, remainingMs: forMs - quietFor };
  return { kind: 'due', quietSince };
}

/** recordAbsenceAlert notes that the spell starting at `quietSince` was alerted at `now`. */
export function recordAbsenceAlert(state: AbsenceState, quietSince: number, now: number): void {
  state.alertedAt = now;
  state.spell = quietSince;
}

/**
 * directoryKeys returns the keys an absence rule watches from the directory before they are ever seen:
 * people (per user) or their teams (per team), narrowed by the rule's users/teams.
 */
export function directoryKeys(
  per: string,
  people: Iterable<{ id: string; team?: string }>,
  users: ReadonlySet<string> | undefined,
  teams: ReadonlySet<string> | undefined,
): string[] {
  const keys = new Set<string>();
  for (const person of people) {
    if (users && !users.has(person.id)) continue;
    if (teams && (person.team === undefined || !teams.has(person.team))) continue;
    if (per === 'user') keys.add(person.id);
    else if (per === 'team' && person.team !== undefined) keys.add(person.team);
  }
  return [...keys].sort();
}

export function observeAbsenceRule(call: Call, rule: CompiledRule, item: Item): void {
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
    explain(call, rule, alertOutcome(trace), () => `${name} is active again`, {
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

export function tickAbsenceRule(call: Call, rule: CompiledRule, now: number): void {
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
      explain(call, rule, alertOutcome(trace), () => `${name} quiet since ${iso(quietSince)}`, {
        key,
        alertIds: trace.alertIds,
      });
    }
  }
}

const MINUTE_MS = 60_000;

/**
 * absenceDueAt is the earliest clock time a tick may alert a key of the rule, given the last tick:
 * -Infinity when the next tick may (the rule is to be armed, or its queue built).
 */
export function absenceDueAt(
  rule: CompiledRule,
  memo: DueMemo | undefined,
  state: RuleStateMap,
  lastTickMs: number,
): number {
  if (memo === undefined || state.rules.get(rule.fingerprint)?.meta === undefined)
    return Number.NEGATIVE_INFINITY;
  let due = memo.queue.nextDue();
  // A schedule changes only on whole minutes (local times are minutes, UTC offsets whole quarters of an
  // hour): a new stretch rebuilds the queue and makes alerted keys due again, so look at each minute.
  if (rule.during || rule.outside) due = Math.min(due, (Math.floor(lastTickMs / MINUTE_MS) + 1) * MINUTE_MS);
  return due;
}
