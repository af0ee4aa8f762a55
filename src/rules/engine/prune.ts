import { deleteKey } from '../state.js';
import type { PruneClock } from './cache.js';
import type { Call } from './call.js';

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
export const PRUNE_EVERY_MS = 3_600_000;
export function noteItemTime(clock: PruneClock, at: number): void {
  if (clock.newestItemAt === undefined || at > clock.newestItemAt) clock.newestItemAt = at;
}

export function pruneIdleKeys(call: Call): void {
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
    let newestHead = Number.NEGATIVE_INFINITY;
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
      if (idle) {
        deleteKey(rs, key);
        pruned = true;
      } else if (value.t === 'threshold' && value.head !== null && value.head > newestHead) {
        newestHead = value.head;
      }
    }
    // The rule's item clock is the newest head of its keys: a pruned key takes its head with it. (Its
    // queue entries stay; a tick that pops one finds no key and moves on.)
    const memo = threshold && pruned ? call.memos.pending[rule.index] : undefined;
    if (memo !== undefined) memo.newestAt = newestHead;
  }
}

/** pruneDue says whether the next tick prunes: the newest item time has moved on an hour since the last. */
export function pruneDue(clock: PruneClock): boolean {
  return (
    clock.newestItemAt !== undefined &&
    (clock.lastPrunedAt === undefined || clock.newestItemAt - clock.lastPrunedAt >= PRUNE_EVERY_MS)
  );
}
