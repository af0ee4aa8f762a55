import type { Item } from '../domain/item.js';
import type { CompiledRule } from './types.js';

/*
 * The index from an item to the rules that may care about it, so an item costs only the rules that watch
 * it: an exact map from event type plus the rules with globs, bucketed per event type (memoised, bounded
 * for sources that send unbounded event names); rules scoped with users:/teams: are reachable only
 * through those users and teams, merged into rule order once per pair.
 */

// Bounds the per-event-type memo when a source sends unbounded event names.
const MAX_BUCKETS = 1_000;

interface Bucket {
  unscoped: CompiledRule[];
  byUser: Map<string, CompiledRule[]>;
  byTeam: Map<string, CompiledRule[]>;
  /** Merged candidate lists per user and team, so merging happens once per pair, not per item. */
  merged: Map<string, Map<string, CompiledRule[]>>;
}

// Bounds each bucket's memo of merged lists (users seen with scoped rules).
const MAX_MERGED = 50_000;

function mergeByIndex(lists: ReadonlyArray<readonly CompiledRule[]>): CompiledRule[] {
  const merged = lists.flat();
  merged.sort((a, b) => a.index - b.index);
  return merged;
}

/**
 * buildCandidateIndex returns CompiledRuleSet.candidates for these rules: the rules that may care about an
 * item, in rule order.
 */
export function buildCandidateIndex(rules: readonly CompiledRule[]): (item: Item) => readonly CompiledRule[] {
  const exact = new Map<string, CompiledRule[]>();
  const wildcard: CompiledRule[] = [];
  for (const rule of rules) {
    for (const event of rule.on.exact) {
      const list = exact.get(event) ?? [];
      if (!list.includes(rule)) list.push(rule);
      exact.set(event, list);
    }
    if (rule.on.any || rule.on.globs.length > 0) wildcard.push(rule);
  }
  const buckets = new Map<string, Bucket>();
  const bucketFor = (event: string): Bucket => {
    let bucket = buckets.get(event);
    if (bucket) return bucket;
    const seen = new Set<CompiledRule>(exact.get(event) ?? []);
    for (const rule of wildcard) if (rule.on.test(event)) seen.add(rule);
    const all = [...seen].sort((a, b) => a.index - b.index);
    bucket = { unscoped: [], byUser: new Map(), byTeam: new Map(), merged: new Map() };
    for (const rule of all) {
      // A rule scoped to users is reachable only through those users; the matcher still checks teams.
      if (rule.users) {
        for (const user of rule.users) bucket.byUser.set(user, [...(bucket.byUser.get(user) ?? []), rule]);
      } else if (rule.teams) {
        for (const team of rule.teams) bucket.byTeam.set(team, [...(bucket.byTeam.get(team) ?? []), rule]);
      } else bucket.unscoped.push(rule);
    }
    if (buckets.size >= MAX_BUCKETS) buckets.clear();
    buckets.set(event, bucket);
    return bucket;
  };
  const none: readonly CompiledRule[] = [];
  return (item) => {
    const bucket = bucketFor(item.event);
    const byUser = item.user === undefined ? undefined : bucket.byUser.get(item.user);
    const byTeam = item.team === undefined ? undefined : bucket.byTeam.get(item.team);
    if (byUser === undefined && byTeam === undefined)
      return bucket.unscoped.length === 0 ? none : bucket.unscoped;
    const user = byUser === undefined ? '' : (item.user as string);
    const team = byTeam === undefined ? '' : (item.team as string);
    let perTeam = bucket.merged.get(user);
    let merged = perTeam?.get(team);
    if (merged) return merged;
    merged = mergeByIndex([bucket.unscoped, byUser ?? none, byTeam ?? none]);
    if (bucket.merged.size >= MAX_MERGED) bucket.merged.clear();
    if (!perTeam) {
      perTeam = new Map();
      bucket.merged.set(user, perTeam);
    }
    perTeam.set(team, merged);
    return merged;
  };
}
