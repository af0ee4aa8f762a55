import { describe, expect, it } from 'vitest';
import { compileRules } from './compile.js';
import { createState, evaluateItem, tick } from './engine.js';
import { ruleSchema } from './schema.js';
import { ALAN, appItem, compileTestRules, GRACE, PEOPLE, SCHEDULES } from './testdata/items.js';

/*
 * Issue 9 §3: a digest at a time of day in a timezone, or at the end of each stretch of a schedule,
 * besides `every`; and `first: now`, which sends a period's first alert at once and digests the rest.
 */

const APP = 'desktop.app_tracking.captured';
const at = (text: string) => Date.parse(text);
/** An app item timed and received at an instant. */
const itemAt = (instant: string, user?: string) => appItem({ at: at(instant), ...(user ? { user } : {}) });
const when = (ms: number) => new Date(ms).toISOString();

describe('digest at a time of day', () => {
  const rules = compileTestRules([
    { name: 'daily', on: APP, digest: { at: '17:00', timezone: 'Europe/Berlin' }, to: ['d'] },
  ]);

  it('flushes at 17:00 in the timezone, naming the period', () => {
    const state = createState();
    evaluateItem(rules, state, itemAt('2026-03-02T09:00:00Z')); // Monday 10:00 Berlin (CET)
    evaluateItem(rules, state, itemAt('2026-03-02T11:00:00Z', ALAN));
    expect(tick(rules, state, at('2026-03-02T15:59:59Z')).firings).toEqual([]);
    const flushed = tick(rules, state, at('2026-03-02T16:00:00Z')).firings;
    expect(flushed.map((f) => [f.alert.title, when(f.alert.at)])).toEqual([
      ['daily: Ada Lovelace and Alan Turing', '2026-03-02T16:00:00.000Z'],
    ]);
    expect(flushed[0]?.alert.text.split('\n')[0]).toBe('2 alerts since 2026-03-02 10:00 Europe/Berlin:');
  });

  it('an alert after 17:00 waits for the next day, on summer time too', () => {
    const state = createState();
    evaluateItem(rules, state, itemAt('2026-03-28T17:30:00Z')); // Saturday 18:30 CET; DST starts Sunday
    expect(tick(rules, state, at('2026-03-28T23:00:00Z')).firings).toEqual([]);
    expect(tick(rules, state, at('2026-03-29T14:59:59Z')).firings).toEqual([]);
    expect(tick(rules, state, at('2026-03-29T15:00:00Z')).firings).toHaveLength(1); // 17:00 CEST
  });

  it('takes several times, and the timezone of the rule’s schedule when it gives none', () => {
    const twice = compileTestRules([
      { name: 'twice', on: APP, digest: { at: ['12:00', '17:00'] }, during: 'work-hours', to: ['d'] },
    ]);
    const state = createState();
    evaluateItem(twice, state, itemAt('2026-03-02T09:00:00Z'));
    expect(when(tick(twice, state, at('2026-03-02T11:00:00Z')).firings[0]?.alert.at ?? 0)).toBe(
      '2026-03-02T11:00:00.000Z',
    );
    evaluateItem(twice, state, itemAt('2026-03-02T12:00:00Z'));
    expect(tick(twice, state, at('2026-03-02T15:59:00Z')).firings).toEqual([]);
    expect(tick(twice, state, at('2026-03-02T16:00:00Z')).firings).toHaveLength(1);
  });
});

