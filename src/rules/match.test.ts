import { describe, expect, it } from 'vitest';
import { compileCondition, compileEventPattern, parseRegex, sameValue } from './match.js';
import type { Condition } from './schema.js';
import { appItem, REFERENCE_TIME } from './testdata/items.js';

const item = {
  ...appItem({ t: 0, status: 'neutral', seconds: 20, app: 'Google Chrome' }),
  tags: ['remote', 'night'],
  person: { id: 'u-ada', name: 'Ada Lovelace', team: 't-eng' },
};

function compile(condition: unknown) {
  const problems: string[] = [];
  const compiled = compileCondition(condition as Condition, (path, message) =>
    problems.push(`${path.join('.')}: ${message}`),
  );
  return { compiled, problems };
}

describe('operators', () => {
  // Each row: a condition, whether the item satisfies it, and the explanation when it does not.
  const cases: Array<{ name: string; condition: unknown; matches: boolean; reason?: string }> = [
    {
      name: 'equality shorthand, miss',
      condition: { 'app.productivityStatus': 'unproductive' },
      matches: false,
      reason: 'app.productivityStatus is "neutral", expected "unproductive"',
    },
    { name: 'equality shorthand, hit', condition: { 'app.productivityStatus': 'neutral' }, matches: true },
    { name: 'eq number', condition: { 'time.durationInSeconds': { eq: 20 } }, matches: true },
    {
      name: 'eq number against numeric string',
      condition: { 'time.durationInSeconds': { eq: '20' } },
      matches: true,
    },
    { name: 'eq boolean', condition: { simulation: false }, matches: true },
    { name: 'eq null matches missing', condition: { 'app.domain': null }, matches: true },
    {
      name: 'ne, miss',
      condition: { 'app.name': { ne: 'Google Chrome' } },
      matches: false,
      reason: 'app.name is "Google Chrome", expected not "Google Chrome"',
    },
    { name: 'ne on a missing field holds', condition: { 'app.domain': { ne: 'x' } }, matches: true },
    {
      name: 'in, hit',
      condition: { 'app.productivityStatus': { in: ['neutral', 'unproductive'] } },
      matches: true,
    },
    {
      name: 'in, miss',
      condition: { 'app.productivityStatus': { in: ['productive', 'unproductive'] } },
      matches: false,
      reason: 'app.productivityStatus is "neutral", expected one of "productive", "unproductive"',
    },
    { name: 'list shorthand means in', condition: { user: ['u-ada', 'u-alan'] }, matches: true },
    { name: 'nin, hit', condition: { 'app.name': { nin: ['Steam'] } }, matches: true },
    { name: 'nin, miss', condition: { 'app.name': { nin: ['Google Chrome'] } }, matches: false },
    { name: 'gt, boundary excluded', condition: { 'time.durationInSeconds': { gt: 20 } }, matches: false },
    { name: 'gte, boundary included', condition: { 'time.durationInSeconds': { gte: 20 } }, matches: true },
    {
      name: 'lt, boundary excluded',
      condition: { 'time.durationInSeconds': { lt: 20 } },
      matches: false,
      reason: 'time.durationInSeconds is 20, expected < 20',
    },
    { name: 'lte, boundary included', condition: { 'time.durationInSeconds': { lte: 20 } }, matches: true },
    { name: 'gt on a missing field fails', condition: { 'time.nothing': { gt: 0 } }, matches: false },
    { name: 'gt on a non-numeric string fails', condition: { 'app.name': { gt: 0 } }, matches: false },
    {
      name: 'between includes both ends (low)',
      condition: { 'time.durationInSeconds': { between: [20, 30] } },
      matches: true,
    },
    {
      name: 'between includes both ends (high)',
      condition: { 'time.durationInSeconds': { between: [10, 20] } },
      matches: true,
    },
    {
      name: 'between, miss',
      condition: { 'time.durationInSeconds': { between: [21, 30] } },
      matches: false,
      reason: 'time.durationInSeconds is 20, expected between 21 and 30',
    },
    { name: 'regex, hit', condition: { 'app.name': { regex: '^Google' } }, matches: true },
    {
      name: 'regex is case-sensitive by default',
      condition: { 'app.name': { regex: '^google' } },
      matches: false,
    },
    { name: 'regex literal with flags', condition: { 'app.name': { regex: '/^google/i' } }, matches: true },
    {
      name: 'regex on a missing field fails',
      condition: { 'app.domain': { regex: '.*' } },
      matches: false,
      reason: 'app.domain is missing, expected to match /.*/',
    },
    { name: 'exists true, hit', condition: { 'app.name': { exists: true } }, matches: true },
    {
      name: 'exists true, miss',
      condition: { 'screenshot.isIdle': { exists: true } },
      matches: false,
      reason: 'screenshot.isIdle is missing, expected to exist',
    },
    { name: 'exists false, hit', condition: { 'screenshot.isIdle': { exists: false } }, matches: true },
    { name: 'contains on a string', condition: { 'app.name': { contains: 'Chrome' } }, matches: true },
    { name: 'contains on a list', condition: { tags: { contains: 'night' } }, matches: true },
    {
      name: 'contains, miss',
      condition: { tags: { contains: 'office' } },
      matches: false,
      reason: 'tags is ["remote","night"], expected to contain "office"',
    },
    {
      name: 'several operators on a field all hold',
      condition: { 'time.durationInSeconds': { gte: 10, lt: 30 } },
      matches: true,
    },
    {
      name: 'several operators: the first failing one is named',
      condition: { 'time.durationInSeconds': { gte: 10, lt: 15 } },
      matches: false,
      reason: 'time.durationInSeconds is 20, expected < 15',
    },
    { name: 'person fields', condition: { 'person.name': 'Ada Lovelace' }, matches: true },
    {
      name: 'several fields: all must hold',
      condition: { user: 'u-ada', 'app.name': 'Steam' },
      matches: false,
      reason: 'app.name is "Google Chrome", expected "Steam"',
    },
    {
      name: 'all',
      condition: { all: [{ user: 'u-ada' }, { 'app.name': 'Steam' }] },
      matches: false,
      reason: 'app.name is "Google Chrome", expected "Steam"',
    },
    {
      name: 'any, hit',
      condition: { any: [{ user: 'u-alan' }, { 'app.name': 'Google Chrome' }] },
      matches: true,
    },
    {
      name: 'any, miss lists every alternative',
      condition: { any: [{ user: 'u-alan' }, { 'app.name': 'Steam' }] },
      matches: false,
      reason:
        'none of 2 alternatives matched: user is "u-ada", expected "u-alan"; app.name is "Google Chrome", expected "Steam"',
    },
    { name: 'not, hit', condition: { not: { 'app.name': 'Steam' } }, matches: true },
    {
      name: 'not, miss',
      condition: { not: { 'app.name': { regex: 'Chrome' } } },
      matches: false,
      reason: 'expected not: app.name matches /Chrome/',
    },
    {
      name: 'prototype properties are not fields',
      condition: { 'app.constructor': { exists: true } },
      matches: false,
    },
  ];

  it.each(cases)('$name', ({ condition, matches, reason }) => {
    const { compiled, problems } = compile(condition);
    expect(problems).toEqual([]);
    expect(compiled.test(item)).toBe(matches);
    if (matches) expect(compiled.explain(item)).toBeUndefined();
    else if (reason !== undefined) expect(compiled.explain(item)).toBe(reason);
    else expect(compiled.explain(item)).toEqual(expect.any(String));
  });
});

