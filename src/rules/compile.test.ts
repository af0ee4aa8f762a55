import { describe, expect, it } from 'vitest';
import { compileRules } from './compile.js';
import { ruleSchema, silenceSchema } from './schema.js';
import { makeBenchRuleSet } from './testdata/bench-rules.js';
import { ADA, appItem, PEOPLE, SCHEDULES, screenshotItem } from './testdata/items.js';

const APP = 'desktop.app_tracking.captured';
const SHOT = 'desktop.screenshot_tracking.captured';

function compile(rules: unknown[], silences: unknown[] = []) {
  return compileRules({
    rules: rules.map((rule) => ruleSchema.parse(rule)),
    people: [...PEOPLE, { id: 'u-ada-2', name: 'Ada Byron' }, { id: 'u-ada-3', name: 'Ada Byron' }],
    schedules: SCHEDULES,
    silences: silences.map((silence) => silenceSchema.parse(silence)),
  });
}

const base = { name: 'r', on: APP, to: ['d'] };

describe('problems', () => {
  it.each([
    {
      name: 'a bad regex',
      rule: { ...base, if: { 'app.name': { regex: '(steam' } } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'if', 'app.name', 'regex'],
        message: expect.stringMatching(/^invalid regular expression "\(steam"/),
      },
    },
    {
      name: 'a template that does not parse',
      rule: { ...base, message: { title: '{{ user ' } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'message', 'title'],
        message: expect.stringMatching(/^template: /),
      },
    },
    {
      name: 'an unknown filter',
      rule: { ...base, message: { text: '{{ value | durration }}' } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'message', 'text'],
        message: 'template: undefined filter: durration, line:1, col:1',
      },
    },
    {
      name: 'a file tag',
      rule: { ...base, message: { text: '{% include "secrets.txt" %}' } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'message', 'text'],
        message: expect.stringMatching(/include %\} tag is not available/),
      },
    },
    {
      name: 'a threshold on a field the event type never has (a warning)',
      rule: { ...base, on: SHOT, threshold: { window: '1h', sum: 'time.durationInSeconds', gte: 1800 } },
      problem: {
        severity: 'warning',
        path: ['rules', 0, 'threshold', 'sum'],
        message:
          'desktop.screenshot_tracking.captured items never have time.durationInSeconds, so this threshold never sees a value',
      },
    },
    {
      name: 'a condition on a field the event types never have (a warning)',
      rule: { ...base, on: 'desktop.*', if: { 'screenshot.isIdel': true } },
      problem: {
        severity: 'warning',
        path: ['rules', 0, 'if'],
        message: expect.stringMatching(/items never have screenshot\.isIdel$/),
      },
    },
    {
      name: 'an ambiguous name',
      rule: { ...base, users: ['ada byron'] },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'users', 0],
        message: '"ada byron" names 2 people (u-ada-2, u-ada-3); use the id',
      },
    },
    {
      name: 'no aggregate',
      rule: { ...base, threshold: { window: '1h', gte: 3 } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'threshold'],
        message: 'a threshold needs one aggregate: count, sum, avg, min, max or ratio',
      },
    },
    {
      name: 'two aggregates',
      rule: { ...base, threshold: { window: '1h', count: 3, sum: 'time.durationInSeconds' } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'threshold'],
        message: 'a threshold takes one aggregate, got count and sum',
      },
    },
    {
      name: 'count: n with a comparison',
      rule: { ...base, threshold: { window: '1h', count: 3, lt: 5 } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'threshold', 'lt'],
        message: 'count: 3 already means "at least 3"; to compare the count, write count: true with lt',
      },
    },
    {
      name: 'sum without a comparison',
      rule: { ...base, threshold: { window: '1h', sum: 'time.durationInSeconds' } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'threshold'],
        message: 'sum needs one comparison: gt, gte, lt or lte (e.g. gte: 1800)',
      },
    },
    {
      name: 'minCount on a gte threshold (a warning)',
      rule: { ...base, threshold: { window: '1h', count: true, gte: 3, minCount: 2 } },
      problem: {
        severity: 'warning',
        path: ['rules', 0, 'threshold', 'minCount'],
        message: 'minCount only applies to lt/lte thresholds ("low activity")',
      },
    },
    {
      name: 'a rule without on',
      rule: { name: 'r', to: ['d'] },
      problem: { severity: 'error', path: ['rules', 0], message: expect.stringMatching(/^missing on/) },
    },
    {
      name: 'an absence rule with on',
      rule: { ...base, absent: { on: APP, for: '30m' } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'on'],
        message: 'an absence rule watches absent.on; remove on',
      },
    },
    {
      name: 'per outside the threshold',
      rule: { ...base, per: 'team', threshold: { window: '1h', count: 3 } },
      problem: {
        severity: 'error',
        path: ['rules', 0, 'per'],
        message: 'for a threshold rule, write per inside threshold',
      },
    },
  ])('$name', ({ rule, problem }) => {
    const ruleSet = compile([rule]);
    expect(ruleSet.problems).toEqual([{ ruleIndex: 0, ...problem }]);
    expect(ruleSet.ok).toBe(problem.severity !== 'error');
    expect(ruleSet.rules).toHaveLength(problem.severity === 'error' ? 0 : 1);
  });

  it.each([
    { name: 'a duplicate rule name', rules: [base, { ...base, on: SHOT }], unresolved: ['rules[1].name'] },
    {
      name: 'an undefined schedule',
      rules: [{ ...base, during: 'work-hour' }],
      unresolved: ['rules[0].during'],
    },
    {
      name: 'an unknown person',
      rules: [{ ...base, users: ['Ada Lovelace', 'Charles Babbage'] }],
      unresolved: ['rules[0].users[1]'],
    },
    {
      name: 'an undefined digest schedule',
      rules: [{ ...base, digest: { schedule: 'nights' } }],
      unresolved: ['rules[0].digest.schedule'],
    },
  ])(
    'references are the loader’s to report (config/cross-refs.ts): $name leaves the rule out, unworded',
    ({ rules, unresolved }) => {
      const ruleSet = compile(rules);
      expect(ruleSet.problems).toEqual([]);
      expect(ruleSet.unresolved).toEqual(unresolved);
      expect(ruleSet.ok).toBe(false);
      expect(ruleSet.rules.map((rule) => rule.index)).toEqual(rules.length === 2 ? [0] : []);
    },
  );

  it('silences: bad times; an undefined schedule leaves the silence out', () => {
    const ruleSet = compile(
      [base],
      [
        { name: 's', rules: ['nope'], starts: 'tomorrow', during: 'nights' },
        { starts: '2026-03-02T10:00:00Z', ends: '2026-03-02T09:00:00Z', matchers: { user: ADA } },
        { comment: 'mutes everything' },
      ],
    );
    expect(ruleSet.unresolved).toEqual(['silences[0].during']);
    expect(ruleSet.problems).toEqual([
      {
        severity: 'error',
        path: ['silences', 0, 'starts'],
        message: '"tomorrow" is not a time such as 2026-03-02T14:00:00Z',
      },
      { severity: 'error', path: ['silences', 1, 'ends'], message: 'ends must be after starts' },
      {
        severity: 'warning',
        path: ['silences', 2],
        message: 'this silence has no matchers and no rules, so it mutes every alert while active',
      },
    ]);
  });

  it('schedules', () => {
    const ruleSet = compileRules({ rules: [], schedules: { bad: { timezone: 'Mars/Olympus' } } });
    expect(ruleSet.problems).toEqual([
      {
        severity: 'error',
        path: ['schedules', 'bad', 'timezone'],
        message: 'unknown timezone "Mars/Olympus"',
      },
    ]);
  });
});