describe('digest at the end of each stretch of a schedule', () => {
  const rules = compileTestRules([
    { name: 'workday', on: APP, digest: { schedule: 'work-hours' }, to: ['d'] },
  ]);

  it('flushes when work hours end, and an alert outside them waits for the end of the next stretch', () => {
    const state = createState();
    evaluateItem(rules, state, itemAt('2026-03-02T09:00:00Z')); // Monday 10:00
    expect(tick(rules, state, at('2026-03-02T16:29:59Z')).firings).toEqual([]);
    expect(tick(rules, state, at('2026-03-02T16:30:00Z')).firings).toHaveLength(1); // 17:30 Berlin
    evaluateItem(rules, state, itemAt('2026-03-06T18:00:00Z')); // Friday evening
    expect(tick(rules, state, at('2026-03-08T20:00:00Z')).firings).toEqual([]); // the weekend
    expect(tick(rules, state, at('2026-03-09T16:30:00Z')).firings).toHaveLength(1); // Monday 17:30
  });
});

describe('first: now', () => {
  const rules = compileTestRules([
    { name: 'fwd', on: APP, digest: { every: '1h', first: 'now' }, to: ['d'] },
  ]);

  it('sends the first alert of a period at once and digests the rest of it', () => {
    const state = createState();
    const first = evaluateItem(rules, state, itemAt('2026-03-02T09:00:00Z'), { explain: true });
    expect(first.firings.map((f) => f.alert.title)).toEqual(['fwd: Ada Lovelace']);
    expect(first.explanations?.[0]?.outcome).toBe('fired');
    expect(evaluateItem(rules, state, itemAt('2026-03-02T09:10:00Z', ALAN)).firings).toEqual([]);
    expect(evaluateItem(rules, state, itemAt('2026-03-02T09:20:00Z', GRACE)).firings).toEqual([]);
    const digest = tick(rules, state, at('2026-03-02T10:00:00Z')).firings;
    expect(digest.map((f) => [f.alert.title, f.alert.digest?.count])).toEqual([
      ['fwd: Alan Turing and Grace Hopper', 2],
    ]);
    // The next period begins with the next alert, which goes at once again.
    expect(evaluateItem(rules, state, itemAt('2026-03-02T10:30:00Z')).firings).toHaveLength(1);
  });

  it('a period with nothing after its first alert ends without a message', () => {
    const state = createState();
    evaluateItem(rules, state, itemAt('2026-03-02T09:00:00Z'));
    expect(tick(rules, state, at('2026-03-02T10:00:00Z')).firings).toEqual([]);
    expect(evaluateItem(rules, state, itemAt('2026-03-02T10:05:00Z')).firings).toHaveLength(1);
  });
});

describe('digest problems', () => {
  const problems = (digest: unknown, extra: Record<string, unknown> = {}) =>
    compileRules({
      rules: [ruleSchema.parse({ name: 'r', on: APP, digest, to: ['d'], ...extra })],
      people: PEOPLE,
      schedules: { ...SCHEDULES, always: { timezone: 'UTC' } },
    }).problems.map((p) => `${p.path.join('.')}: ${p.message}`);

  it.each([
    [
      { every: '1h', at: '17:00', timezone: 'UTC' },
      'rules.0.digest: a digest takes one of every, at or schedule, got every and at',
    ],
    [
      {},
      'rules.0.digest: a digest needs every (1h), at ("17:00" with a timezone) or schedule (a schedule name)',
    ],
    [
      { at: '17:00' },
      'rules.0.digest.timezone: digest at: needs a timezone (e.g. Europe/Berlin), or a during: schedule to take it from',
    ],
    [{ at: '17:00', timezone: 'Mars/Olympus' }, 'rules.0.digest.timezone: unknown timezone "Mars/Olympus"'],
    [{ every: '1h', timezone: 'UTC' }, 'rules.0.digest.timezone: timezone only applies to digest at:'],
    [
      { schedule: 'always' },
      'rules.0.digest.schedule: schedule "always" never ends a stretch, so this digest would never be sent',
    ],
  ])('%j', (digest, message) => {
    expect(problems(digest)).toEqual([message]);
  });

  it('a time that is not HH:MM is refused by the schema', () => {
    expect(ruleSchema.safeParse({ name: 'r', on: APP, digest: { at: '5pm' }, to: ['d'] }).success).toBe(
      false,
    );
  });
});
