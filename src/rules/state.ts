import { createCache, type EngineCache } from './engine/cache.js';
import type { CompiledRuleSet } from './types.js';
import type { WindowEntries } from './window.js';

/*
 * Rule state is explicit, plain JSON, and tracks what changed, so the evaluator persists exactly that in
 * the same transaction as the notifications and its log cursor. In memory it is nested (rule
 * fingerprint → key → value) so the hot path never builds strings; at the persistence edge each value
 * has a flat row key:
 *   `${fingerprint}|${key}`   per-key state (threshold window, cooldown, absence timer)
 *   `${fingerprint}#digest`   the rule's open digest bucket
 *   `${fingerprint}#meta`     per-rule bookkeeping (when an absence rule was armed)
 * Fingerprints are hex, so the first `|` or `#` always ends the fingerprint, whatever the key holds.
 */

/** ThresholdState is one key's window and alert state for a threshold rule. */
export interface ThresholdState extends WindowEntries {
  t: 'threshold';
  /** Newest item time seen for the key; the watermark is head − lateness. */
  head: number | null;
  /** How many entries (from the front) are settled: judged for good, in time order. */
  sn: number;
  /** Time of the newest evicted entry (it may continue a stretch of activity, see coveredAt). */
  tail: number | null;
  /** The settled condition holds (an episode is open). */
  firing: boolean;
  /** The open episode has been notified (false while muted by schedule, silence or cooldown). */
  notified: boolean;
  /** Item time of the last firing alert sent (repeat and cooldown measure from it). */
  lastNotifiedAt: number | null;
  /** An alert sent before its point settled: [at, id]; the settled sweep adopts it for its episode. */
  eager: [number, string] | null;
}

/** MatchState is one key's cooldown/resolve state for a plain rule. */
export interface MatchState {
  t: 'match';
  /** Item time of the last alert sent for the key. */
  lastAlertAt: number | null;
  /** A firing alert was sent and no resolved one since. */
  active: boolean;
  /** Id of that firing alert. */
  alertId: string | null;
}

/** AbsenceState is one key's dead-man's switch. */
export interface AbsenceState {
  t: 'absence';
  /** When a matching item was last received (clock time, epoch ms). */
  seenAt: number | null;
  /** When the current quiet spell was alerted, or null. */
  alertedAt: number | null;
  /** Start of the alerted quiet spell (the alert ids derive from it). */
  spell: number | null;
}

/** DigestEntry is one alert folded into a digest (only what the digest message shows). */
export interface DigestEntry {
  id: string;
  key: string;
  name: string;
  title: string;
  status: 'firing' | 'resolved';
  simulation: boolean;
}

/** DigestState is one rule's open digest bucket. */
export interface DigestState {
  t: 'digest';
  /** When the bucket opened (clock time: the first alert's receivedAt or tick). */
  openedAt: number;
  /** When it flushes, for digests by time of day or schedule (an `every` bucket flushes `every` later). */
  dueAt?: number;
  count: number;
  simulated: number;
  /** The first alerts (at most DIGEST_MAX_ENTRIES); `count` keeps counting beyond. */
  entries: DigestEntry[];
  /** Distinct keys in order of first appearance (at most DIGEST_MAX_KEYS). */
  keys: string[];
  /** Display names of those keys. */
  names: string[];
}

/** MetaState is per-rule bookkeeping: when an absence rule started watching its people. */
export interface MetaState {
  t: 'meta';
  armedAt: number;
}

/** KeyState is any one persisted value. */
export type KeyState = ThresholdState | MatchState | AbsenceState | DigestState | MetaState;

/** PerKeyState is a value stored per key (the others are per rule). */
export type PerKeyState = ThresholdState | MatchState | AbsenceState;

/** RuleState is the state of one rule (one fingerprint), with what changed since the last takeChanges. */
export interface RuleState {
  readonly keys: Map<string, PerKeyState>;
  digest: DigestState | undefined;
  meta: MetaState | undefined;
  /** Keys written or deleted since the last takeChanges. */
  readonly dirtyKeys: Set<string>;
  dirtyDigest: boolean;
  dirtyMeta: boolean;
}

