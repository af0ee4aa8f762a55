import { describe, expect, it } from 'vitest';
import { compileCondition } from '../rules/match.js';
import { compileLinearRegex } from './linear-regex.js';

/** compile turns a condition into its test, or the problems it was refused with. */
function compile(condition: Record<string, unknown>) {
  const problems: string[] = [];
  const compiled = compileCondition(condition as never, (path, message) =>
    problems.push(`${path.join('.')}: ${message}`),
  );
  return { compiled, problems };
}

describe('rule regexes run in linear time (issue 15 §1)', () => {
  it('answers a catastrophic-backtracking pattern on a hostile 5,000-character input', () => {
    // With a backtracking engine this test never returns: (a+)+$ tries 2^5000 ways to split the a's.
    const { compiled, problems } = compile({ 'app.name': { regex: '(a+)+$' } });
    expect(problems).toEqual([]);
    expect(compiled.test({ app: { name: `${'a'.repeat(5_000)}!` } })).toBe(false);
    expect(compiled.test({ app: { name: 'aaaa' } })).toBe(true);
  });

  it.each([
    ['(a)\\1', 'the backreference \\1'],
    ['(?<x>a)\\k<x>', 'the named backreference'],
    ['Steam(?= )', 'the lookahead'],
    ['Steam(?!x)', 'the negative lookahead'],
    ['(?<=a)b', 'the lookbehind'],
    ['/(?<!a)b/i', 'the negative lookbehind'],
  ])('refuses %s with the reason and a hint', (pattern, construct) => {
    const { problems } = compile({ 'app.name': { regex: pattern } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(
      `app.name.regex: regular expression ${JSON.stringify(pattern)} uses ${construct}`,
    );
    expect(problems[0]).toContain('RE2, in linear time');
  });

  it('reports a pattern RE2 cannot parse with its reason', () => {
    const result = compileLinearRegex('a{1001}');
    expect(result).toMatch(/^invalid regular expression "a\{1001\}": invalid repeat count/);
  });

  it.each([
    ['^Google', 'Google Chrome', true],
    ['^google', 'Google Chrome', false],
    ['/^google/i', 'Google Chrome', true],
    ['/^a.b$/s', 'a\nb', true],
    ['^a.b$', 'a\nb', false],
    ['/^b$/m', 'a\nb', true],
    ['^b$', 'a\nb', false],
    ['caf\\u00e9', 'café', true],
    ['\\d{2,}', 'x42', true],
    ['a/b', 'xa/b', true],
    ['[\\]]', ']', true],
    ['[(?=]', '=', true],
    ['(?<name>ab)+', 'abab', true],
    ['/a/gy', 'bab', true],
  ])('%s on %j is %s, as in JavaScript', (pattern, input, expected) => {
    const result = compileLinearRegex(pattern);
    if (typeof result === 'string') throw new Error(result);
    expect(result.test(input)).toBe(expected);
    // Stateless: the same answer twice (a /g JavaScript RegExp would alternate).
    expect(result.test(input)).toBe(expected);
  });
});
