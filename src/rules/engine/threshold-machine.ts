import { COMPARE } from '../match.js';
import type { ThresholdState } from '../state.js';
import type { CompiledThreshold } from '../types.js';
import { aggregateInto, coveredAt, evictFirst, insertEntry, SIMULATED, type WindowValue } from '../window.js';
import type { Blocked } from './gate.js';

/*
 * One threshold key's state machine, on the items' own time.
 *
 * Every item of the key (for the rule's `on`) is a point; the condition is judged at each point over
 * the window ending there. Points are judged for good ("settled") in time order once the key's newest
 * item is `lateness` ahead of them: no item that may still arrive can change their window, because
 * anything older than that is refused as too late. So the alerts of a key depend only on the set of
 * items that arrived within the allowance, not on their order, and a replay gives the same alerts.
 *
 * Alertmanager's shape on settled points: the condition becoming true opens an episode and fires; while
 * it holds nothing more is sent (unless `repeat:`); when it stops holding the episode closes and, with
 * `resolve: true`, a resolved alert follows. An episode muted when it opened (outside the schedule,
 * silenced, in cooldown) is notified at its first later point that is not muted.
 *
 * Waiting for settlement would delay every alert by the allowance, so conditions that more items can
 * only make truer (`eager`: count/sum/max above a bound) fire as soon as an arriving item makes them
 * hold; the settled sweep later adopts that alert for its episode instead of sending another. The price:
 * when items arrive out of order, an eager alert may name a later item of the same episode than an
 * in-order run would (the episode, and every other alert, stays the same). And while an episode is
 * open as far as points are settled, a next episode right after it waits for settlement too: only a
 * settled point can say the first one ended.
 */

// Entries evicted at a time (see observeThreshold).
const EVICT_BATCH = 32;

/** PointInfo is one judged point: the item there and the window's value. */
export interface PointInfo {
  at: number;
  id: string;
  value: number | undefined;
  simulation: boolean;
}

/** Judgement is the condition at one point. */
export interface Judgement extends WindowValue {
  /** The window holds enough data to judge (always true except for lt/lte). */
  ready: boolean;
  holds: boolean;
}

/** ThresholdHooks connect the state machine to the rule's mutes and to alert building. */
export interface ThresholdHooks {
  /** gate returns why a firing alert at `at` may not go out now, or undefined when it may. */
  gate(at: number, lastNotifiedAt: number | null): Blocked | undefined;
  emit(kind: 'firing' | 'repeat' | 'resolved', point: PointInfo): void;
}

/** ObserveResult says what happened to an item. */
export type ObserveResult =
  | { kind: 'late'; head: number }
  | { kind: 'duplicate' }
  | { kind: 'observed'; judgement?: Judgement; blocked?: Blocked };

/** newThresholdState returns the state of a key seen for the first time. */
export function newThresholdState(): ThresholdState {
  return {
    t: 'threshold',
    at: [],
    id: [],
    f: [],
    v: [],
    head: null,
    sn: 0,
    tail: null,
    firing: false,
    notified: false,
    lastNotifiedAt: null,
    eager: null,
  };
}

const newJudgement = (): Judgement => ({
  value: undefined,
  matched: 0,
  total: 0,
  ready: false,
  holds: false,
});

/** judgeAt evaluates the condition over the window ending at entry i. */
export function judgeAt(t: CompiledThreshold, s: ThresholdState, i: number): Judgement {
  return judgeInto(t, s, i, newJudgement());
}

/** judgeInto is judgeAt writing into `out`, so the sweep judges point after point without garbage. */
function judgeInto(t: CompiledThreshold, s: ThresholdState, i: number, out: Judgement): Judgement {
  const window = aggregateInto(s, i, t.windowMs, t.aggregate, out);
  let ready = true;
  if (t.needsData) {
    ready = t.minCount !== undefined ? window.total >= t.minCount : coveredAt(s, i, t.windowMs, s.tail);
  }
  out.ready = ready;
  out.holds = ready && window.value !== undefined && COMPARE[t.op](window.value, t.bound);
  return out;
}

