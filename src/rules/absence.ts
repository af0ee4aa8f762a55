import type { AbsenceState } from './state.js';
import type { CompiledRule } from './types.js';

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
