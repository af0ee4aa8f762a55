import type { Item } from '../domain/item.js';
import { parseDurationMs } from '../lib/duration.js';
import {
  type CompiledRuleSet,
  createState,
  type Evaluation,
  type Firing,
  type RuleExplanation,
  replay,
  type Step,
} from '../rules/engine.js';

/** RuleTestCase is one `tests:` entry with its events already normalised into items. */
export interface RuleTestCase {
  name: string;
  items: Item[];
  advance?: string;
  expect: Array<{ rule: string; to?: string; count?: number; status?: 'firing' | 'resolved' }>;
}

export interface RuleTestResult {
  name: string;
  passed: boolean;
  /** One line per expectation that did not hold, and per alert nobody expected. */
  failures: string[];
  firings: Firing[];
  explanations: RuleExplanation[];
}

interface Sent {
  rule: string;
  to: string;
  status: 'firing' | 'resolved';
}

function describeExpectation(e: RuleTestCase['expect'][number]): string {
  const parts = [`rule ${e.rule}`];
  if (e.to !== undefined) parts.push(`to ${e.to}`);
  if (e.status !== undefined) parts.push(`status ${e.status}`);
  return parts.join(', ');
}

/**
 * runRuleTest feeds a test's items through a fresh rule state (as the evaluator would, ordered by their
 * own time), moves the clock on by `advance` for absence and digest rules, settles what is still waiting,
 * then compares the alerts with `expect`: each entry must match exactly `count` (default 1) alert
 * deliveries, and every delivery must be expected by some entry.
 */
export function runRuleTest(ruleSet: CompiledRuleSet, test: RuleTestCase, explain = false): RuleTestResult {
  const items = [...test.items].sort((a, b) => a.receivedAt - b.receivedAt);
  const steps: Step[] = items.map((item) => ({ item }));
  const last = items.reduce((max, item) => Math.max(max, item.receivedAt, item.at), 0);
  if (test.advance !== undefined) {
    const advanceMs = parseDurationMs(test.advance) ?? 0;
    // A few ticks on the way, so clock-driven rules see time pass as they would live.
    for (let i = 1; i <= 4; i++) steps.push({ tick: last + (advanceMs * i) / 4 });
  }
  const evaluation: Evaluation = replay(ruleSet, createState(), steps, { settle: true, explain });
  const sent: Sent[] = evaluation.firings.flatMap((firing) =>
    firing.destinations.map((to) => ({ rule: firing.alert.rule, to, status: firing.alert.status })),
  );

  const failures: string[] = [];
  const claimed = new Set<number>();
  for (const expectation of test.expect) {
    const want = expectation.count ?? 1;
    const matching = sent
      .map((s, index) => ({ s, index }))
      .filter(
        ({ s }) =>
          s.rule === expectation.rule &&
          (expectation.to === undefined || s.to === expectation.to) &&
          (expectation.status === undefined || s.status === expectation.status),
      );
    for (const { index } of matching) claimed.add(index);
    if (matching.length !== want) {
      failures.push(
        `expected ${want} alert(s) for ${describeExpectation(expectation)}, got ${matching.length}`,
      );
    }
  }
  sent.forEach((s, index) => {
    if (!claimed.has(index)) failures.push(`unexpected alert: rule ${s.rule} to ${s.to} (${s.status})`);
  });
  return {
    name: test.name,
    passed: failures.length === 0,
    failures,
    firings: evaluation.firings,
    explanations: evaluation.explanations ?? [],
  };
}