const before = (at: number, id: string, other: [number, string]): boolean =>
  at < other[0] || (at === other[0] && id < other[1]);

function point(s: ThresholdState, i: number, judgement: Judgement): PointInfo {
  return {
    at: s.at[i] as number,
    id: s.id[i] as string,
    value: judgement.value,
    simulation: ((s.f[i] as number) & SIMULATED) !== 0,
  };
}

/*
 * The settled sweep and the eager check. Each returns why an alert it wanted to send was held back
 * (the latest such reason), or undefined.
 *
 * They judge every point into SCRATCH: a judgement never outlives its step (point() copies the value
 * out), and the engine is synchronous with hooks that never call back into it, so one object serves
 * every key. A machine object with its own judgement per rule and item was ~7% of the engine's garbage.
 */
const SCRATCH: Judgement = newJudgement();

/** notify sends (or adopts) the firing alert of the open episode at entry i. */
function notify(
  s: ThresholdState,
  hooks: ThresholdHooks,
  i: number,
  judgement: Judgement,
): Blocked | undefined {
  const at = s.at[i] as number;
  if (s.eager !== null) {
    // Sent already when the condition first held on arrival; this episode is that alert's. Repeat and
    // cooldown measure from the episode's settled start, which does not depend on arrival order.
    s.notified = true;
    s.lastNotifiedAt = at;
    s.eager = null;
    return undefined;
  }
  const blocked = hooks.gate(at, s.lastNotifiedAt);
  if (blocked) return blocked;
  hooks.emit('firing', point(s, i, judgement));
  s.notified = true;
  s.lastNotifiedAt = at;
  return undefined;
}

/** step judges entry i for good and moves the episode state. */
function step(
  t: CompiledThreshold,
  s: ThresholdState,
  hooks: ThresholdHooks,
  i: number,
): Blocked | undefined {
  const judgement = judgeInto(t, s, i, SCRATCH);
  const at = s.at[i] as number;
  let blocked: Blocked | undefined;
  if (judgement.holds) {
    if (!s.firing) {
      s.firing = true;
      s.notified = false;
      blocked = notify(s, hooks, i, judgement);
    } else if (!s.notified) {
      blocked = notify(s, hooks, i, judgement);
    } else if (t.repeatMs !== undefined && s.lastNotifiedAt !== null && at - s.lastNotifiedAt >= t.repeatMs) {
      blocked = hooks.gate(at, s.lastNotifiedAt);
      if (!blocked) {
        hooks.emit('repeat', point(s, i, judgement));
        s.lastNotifiedAt = at;
      }
    }
  } else if (s.firing) {
    if (s.notified && t.resolve) hooks.emit('resolved', point(s, i, judgement));
    s.firing = false;
    s.notified = false;
  }
  // An eager alert whose point has now settled without being adopted (possible only when more items
  // made the value smaller, e.g. negative values in a sum) must not hold back later episodes.
  if (s.eager !== null && !before(at, s.id[i] as string, s.eager)) s.eager = null;
  return blocked;
}

/** eagerCheck fires at the first unsettled point from `from` (within a window) where the condition holds. */
function eagerCheck(
  t: CompiledThreshold,
  s: ThresholdState,
  hooks: ThresholdHooks,
  from: number,
  itemAt: number,
): Blocked | undefined {
  if (s.eager !== null || (s.firing && s.notified)) return undefined;
  let blocked: Blocked | undefined;
  const n = s.at.length;
  for (let j = Math.max(from, s.sn); j < n && (s.at[j] as number) < itemAt + t.windowMs; j++) {
    const judgement = judgeInto(t, s, j, SCRATCH);
    if (!judgement.holds) continue;
    const at = s.at[j] as number;
    const held = hooks.gate(at, s.lastNotifiedAt);
    if (held) {
      blocked = held;
      continue;
    }
    hooks.emit('firing', point(s, j, judgement));
    s.eager = [at, s.id[j] as string];
    return blocked;
  }
  return blocked;
}

/**
 * observeThreshold adds one item to a key's state: it refuses an item older than the key's newest item
 * minus the lateness allowance, fires early when the rule is eager, settles the points the watermark
 * has passed and evicts what no window can need any more.
 */
