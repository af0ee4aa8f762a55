import { describe, expect, it } from 'vitest';
import { runRuleTest } from './rule-test.js';
import { ADA, appItem, compileTestRules, MINUTE, screenshotItem } from './testdata/items.js';

const rules = compileTestRules([
  {
    name: 'idle-screens',
    on: 'desktop.screenshot_tracking.captured',
    if: { 'screenshot.isIdle': true },
    threshold: { per: 'user', window: '30m', count: 3 },
    to: ['team-discord'],
  },
  {
    name: 'went-quiet',
    absent: { on: 'desktop.app_tracking.captured', for: '30m' },
    users: [ADA],
    to: ['team-discord'],
  },
  {
    name: 'low-activity',
    on: 'desktop.app_tracking.captured',
    if: { 'app.productivityStatus': 'productive' },
    threshold: { window: '30m', count: true, lt: 2, minCount: 3 },
    to: ['managers'],
  },
  { name: 'forward-everything', on: '*', to: ['zapier'] },
]);
const idle = [0, 5, 10].map((m) => screenshotItem({ t: m * MINUTE }));

describe('runRuleTest', () => {
  it.each([
    {
      name: 'three idle screenshots alert once',
      expect: [{ rule: 'idle-screens', to: 'team-discord' }],
      failures: [],
    },
    {
      name: 'a wrong count',
      expect: [{ rule: 'idle-screens', count: 2 }],
      failures: ['expected 2 alerts of idle-screens, got 1'],
    },
    { name: 'none expected', expect: [{ rule: 'low-activity', count: 0 }], failures: [] },
    {
      name: 'an unknown rule',
      expect: [{ rule: 'idle-screen' }],
      failures: ['expected alerts of rule "idle-screen", which is not defined'],
    },
    {
      name: 'a destination the rule does not use',
      expect: [{ rule: 'idle-screens', to: 'managers' }],
      failures: ['rule "idle-screens" does not send to "managers" (it sends to team-discord)'],
    },
    {
      name: 'a status',
      expect: [{ rule: 'idle-screens', status: 'resolved' as const }],
      failures: ['expected 1 alert of idle-screens resolved, got 0'],
    },
  ])('$name', ({ expect: expectations, failures }) => {
    const result = runRuleTest(rules, { items: idle, expect: expectations });
    expect(result.failures).toEqual(failures);
    expect(result.passed).toBe(failures.length === 0);
  });

  it('settles low-activity windows at the end, and advances the clock for absence', () => {
    const items = [0, 5, 10].map((m) => appItem({ t: m * MINUTE, status: 'neutral' }));
    const result = runRuleTest(rules, {
      items,
      advanceMs: 45 * MINUTE,
      expect: [
        { rule: 'low-activity', to: 'managers' },
        { rule: 'went-quiet' },
        { rule: 'forward-everything', count: 3 },
      ],
    });
    expect(result.failures).toEqual([]);
  });
});
