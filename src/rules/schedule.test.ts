import { describe, expect, it } from 'vitest';
import { type CompiledSchedule, compileSchedule, formatLocal, type ScheduleInput } from './schedule.js';

function schedule(input: ScheduleInput): CompiledSchedule {
  const result = compileSchedule('s', input);
  if (!result.schedule) throw new Error(JSON.stringify(result.problems));
  return result.schedule;
}

const at = (text: string) => Date.parse(text);

// Europe/Berlin in 2026: summer time starts Sunday 29 March at 01:00Z (02:00 CET → 03:00 CEST) and
// ends Sunday 25 October at 01:00Z (03:00 CEST → 02:00 CET).
describe('schedules across both Europe/Berlin DST switches', () => {
  const cases: Array<{ name: string; input: ScheduleInput; contains: string[]; excludes: string[] }> = [
    {
      name: 'work hours before and after the spring switch',
      input: { timezone: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-17:30' },
      contains: [
        '2026-03-27T08:00:00Z', // Fri 09:00 CET
        '2026-03-27T16:29:59Z', // Fri 17:29:59 CET
        '2026-03-30T07:00:00Z', // Mon 09:00 CEST
        '2026-03-30T15:29:59Z', // Mon 17:29:59 CEST
      ],
      excludes: [
        '2026-03-27T07:59:59Z', // Fri 08:59:59 CET
        '2026-03-27T16:30:00Z', // Fri 17:30 CET: the end is exclusive
        '2026-03-30T06:59:59Z', // Mon 08:59:59 CEST (would be inside if the offset were still +1)
        '2026-03-30T15:30:00Z', // Mon 17:30 CEST
        '2026-03-28T10:00:00Z', // Saturday
      ],
    },
    {
      name: 'work hours before and after the autumn switch',
      input: { timezone: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-17:30' },
      contains: ['2026-10-23T07:00:00Z', '2026-10-26T08:00:00Z', '2026-10-26T16:29:00Z'],
      excludes: [
        '2026-10-23T06:59:00Z',
        '2026-10-26T07:00:00Z',
        '2026-10-26T16:30:00Z',
        '2026-10-25T09:00:00Z',
      ],
    },
    {
      name: 'a night range on the spring switch night is two hours long',
      input: { timezone: 'Europe/Berlin', days: ['sun'], hours: '01:00-04:00' },
      contains: [
        '2026-03-29T00:00:00Z',
        '2026-03-29T00:59:59Z',
        '2026-03-29T01:00:00Z',
        '2026-03-29T01:59:59Z',
      ],
      excludes: ['2026-03-28T23:59:59Z', '2026-03-29T02:00:00Z'],
    },
    {
      name: 'a night range on the autumn switch night is four hours long',
      input: { timezone: 'Europe/Berlin', days: ['sun'], hours: '01:00-04:00' },
      contains: [
        '2026-10-24T23:00:00Z',
        '2026-10-25T00:30:00Z',
        '2026-10-25T01:30:00Z',
        '2026-10-25T02:59:59Z',
      ],
      excludes: ['2026-10-24T22:59:59Z', '2026-10-25T03:00:00Z'],
    },
    {
      name: 'a range past midnight belongs to the day it starts on',
      input: { timezone: 'Europe/Berlin', days: ['fri'], hours: '22:00-06:00' },
      contains: ['2026-03-06T21:00:00Z', '2026-03-07T04:59:59Z'],
      excludes: [
        '2026-03-06T20:59:59Z',
        '2026-03-07T05:00:00Z',
        '2026-03-05T22:30:00Z',
        '2026-03-07T22:30:00Z',
      ],
    },
    {
      name: 'several ranges',
      input: { timezone: 'UTC', hours: ['09:00-12:00', '13:00-17:00'] },
      contains: ['2026-03-02T09:00:00Z', '2026-03-02T13:00:00Z'],
      excludes: ['2026-03-02T12:30:00Z', '2026-03-02T17:00:00Z'],
    },
    {
      name: 'no hours means the whole day',
      input: { timezone: 'America/New_York', days: ['sat', 'sun'] },
      // Saturday 00:00 in New York (EST, −5) is 05:00Z; Monday 00:00 is the end.
      contains: ['2026-03-07T05:00:00Z', '2026-03-09T03:59:59Z'],
      excludes: ['2026-03-07T04:59:59Z', '2026-03-09T04:00:00Z'],
    },
  ];

  it.each(cases)('$name', ({ input, contains, excludes }) => {
    const compiled = schedule(input);
    for (const instant of contains)
      expect([instant, compiled.contains(at(instant))]).toEqual([instant, true]);
    for (const instant of excludes)
      expect([instant, compiled.contains(at(instant))]).toEqual([instant, false]);
  });
});

describe('activeSince', () => {
  const work = schedule({
    timezone: 'Europe/Berlin',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    hours: '09:00-17:30',
  });
  it.each([
    { name: 'winter morning', now: '2026-03-27T10:00:00Z', since: '2026-03-27T08:00:00.000Z' },
    { name: 'first summer morning', now: '2026-03-30T10:00:00Z', since: '2026-03-30T07:00:00.000Z' },
    { name: 'outside', now: '2026-03-30T18:00:00Z', since: undefined },
  ])('$name', ({ now, since }) => {
    const result = work.activeSince(at(now));
    expect(result === undefined ? undefined : new Date(result).toISOString()).toBe(since);
  });

  it('joins whole days into one stretch', () => {
    const weekdays = schedule({ timezone: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'] });
    // Wednesday noon: the stretch began Monday 00:00 Berlin time (Sunday 23:00Z).
    expect(new Date(weekdays.activeSince(at('2026-03-04T12:00:00Z')) ?? 0).toISOString()).toBe(
      '2026-03-01T23:00:00.000Z',
    );
  });

  it('starts a night range on the day it began', () => {
    const night = schedule({ timezone: 'UTC', days: ['fri'], hours: '22:00-06:00' });
    expect(new Date(night.activeSince(at('2026-03-07T03:00:00Z')) ?? 0).toISOString()).toBe(
      '2026-03-06T22:00:00.000Z',
    );
  });
});

describe('problems', () => {
  it.each([
    {
      input: { timezone: 'Europe/Berln' },
      problem: { path: ['timezone'], message: 'unknown timezone "Europe/Berln"' },
    },
    {
      input: { timezone: 'UTC', days: ['mon', 'funday'] },
      problem: { path: ['days', 1], message: 'unknown day "funday" (use mon … sun)' },
    },
    {
      input: { timezone: 'UTC', hours: '9-5' },
      problem: { path: ['hours'], message: '"9-5" is not a time range such as "09:00-17:30"' },
    },
    {
      input: { timezone: 'UTC', hours: ['09:00-12:00', '25:00-26:00'] },
      problem: { path: ['hours', 1], message: '"25:00-26:00" is not a time range such as "09:00-17:30"' },
    },
  ])('$problem.message', ({ input, problem }) => {
    const result = compileSchedule('s', input);
    expect(result.schedule).toBeUndefined();
    expect(result.problems).toEqual([problem]);
  });
});

it('describes itself for explanations', () => {
  const work = compileSchedule('work-hours', {
    timezone: 'Europe/Berlin',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    hours: '09:00-17:30',
  }).schedule;
  expect(work?.describe()).toBe('work-hours (Europe/Berlin, mon–fri 09:00–17:30)');
  expect(formatLocal(at('2026-03-30T07:00:00Z'), 'Europe/Berlin')).toBe('2026-03-30 09:00');
});

it('an instant that is no time at all is in no schedule and is described, not thrown on', () => {
  const always = schedule({
    timezone: 'Europe/Berlin',
    days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
  });
  expect(always.contains(at('2026-03-30T10:00:00Z'))).toBe(true);
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    expect(always.contains(bad)).toBe(false);
    expect(always.activeSince(bad)).toBeUndefined();
    expect(formatLocal(bad, 'Europe/Berlin')).toMatch(/^an unknown time/);
  }
});
