import type { DueQueue } from '../due-queue.js';
import type { CompiledRule, CompiledRuleSet } from '../types.js';

/*
 * What the engine remembers between calls only to go faster. It is never part of the rule state: it is
 * not persisted, every entry can be rebuilt from the state, and dropping it (a restart, a restored
 * state, a reload's new rule set) changes no result, only how much work the next call does. It lives
 * beside the rows in the state object (createState / restoreState make a fresh one), so a memo can never
 * be used with a state it was not built from.
 */

/**
 * DueMemo is an absence rule's queue of keys that may be due (see absence.ts): a
 * lower bound of every watched key's due time, built in one stretch of the rule's schedule.
 */
export interface DueMemo {
  periodStart: number | undefined;
  queue: DueQueue;
  /** The rule's directory keys: a popped key with no state is judged only when it is one of them. */
  directory: ReadonlySet<string>;
}

/**
 * PendingMemo is a threshold rule's queue of keys with points not yet settled: per key an entry at or
 * before the time of its first such point (a lower bound, as in DueMemo), and the rule's item clock, the
 * newest item time of its keys (the largest `head`).
 */
export interface PendingMemo {
  queue: DueQueue;
  newestAt: number;
  /** The queue holds entries, so the rule is in RuleMemos.pendingRules. */
  listed: boolean;
}

/**
 * RuleMemos are the memos of one rule set's rules, by rule index (dense arrays: a read per rule and item
 * stays an array read). A reload compiles a new rule set, so its rules start with none and rebuild them
 * from the state they carried over.
 */
export interface RuleMemos {
  absence: Array<DueMemo | undefined>;
  pending: Array<PendingMemo | undefined>;
  /** Every threshold rule has its PendingMemo (built by the first tick). */
  pendingBuilt: boolean;
  /**
   * The threshold rules whose queue holds entries: a tick looks only at these, not at every threshold
   * rule (10,000 rules have thousands of them, and few have a point waiting).
   */
  pendingRules: Set<CompiledRule>;
}

/** PruneClock is what pruning remembers: the newest item time seen, and the item time of the last prune. */
export interface PruneClock {
  newestItemAt: number | undefined;
  lastPrunedAt: number | undefined;
}

/** EngineCache holds the memos of one state map. */
export interface EngineCache {
  readonly bySet: WeakMap<CompiledRuleSet, RuleMemos>;
  readonly prune: PruneClock;
  /**
   * encodeParts(fingerprint, key, 'item') per rule and key, for item alert ids (see itemIdPrefix); rules
   * of an old rule set drop out with their WeakMap entries.
   */
  idPrefixes: WeakMap<CompiledRule, Map<string, string>>;
  idPrefixCount: number;
}

/** createCache returns an empty cache. */
export function createCache(): EngineCache {
  return {
    bySet: new WeakMap(),
    prune: { newestItemAt: undefined, lastPrunedAt: undefined },
    idPrefixes: new WeakMap(),
    idPrefixCount: 0,
  };
}

/** memosFor returns the memos of a rule set's rules in this cache, creating them on first use. */
export function memosFor(cache: EngineCache, ruleSet: CompiledRuleSet): RuleMemos {
  let memos = cache.bySet.get(ruleSet);
  if (memos === undefined) {
    const size = ruleSet.rules.reduce((most, rule) => Math.max(most, rule.index + 1), 0);
    memos = {
      absence: new Array<DueMemo | undefined>(size).fill(undefined),
      pending: new Array<PendingMemo | undefined>(size).fill(undefined),
      pendingBuilt: false,
      pendingRules: new Set(),
    };
    cache.bySet.set(ruleSet, memos);
  }
  return memos;
}
