import { describe, expect, it } from 'vitest';
import { compileTemplate } from './template.js';

// Monday 2026-03-30 07:30Z: 09:30 in Berlin on the first day of summer time.
const REFERENCE_TIME = Date.UTC(2026, 2, 30, 7, 30);

const scope = {
  user: 'u-ada',
  person: { name: 'Ada Lovelace' },
  app: { name: 'Steam <b>&</b> @everyone' },
  value: 3_900,
  ratio: 0.61803,
  at: REFERENCE_TIME,
  startDate: '2026-03-30T07:30:00.000Z',
  long: 'x'.repeat(100),
};

function render(source: string, values: Record<string, unknown> = scope): string {
  const compiled = compileTemplate(source);
  if ('error' in compiled) throw new Error(compiled.error);
  const result = compiled.template.render(values);
  if (result.error) throw new Error(result.error);
  return result.text;
}

describe('filters', () => {
  it.each([
    { source: '{{ person.name | default: user }}', out: 'Ada Lovelace' },
    { source: '{{ nobody.name | default: user }}', out: 'u-ada' },
    { source: '{{ value | duration }}', out: '1h 05m', note: 'seconds by default' },
    { source: '{{ 90000 | duration: "ms" }}', out: '1m 30s' },
    { source: '{{ 45 | duration: "m" }}', out: '45m 00s' },
    { source: '{{ "abc" | duration }}', out: 'abc', note: 'not a number: unchanged' },
    {
      source: '{{ at | date: "%Y-%m-%d %H:%M", "Europe/Berlin" }}',
      out: '2026-03-30 09:30',
      note: 'epoch ms',
    },
    { source: '{{ at | date: "%H:%M" }}', out: '07:30', note: 'UTC unless told' },
    {
      source: '{{ startDate | date: "%H:%M", "America/New_York" }}',
      out: '03:30',
      note: 'ISO text, in summer time',
    },
    { source: '{{ long | truncate: 10 }}', out: 'xxxxxxx...' },
    { source: '{{ ratio | round: 2 }}', out: '0.62' },
    { source: '{{ ratio | times: 100 | round }}%', out: '62%' },
  ])('$source → $out', ({ source, out }) => {
    expect(render(source)).toBe(out);
  });
});

describe('safety', () => {
  it('produces plain text: nothing is escaped or interpreted (destinations escape)', () => {
    expect(render('{{ app.name }}')).toBe('Steam <b>&</b> @everyone');
  });

  it.each([
    { source: '{{ value | nosuch }}', error: 'undefined filter: nosuch, line:1, col:1' },
    { source: 'ok\n{{ value | nosuch }}', error: 'undefined filter: nosuch, line:2, col:1' },
    {
      source: '{% include "/etc/passwd" %}',
      error: expect.stringMatching(/include %\} tag is not available/),
    },
    { source: '{% render "x" %}', error: expect.stringMatching(/render %\} tag is not available/) },
    { source: '{% layout "x" %}', error: expect.stringMatching(/layout %\} tag is not available/) },
    { source: '{% if x %}', error: expect.stringMatching(/not closed/) },
  ])('refuses $source at compile time', ({ source, error }) => {
    expect(compileTemplate(source)).toEqual({ error });
  });

  it('reads own properties only', () => {
    expect(render('[{{ person.constructor }}][{{ app.__proto__ }}][{{ user.length }}]')).toBe('[][][5]');
  });

  it('reports a render failure instead of throwing', () => {
    const compiled = compileTemplate('{% for i in (1..100000000) %}{{ i }}{% endfor %}');
    if ('error' in compiled) throw new Error(compiled.error);
    const result = compiled.template.render({});
    expect(result.error).toEqual(expect.any(String));
    expect(result.text).toBe('');
  });
});