describe('compile problems', () => {
  it.each([
    {
      condition: { 'app.name': { regex: '(' } },
      problem: /^app\.name\.regex: invalid regular expression "\("/,
    },
    {
      condition: { all: [{ x: 1 }, { 'app.name': { regex: '[' } }] },
      problem: /^all\.1\.app\.name\.regex: invalid/,
    },
    { condition: { 'time.durationInSeconds': { between: [5, 1] } }, problem: /between \[5, 1\]/ },
    { condition: {}, problem: /an empty condition/ },
  ])('$problem', ({ condition, problem }) => {
    const { problems } = compile(condition);
    expect(problems).toEqual([expect.stringMatching(problem)]);
  });

  it('drops the stateful g and y regex flags, so repeated tests agree', () => {
    const regexp = parseRegex('/a/gy');
    expect(typeof regexp).not.toBe('string');
    const compiled = compile({ name: { regex: '/a/g' } }).compiled;
    const subject = { name: 'a' };
    expect([compiled.test(subject), compiled.test(subject), compiled.test(subject)]).toEqual([
      true,
      true,
      true,
    ]);
  });
});

describe('sameValue', () => {
  it.each([
    [20, '20', true],
    ['20', 20, true],
    [20, 20, true],
    [undefined, null, true],
    [0, false, false],
    ['true', true, false],
    [1, '1.0', false],
  ] as const)('%j vs %j → %j', (actual, expected, result) => {
    expect(sameValue(actual, expected)).toBe(result);
  });
});

describe('event patterns', () => {
  const events = [
    'desktop.app_tracking.captured',
    'desktop.screenshot_tracking.captured',
    'github.push',
    'desktopx.thing',
  ];
  it.each([
    { on: 'desktop.app_tracking.captured', matches: ['desktop.app_tracking.captured'] },
    { on: 'desktop.*', matches: ['desktop.app_tracking.captured', 'desktop.screenshot_tracking.captured'] },
    { on: '*.captured', matches: ['desktop.app_tracking.captured', 'desktop.screenshot_tracking.captured'] },
    {
      on: ['github.push', 'desktop.screenshot_tracking.captured'],
      matches: ['desktop.screenshot_tracking.captured', 'github.push'],
    },
    { on: '*', matches: events },
    { on: 'desktop.app_tracking', matches: [] },
  ])('$on', ({ on, matches }) => {
    const pattern = compileEventPattern(on);
    expect(events.filter((event) => pattern.test(event))).toEqual(matches);
  });

  it('escapes regex characters in globs', () => {
    expect(compileEventPattern('a.b*').test('aXb.c')).toBe(false);
  });
});

it('REFERENCE_TIME is the fixed Monday morning the tests use', () => {
  expect(new Date(REFERENCE_TIME).toISOString()).toBe('2026-03-02T09:00:00.000Z');
});