/**
 * RuleStateMap is the whole rule state: fingerprint → RuleState, and beside it the engine's cache of
 * memos for this state (never persisted; see cache.ts).
 */
export interface RuleStateMap {
  readonly rules: Map<string, RuleState>;
  readonly cache: EngineCache;
}

/** StateChange is one row to write (value) or delete (value undefined). */
export interface StateChange {
  key: string;
  value: KeyState | undefined;
}

/** createState returns an empty state map (with an empty cache). */
export function createState(): RuleStateMap {
  return { rules: new Map(), cache: createCache() };
}

function newRuleState(): RuleState {
  return {
    keys: new Map(),
    digest: undefined,
    meta: undefined,
    dirtyKeys: new Set(),
    dirtyDigest: false,
    dirtyMeta: false,
  };
}

/** ruleState returns the state of one rule, creating it on first use. */
export function ruleState(state: RuleStateMap, fingerprint: string): RuleState {
  let rule = state.rules.get(fingerprint);
  if (!rule) {
    rule = newRuleState();
    state.rules.set(fingerprint, rule);
  }
  return rule;
}

/** putKey stores one key's value and marks it changed. */
export function putKey(rule: RuleState, key: string, value: PerKeyState): void {
  rule.keys.set(key, value);
  rule.dirtyKeys.add(key);
}

/**
 * storeKey is putKey for a value that may have been read from the rule (`stored`) and changed in place:
 * then only the change is marked. It saves a map write per rule and item on the hot path.
 */
export function storeKey(
  rule: RuleState,
  key: string,
  value: PerKeyState,
  stored: PerKeyState | undefined,
): void {
  if (stored !== value) rule.keys.set(key, value);
  rule.dirtyKeys.add(key);
}

/** deleteKey removes one key's value and marks the deletion. */
export function deleteKey(rule: RuleState, key: string): void {
  if (rule.keys.delete(key)) rule.dirtyKeys.add(key);
}

/** setDigest stores (or with undefined, deletes) a rule's digest bucket and marks it changed. */
export function setDigest(rule: RuleState, digest: DigestState | undefined): void {
  rule.digest = digest;
  rule.dirtyDigest = true;
}

/** setMeta stores a rule's bookkeeping and marks it changed. */
export function setMeta(rule: RuleState, meta: MetaState): void {
  rule.meta = meta;
  rule.dirtyMeta = true;
}

/** keyStateKey is the row key of one rule's per-key state. */
export function keyStateKey(fingerprint: string, key: string): string {
  return `${fingerprint}|${key}`;
}

/** ruleStateKey is the row key of one rule's per-rule state. */
export function ruleStateKey(fingerprint: string, name: 'digest' | 'meta'): string {
  return `${fingerprint}#${name}`;
}

/** parseStateKey splits a row key into its fingerprint and either a key or a per-rule name. */
export function parseStateKey(stateKey: string): { fingerprint: string; key?: string; name?: string } {
  const bar = stateKey.indexOf('|');
  const hash = stateKey.indexOf('#');
  if (bar >= 0 && (hash < 0 || bar < hash))
    return { fingerprint: stateKey.slice(0, bar), key: stateKey.slice(bar + 1) };
  if (hash >= 0) return { fingerprint: stateKey.slice(0, hash), name: stateKey.slice(hash + 1) };
  return { fingerprint: stateKey };
}

/** hasChanges says whether anything changed since the last takeChanges. */
export function hasChanges(state: RuleStateMap): boolean {
  for (const rule of state.rules.values()) {
    if (rule.dirtyKeys.size > 0 || rule.dirtyDigest || rule.dirtyMeta) return true;
  }
  return false;
}

/**
 * takeChanges returns the rows changed since the last call (value undefined = delete) and forgets them.
 * Write them in the transaction that stores the notifications and advances the cursor.
 */
