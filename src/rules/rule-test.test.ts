import { describe, expect, it } from 'vitest';
import { runRuleTest } from './rule-test.js';
import { ADA, appItem, compileTestRules, HOUR, MINUTE, screenshotItem } from './testdata/items.js';

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
    const result = runRuleTest(rules, { items: idle, expect: expectations, allowOthers: true });
    expect(result.failures).toEqual(failures);
    expect(result.passed).toBe(failures.length === 0);
  });

  it('a digest is not flushed unless time passes: the clock must reach the digest interval', () => {
    const digest = compileTestRules([
      { name: 'steam', on: 'desktop.app_tracking.captured', digest: { every: '1h' }, to: ['d'] },
    ]);
    const items = [0, 1].map((m) => appItem({ t: m * MINUTE }));
    const expectOne = [{ rule: 'steam' }];
    expect(runRuleTest(digest, { items, expect: expectOne }).failures).toEqual([
      'expected 1 alert of steam, got 0',
    ]);
    // The bucket opened at the first item; the clock stops a minute short of its hour here.
    expect(runRuleTest(digest, { items, advanceMs: 58 * MINUTE, expect: expectOne }).passed).toBe(false);
    expect(runRuleTest(digest, { items, advanceMs: 59 * MINUTE, expect: expectOne }).failures).toEqual([]);
  });

  it('an absence rule with a schedule fires each stretch the clock steps through, as serve would', () => {
    const quiet = compileTestRules([
      {
        name: 'quiet-at-work',
        absent: { on: 'desktop.app_tracking.captured', for: '30m', watch: 'people' },
        users: [ADA],
        during: 'work-hours',
        to: ['d'],
      },
    ]);
    // Monday 10:00 Berlin; three days later it is Thursday 10:00: Mon, Tue, Wed and Thu morning.
    const items = [appItem({ t: 0 })];
    const alerts = (advance: number) =>
      runRuleTest(quiet, { items, advanceMs: advance, expect: [] }).firings.length;
    expect(alerts(24 * HOUR)).toBe(2);
    expect(alerts(3 * 24 * HOUR)).toBe(4);
  });

  it('an alert the test did not expect fails it, unless allowOthers says so', () => {
    const expectIdle = [{ rule: 'idle-screens' }];
    expect(runRuleTest(rules, { items: idle, expect: expectIdle }).failures).toEqual([
      'unexpected alert: forward-everything firing for Ada Lovelace (item shot-1 at 2026-03-02 09:00 UTC) to zapier',
      'unexpected alert: forward-everything firing for Ada Lovelace (item shot-2 at 2026-03-02 09:05 UTC) to zapier',
      'unexpected alert: forward-everything firing for Ada Lovelace (item shot-3 at 2026-03-02 09:10 UTC) to zapier',
    ]);
    expect(runRuleTest(rules, { items: idle, expect: expectIdle, allowOthers: true }).passed).toBe(true);
    expect(
      runRuleTest(rules, { items: idle, expect: expectIdle, allowOthers: ['forward-everything'] }).passed,
    ).toBe(true);
    expect(runRuleTest(rules, { items: idle, expect: expectIdle, allowOthers: ['went-quiet'] }).passed).toBe(
      false,
    );
  });

  it('a status or destination the expectation names leaves the other alerts of that rule unexpected', () => {
    const resolving = compileTestRules([
      {
        name: 'steam',
        on: 'desktop.app_tracking.captured',
        if: { 'app.name': 'Steam' },
        resolve: true,
        to: ['d'],
      },
    ]);
    const items = [appItem({ t: 0, app: 'Steam', id: 'a' }), appItem({ t: MINUTE, id: 'b' })];
    const result = runRuleTest(resolving, { items, expect: [{ rule: 'steam', status: 'firing' }] });
    expect(result.failures).toEqual([
      'unexpected alert: steam resolved for Ada Lovelace (item b at 2026-03-02 09:01 UTC) to d',
    ]);
  });

  it('says when held-back points were still waiting for their lateness as the clock stopped', () => {
    const low = compileTestRules([
      {
        name: 'low',
        on: 'desktop.app_tracking.captured',
        threshold: { window: '30m', ratio: 'time.durationInSeconds', lt: 0.5, minCount: 1, lateness: '5m' },
        if: { 'app.productivityStatus': 'productive' },
        to: ['d'],
      },
    ]);
    const items = [appItem({ t: 0, status: 'neutral' })];
    expect(runRuleTest(low, { items, expect: [{ rule: 'low' }] }).failures).toEqual([
      'expected 1 alert of low, got 0',
      'rule low still held back 1 point(s) for their lateness (5m) when the clock stopped at 2026-03-02T09:00:00.000Z: add advance: 5m (or more) to judge them as serve would',
    ]);
    expect(runRuleTest(low, { items, advanceMs: 5 * MINUTE + 1000, expect: [{ rule: 'low' }] }).passed).toBe(
      true,
    );
  });

  it('judges low-activity windows once their lateness has passed on the test clock, and ticks absence', () => {
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
