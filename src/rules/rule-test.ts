import type { Alert } from '../domain/alert.js';
import type { Item } from '../domain/item.js';
import { formatWhen } from './schedule.js';
import type { RuleStateMap } from './state.js';
import { runTimeline } from './timeline.js';
import type { CompiledRuleSet, EvaluateOptions, Firing, RuleExplanation } from './types.js';

/*
 * Running one `tests:` entry of a rules file (`hookrelay test`): the items (already normalised from the
 * test's event files) go through a fresh state on the timeline serve would see (timeline.ts): they
 * arrive at their receivedAt and the clock ticks every second until `advance` after the last, so an
 * absence, a digest or a threshold held back by lateness fires in a test exactly when serve would send
 * it, and not at all if the test's clock does not get there. Then each expectation is checked, and
 * every alert no expectation accounts for fails the test unless `allowOthers` lets it. Pure: the CLI
 * reads the files, normalises them and prints.
 */

/** RuleTestExpectation is one `expect:` entry: alerts of a rule (to a destination, with a status). */
export interface RuleTestExpectation {
  rule: string;
  to?: string;
  /** Exactly this many alerts (default 1; 0 asserts there is none). */
  count?: number;
  status?: 'firing' | 'resolved';
}

/** RuleTestInput is one test, its events normalised into items. */
export interface RuleTestInput {
  items: readonly Item[];
  /** Keep the clock ticking this long after the last item's receivedAt (the test's `advance:`). */
  advanceMs?: number;
  expect: readonly RuleTestExpectation[];
  /**
   * Alerts no expectation names are failures unless this allows them: true for any, or the names of
   * the rules whose other alerts may come (`allowOthers: [forward-everything]`).
   */
  allowOthers?: boolean | readonly string[];
}

/** RuleTestResult says whether the test passed and, if not, each unmet expectation in words. */
export interface RuleTestResult {
  passed: boolean;
  failures: string[];
  firings: Firing[];
  /** When serve would have sent each firing (see runTimeline). */
  sentAt: number[];
  explanations?: RuleExplanation[];
}

function describeExpectation(expectation: RuleTestExpectation): string {
  const to = expectation.to === undefined ? '' : ` to ${expectation.to}`;
  const status = expectation.status === undefined ? '' : ` ${expectation.status}`;
  return `${expectation.rule}${status}${to}`;
}

function matches(firing: Firing, expectation: RuleTestExpectation): boolean {
  return (
    firing.alert.rule === expectation.rule &&
    (expectation.to === undefined || firing.destinations.includes(expectation.to)) &&
    (expectation.status === undefined || firing.alert.status === expectation.status)
  );
}

/** describeAlert names an alert for people: rule, status, person, item and time in the rule's timezone. */
export function describeAlert(ruleSet: CompiledRuleSet, alert: Alert): string {
  const timezone = ruleSet.byName.get(alert.rule)?.timezone ?? 'UTC';
  const who = alert.person?.name ?? (alert.key === '' ? undefined : alert.key);
  const what = alert.item
    ? `item ${alert.item.id} at ${formatWhen(alert.item.at, timezone)}`
    : `at ${formatWhen(alert.at, timezone)}`;
  return `${alert.rule} ${alert.status}${who === undefined ? '' : ` for ${who}`} (${what})`;
}

/**
 * heldBack lists, per threshold rule that waits for settlement (not an eager one, whose alerts go out on
 * arrival), the points still waiting for their lateness allowance.
 */
function heldBack(ruleSet: CompiledRuleSet, state: RuleStateMap): Array<{ rule: string; points: number }> {
  const held: Array<{ rule: string; points: number }> = [];
  for (const rule of ruleSet.thresholdRules) {
    if (rule.threshold?.eager) continue;
    let points = 0;
    for (const value of state.rules.get(rule.fingerprint)?.keys.values() ?? []) {
      if (value.t === 'threshold') points += value.at.length - value.sn;
    }
    if (points > 0) held.push({ rule: rule.name, points });
  }
  return held;
}

/** runRuleTest runs one rules-file test and checks its expectations. */
export function runRuleTest(
  ruleSet: CompiledRuleSet,
  test: RuleTestInput,
  options: EvaluateOptions = {},
): RuleTestResult {
  const timeline = runTimeline(ruleSet, test.items, {
    advanceMs: test.advanceMs ?? 0,
    explain: options.explain === true,
  });
  const { firings } = timeline;
  const failures: string[] = [];
  const short = new Set<string>();
  for (const expectation of test.expect) {
    const rule = ruleSet.byName.get(expectation.rule);
    if (!rule) {
      failures.push(`expected alerts of rule "${expectation.rule}", which is not defined`);
      continue;
    }
    if (expectation.to !== undefined && !rule.to.includes(expectation.to)) {
      failures.push(
        `rule "${expectation.rule}" does not send to "${expectation.to}" (it sends to ${rule.to.join(', ')})`,
      );
      continue;
    }
    const wanted = expectation.count ?? 1;
    const got = firings.filter((firing) => matches(firing, expectation)).length;
    if (got !== wanted) {
      if (got < wanted) short.add(expectation.rule);
      failures.push(
        `expected ${wanted} alert${wanted === 1 ? '' : 's'} of ${describeExpectation(expectation)}, got ${got}`,
      );
    }
  }
  const allow = test.allowOthers ?? false;
  if (Array.isArray(allow)) {
    for (const name of allow) {
      if (!ruleSet.byName.has(name)) failures.push(`allowOthers names rule "${name}", which is not defined`);
    }
  }
  if (allow !== true) {
    const allowed = new Set<string>(Array.isArray(allow) ? allow : []);
    for (const firing of firings) {
      if (allowed.has(firing.alert.rule) || test.expect.some((e) => matches(firing, e))) continue;
      failures.push(
        `unexpected alert: ${describeAlert(ruleSet, firing.alert)} to ${firing.destinations.join(', ')}`,
      );
    }
  }
  const stoppedAt = timeline.endedAt;
  if (short.size > 0 && stoppedAt !== undefined) {
    for (const { rule, points } of heldBack(ruleSet, timeline.state)) {
      if (!short.has(rule)) continue;
      const threshold = ruleSet.byName.get(rule)?.config.threshold;
      const lateness = threshold?.lateness ?? threshold?.window;
      failures.push(
        `rule ${rule} still held back ${points} point(s) for their lateness (${lateness}) when the clock stopped at ${new Date(stoppedAt).toISOString()}: add advance: ${lateness} (or more) to judge them as serve would`,
      );
    }
  }
  const result: RuleTestResult = {
    passed: failures.length === 0,
    failures,
    firings,
    sentAt: timeline.sentAt,
  };
  if (timeline.explanations) result.explanations = timeline.explanations;
  return result;
}
