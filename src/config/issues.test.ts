import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_INVALID,
  CONFIG_ISSUE_CODES,
  describeValue,
  editDistance,
  formatIssue,
  formatPath,
  suggest,
} from './issues.js';

describe('formatIssue', () => {
  it('writes file:line:col path: message (hint)', () => {
    const line = formatIssue({
      code: 'HR_ERR_CONFIG_UNDEFINED_REFERENCE',
      file: 'rules.yaml',
      line: 12,
      col: 5,
      path: 'rules[2].to[0]',
      message: 'undefined destination "ops-slack"',
      hint: 'did you mean "team-slack"?',
    });
    expect(line).toBe(
      'rules.yaml:12:5 rules[2].to[0]: undefined destination "ops-slack" (did you mean "team-slack"?)',
    );
  });

  it('leaves out the position for whole-file issues and the path when there is none', () => {
    const base = { code: 'HR_ERR_CONFIG_UNREADABLE', file: 'rules.yaml', path: '', message: 'm' } as const;
    expect(formatIssue({ ...base, line: 0, col: 0 })).toBe('rules.yaml: m');
    expect(formatIssue({ ...base, line: 3, col: 1 })).toBe('rules.yaml:3:1: m');
  });
});

describe('formatPath', () => {
  it('joins keys with dots and indexes with brackets, quoting keys that would be ambiguous', () => {
    expect(formatPath(['rules', 2, 'to', 0])).toBe('rules[2].to[0]');
    expect(formatPath(['schedules', 'work-hours', 'days'])).toBe('schedules.work-hours.days');
    expect(formatPath(['rules', 0, 'if', 'app.name'])).toBe('rules[0].if["app.name"]');
    expect(formatPath(['sources', 'Track Pilots'])).toBe('sources["Track Pilots"]');
    expect(formatPath([1, 'id'])).toBe('[1].id');
    expect(formatPath([])).toBe('');
  });
});

describe('suggest', () => {
  it('finds the closest name within a typo distance', () => {
    expect(suggest('destination', ['version', 'destinations', 'rules'])).toBe('destinations');
    expect(suggest('ops-slack', ['console', 'team-slack'])).toBe('team-slack');
    expect(suggest('Slack', ['slack', 'discord'])).toBe('slack');
  });

  it('suggests nothing when every candidate is far off or identical', () => {
    expect(suggest('pagerduty', ['console', 'team-slack'])).toBeUndefined();
    expect(suggest('to', ['on', 'if'])).toBeUndefined();
    expect(suggest('same', ['same'])).toBeUndefined();
  });

  it('measures edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('describeValue', () => {
  it('says what a value is in plain words', () => {
    expect(describeValue(null)).toBe('nothing');
    expect(describeValue('5 minutes')).toBe('"5 minutes"');
    expect(describeValue(300)).toBe('300');
    expect(describeValue([])).toBe('an empty list');
    expect(describeValue({ a: 1 })).toBe('a map');
    expect(describeValue('x'.repeat(70))).toBe(`"${'x'.repeat(60)}…"`);
  });
});

describe('docs/configuration-errors.md', () => {
  it('explains every issue code', () => {
    const doc = readFileSync(
      fileURLToPath(new URL('../../docs/configuration-errors.md', import.meta.url)),
      'utf8',
    );
    const missing = [...CONFIG_ISSUE_CODES, CONFIG_INVALID].filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });
});