export function observeThreshold(
  t: CompiledThreshold,
  s: ThresholdState,
  at: number,
  id: string,
  flags: number,
  value: number | null,
  hooks: ThresholdHooks,
  explain = false,
): ObserveResult {
  const lateness = t.latenessMs;
  if (s.head !== null && at < s.head - lateness) return { kind: 'late', head: s.head };
  const index = insertEntry(s, at, id, flags, value);
  if (index < 0) return { kind: 'duplicate' };
  const judgement = explain ? judgeAt(t, s, index) : undefined;
  let blocked: Blocked | undefined;

  if (index < s.sn) {
    // Only with lateness 0 (an item with the newest time, sorting before points already settled) or
    // after settleThreshold. It is judged now, in arrival order; its window is exact, and the points
    // already settled stay as judged.
    s.sn++;
    blocked = step(t, s, hooks, index);
  } else if (t.eager && lateness > 0) {
    blocked = eagerCheck(t, s, hooks, index, at);
  }

  s.head = s.head === null ? at : Math.max(s.head, at);
  const watermark = s.head - lateness;
  const n = s.at.length;
  // With no allowance an item settles on arrival; otherwise only points strictly before the watermark
  // are final, since an item exactly at the watermark is still accepted.
  while (
    s.sn < n &&
    (lateness === 0 ? (s.at[s.sn] as number) <= s.head : (s.at[s.sn] as number) < watermark)
  ) {
    blocked = step(t, s, hooks, s.sn) ?? blocked;
    s.sn++;
  }

  // Points not yet settled are at or after the watermark, so their windows start after watermark − window
  // and older entries can go. Evicting in batches keeps the array copies rare; an entry kept a little
  // longer changes nothing (windows start by binary search; a coverage chain reaches it whether it is
  // still an entry or already the evicted `tail`).
  const cutoff = watermark - t.windowMs;
  let evict = 0;
  while (evict < s.sn && (s.at[evict] as number) <= cutoff) evict++;
  if (evict >= EVICT_BATCH || (evict > 0 && evict * 2 >= s.at.length)) {
    s.tail = s.at[evict - 1] as number;
    evictFirst(s, evict);
    s.sn -= evict;
  }
  if (!judgement && !blocked) return OBSERVED;
  const result: ObserveResult = { kind: 'observed' };
  if (judgement) result.judgement = judgement;
  if (blocked) result.blocked = blocked;
  return result;
}

// The common result, shared so the hot path allocates nothing for it.
const OBSERVED: ObserveResult = Object.freeze({ kind: 'observed' });

/**
 * settleBefore judges, in time order, every point not yet settled whose time is before `watermark`. The
 * engine calls it from ticks with the clock minus the lateness allowance: a point whose allowance has
 * passed is final whatever its key sends next (an item still arriving for its window is judged on
 * arrival, as after lateness 0). It returns why an alert it wanted to send was held back, if one was.
 */
export function settleBefore(
  t: CompiledThreshold,
  s: ThresholdState,
  hooks: ThresholdHooks,
  watermark: number,
): Blocked | undefined {
  let blocked: Blocked | undefined;
  while (s.sn < s.at.length && (s.at[s.sn] as number) < watermark) {
    blocked = step(t, s, hooks, s.sn) ?? blocked;
    s.sn++;
  }
  return blocked;
}

/**
 * settleThreshold judges every point not yet settled, as if the allowance had passed (settleBefore with
 * no limit). Neither serve nor `hookrelay test` calls it: both settle by the clock. It answers "what
 * would this stream decide in the end", for tests of the engine.
 */
export function settleThreshold(
  t: CompiledThreshold,
  s: ThresholdState,
  hooks: ThresholdHooks,
): Blocked | undefined {
  return settleBefore(t, s, hooks, Number.POSITIVE_INFINITY);
}

/** firstPendingAt is the time of a key's earliest point not yet settled, or undefined when none is. */
export function firstPendingAt(s: ThresholdState): number | undefined {
  return s.sn < s.at.length ? (s.at[s.sn] as number) : undefined;
}