describe('fingerprints', () => {
  const fingerprint = (rule: unknown) => compile([rule]).rules[0]?.fingerprint;
  const rule = {
    name: 'idle',
    on: SHOT,
    if: { 'screenshot.isIdle': true },
    threshold: { window: '30m', count: 3 },
    to: ['d'],
  };

  it.each([
    { change: 'message', changed: { message: { title: 'x' } }, same: true },
    { change: 'destinations', changed: { to: ['a', 'b'] }, same: true },
    { change: 'severity', changed: { severity: 'critical' }, same: true },
    { change: 'schedule', changed: { during: 'work-hours' }, same: true },
    {
      change: 'users by name instead of id',
      changed: { users: ['Ada Lovelace'] },
      compareTo: { users: [ADA] },
      same: true,
    },
    { change: 'condition', changed: { if: { 'screenshot.isIdle': false } }, same: false },
    { change: 'window', changed: { threshold: { window: '1h', count: 3 } }, same: false },
    { change: 'name', changed: { name: 'idle-2' }, same: false },
    { change: 'simulation', changed: { simulation: 'ignore' }, same: false },
  ])('$change changed → same state: $same', ({ changed, compareTo, same }) => {
    const before = fingerprint({ ...rule, ...(compareTo ?? {}) });
    const after = fingerprint({ ...rule, ...changed });
    expect(after === before).toBe(same);
  });

  it('does not depend on key order in the file', () => {
    const reordered = {
      to: ['d'],
      threshold: { count: 3, window: '30m' },
      if: { 'screenshot.isIdle': true },
      on: SHOT,
      name: 'idle',
    };
    expect(fingerprint(reordered)).toBe(fingerprint(rule));
  });
});

describe('the index', () => {
  it('returns only the rules that watch the event type, user and team, in rule order', () => {
    const ruleSet = compile([
      { name: 'all', on: '*', to: ['d'] },
      { name: 'shots', on: SHOT, to: ['d'] },
      { name: 'desktop', on: 'desktop.*', to: ['d'] },
      { name: 'ada-apps', on: APP, users: [ADA], to: ['d'] },
      { name: 'ops-apps', on: APP, teams: ['t-ops'], to: ['d'] },
      { name: 'apps', on: [APP, 'github.push'], to: ['d'] },
    ]);
    const names = (item: Parameters<typeof ruleSet.candidates>[0]) =>
      ruleSet.candidates(item).map((r) => r.name);
    expect(names(appItem({ user: ADA }))).toEqual(['all', 'desktop', 'ada-apps', 'apps']);
    expect(names(appItem({ user: 'u-grace' }))).toEqual(['all', 'desktop', 'ops-apps', 'apps']);
    expect(names(screenshotItem())).toEqual(['all', 'shots', 'desktop']);
    expect(names({ ...appItem(), event: 'github.push' })).toEqual(['all', 'apps']);
  });

  it('keeps 10,000 rules cheap for an event few of them watch', () => {
    const ruleSet = makeBenchRuleSet(10_000);
    expect(ruleSet.rules).toHaveLength(10_000);
    const item = { ...appItem({ user: 'user-7' }), team: 'team-7' };
    expect(ruleSet.candidates(item).length).toBeLessThan(20);
  });
});