export function takeChanges(state: RuleStateMap): StateChange[] {
  const changes: StateChange[] = [];
  for (const [fingerprint, rule] of state.rules) {
    for (const key of rule.dirtyKeys)
      changes.push({ key: keyStateKey(fingerprint, key), value: rule.keys.get(key) });
    if (rule.dirtyDigest) changes.push({ key: ruleStateKey(fingerprint, 'digest'), value: rule.digest });
    if (rule.dirtyMeta) changes.push({ key: ruleStateKey(fingerprint, 'meta'), value: rule.meta });
    rule.dirtyKeys.clear();
    rule.dirtyDigest = false;
    rule.dirtyMeta = false;
    if (rule.keys.size === 0 && !rule.digest && !rule.meta) state.rules.delete(fingerprint);
  }
  return changes;
}

/** stateRows lists every row (row key and value), sorted by row key. */
export function stateRows(state: RuleStateMap): Array<[string, KeyState]> {
  const rows: Array<[string, KeyState]> = [];
  for (const [fingerprint, rule] of state.rules) {
    for (const [key, value] of rule.keys) rows.push([keyStateKey(fingerprint, key), value]);
    if (rule.digest) rows.push([ruleStateKey(fingerprint, 'digest'), rule.digest]);
    if (rule.meta) rows.push([ruleStateKey(fingerprint, 'meta'), rule.meta]);
  }
  return rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** serialiseState writes the whole state as JSON rows (sorted, so equal states give equal text). */
export function serialiseState(state: RuleStateMap): string {
  return JSON.stringify(stateRows(state));
}

const PER_KEY = new Set(['threshold', 'match', 'absence']);

/**
 * restoreState rebuilds a state map from serialiseState's JSON or from stored rows ([row key, value],
 * the value parsed or as JSON text). Rows of an unknown kind are skipped, so an old or foreign row cannot
 * crash the evaluator. The result has no pending changes.
 */
export function restoreState(input: string | Iterable<readonly [string, unknown]>): RuleStateMap {
  const state = createState();
  const rows: Iterable<readonly [string, unknown]> =
    typeof input === 'string' ? (JSON.parse(input) as Array<[string, unknown]>) : input;
  for (const [rowKey, raw] of rows) {
    const value = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
    if (value === null || typeof value !== 'object') continue;
    const kind = (value as { t?: unknown }).t;
    const parsed = parseStateKey(rowKey);
    if (parsed.key !== undefined && typeof kind === 'string' && PER_KEY.has(kind)) {
      ruleState(state, parsed.fingerprint).keys.set(parsed.key, value as PerKeyState);
    } else if (parsed.name === 'digest' && kind === 'digest') {
      ruleState(state, parsed.fingerprint).digest = value as DigestState;
    } else if (parsed.name === 'meta' && kind === 'meta') {
      ruleState(state, parsed.fingerprint).meta = value as MetaState;
    }
  }
  return state;
}

/**
 * retainStateFor drops the state of rules that are no longer in the rule set (removed, or changed so that
 * their fingerprint differs) and returns the row keys dropped, which takeChanges also reports as deletions.
 */
export function retainStateFor(ruleSet: CompiledRuleSet, state: RuleStateMap): string[] {
  const dropped: string[] = [];
  for (const [fingerprint, rule] of state.rules) {
    if (ruleSet.fingerprints.has(fingerprint)) continue;
    for (const key of [...rule.keys.keys()]) {
      deleteKey(rule, key);
      dropped.push(keyStateKey(fingerprint, key));
    }
    if (rule.digest) {
      setDigest(rule, undefined);
      dropped.push(ruleStateKey(fingerprint, 'digest'));
    }
    if (rule.meta) {
      rule.meta = undefined;
      rule.dirtyMeta = true;
      dropped.push(ruleStateKey(fingerprint, 'meta'));
    }
  }
  return dropped;
}

/** stateSize counts the stored rows (for metrics and tests). */
export function stateSize(state: RuleStateMap): number {
  let size = 0;
  for (const rule of state.rules.values())
    size += rule.keys.size + (rule.digest ? 1 : 0) + (rule.meta ? 1 : 0);
  return size;
}
