import type { Alert } from '../domain/alert.js';
import type { Item } from '../domain/item.js';
import { createState, replay, type Step } from './engine.js';
import type { CompiledRuleSet, EvaluateOptions, Firing, RuleExplanation } from './types.js';

/*
 * Running one `tests:` entry of a rules file (`hookrelay test`): the items (already normalised from the
 * test's event files) go through a fresh state in order; with `advanceMs`, the clock then moves on and
 * ticks, so absence and digest rules can fire; everything still waiting for its lateness allowance is
 * settled, as the end of the stream. Then each expectation is checked. Pure: the CLI reads the files,
 * normalises them and prints.
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
  /** Move the clock this far past the last item's receivedAt and tick (the test's `advance:`). */
  advanceMs?: number;
  expect: readonly RuleTestExpectation[];
}

/** RuleTestResult says whether the test passed and, if not, each unmet expectation in words. */
export interface RuleTestResult {
  passed: boolean;
  failures: string[];
  firings: Firing[];
  explanations?: RuleExplanation[];
}

function describeExpectation(expectation: RuleTestExpectation): string {
  const to = expectation.to === undefined ? '' : ` to ${expectation.to}`;
  const status = expectation.status === undefined ? '' : ` ${expectation.status}`;
  return `${expectation.rule}${status}${to}`;
}

function countMatching(firings: readonly Firing[], expectation: RuleTestExpectation): Alert[] {
  return firings
    .filter(
      (firing) =>
        firing.alert.rule === expectation.rule &&
        (expectation.to === undefined || firing.destinations.includes(expectation.to)) &&
        (expectation.status === undefined || firing.alert.status === expectation.status),
    )
    .map((firing) => firing.alert);
}

/**
 * runRuleTest runs one rules-file test and checks its expectations. Rules the test does not mention are
 * not checked, so a forward-everything rule does not have to be listed in every test.
 */
export function runRuleTest(
  ruleSet: CompiledRuleSet,
  test: RuleTestInput,
  options: EvaluateOptions = {},
): RuleTestResult {
  const steps: Step[] = test.items.map((item) => ({ item }));
  const last = test.items.reduce(
    (latest, item) => Math.max(latest, item.receivedAt),
    Number.NEGATIVE_INFINITY,
  );
  if (Number.isFinite(last)) {
    // A first tick arms absence rules at the start of the test, as a running evaluator would be armed.
    const first = test.items.reduce(
      (earliest, item) => Math.min(earliest, item.receivedAt),
      Number.POSITIVE_INFINITY,
    );
    steps.unshift({ tick: first });
    steps.push({ tick: last });
    if (test.advanceMs !== undefined) steps.push({ tick: last + test.advanceMs });
  }
  const replayOptions: EvaluateOptions & { settle: boolean } = { settle: true };
  if (options.explain) replayOptions.explain = true;
  const evaluation = replay(ruleSet, createState(), steps, replayOptions);
  const failures: string[] = [];
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
    const got = countMatching(evaluation.firings, expectation).length;
    if (got !== wanted) {
      failures.push(
        `expected ${wanted} alert${wanted === 1 ? '' : 's'} of ${describeExpectation(expectation)}, got ${got}`,
      );
    }
  }
  const result: RuleTestResult = { passed: failures.length === 0, failures, firings: evaluation.firings };
  if (evaluation.explanations) result.explanations = evaluation.explanations;
  return result;
}
