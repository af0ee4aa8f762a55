import { describe, expect, it } from 'vitest';
import {
  createState,
  evaluateItem,
  restoreState,
  retainStateFor,
  serialiseState,
  takeChanges,
  tick,
} from './engine.js';
import { serialiseState as serialise, stateRows } from './state.js';
import {
  ADA,
  ALAN,
  appItem,
  compileTestRules,
  GRACE,
  HOUR,
  MINUTE,
  REFERENCE_TIME,
  screenshotItem,
} from './testdata/items.js';
import { offset, run, summarise } from './testdata/run.js';

const APP = 'desktop.app_tracking.captured';
const SHOT = 'desktop.screenshot_tracking.captured';
const at = (text: string) => Date.parse(text);

describe('plain rules', () => {
  it('alert on every matching item, with a readable default message', () => {
    const rules = compileTestRules([{ name: 'forward-everything', on: '*', to: ['zapier', 'console'] }]);
    const result = run(rules, [appItem({ t: 0 }), screenshotItem({ t: MINUTE, user: ALAN })]);
    expect(result.firings.map((f) => [f.alert.title, f.alert.text, f.destinations])).toEqual([
      [
        'forward-everything: Ada Lovelace',
        'desktop.app_tracking.captured from Ada Lovelace (Google Chrome)',
        ['zapier', 'console'],
      ],
      [
        'forward-everything: Alan Turing',
        'desktop.screenshot_tracking.captured from Alan Turing (Brave Browser)',
        ['zapier', 'console'],
      ],
    ]);
    expect(result.firings[0]?.alert).toMatchObject({
      status: 'firing',
      severity: 'warning',
      key: ADA,
      user: ADA,
    });
  });

  it('render the message templates, severity and screenshot attachment', () => {
    const rules = compileTestRules([
      {
        name: 'idle',
        on: SHOT,
        severity: 'critical',
        attach: 'screenshot',
        message: {
          title: 'Idle screen: {{ person.name | default: user }}',
          text: '{{ app.name }} at {{ at | date: "%H:%M", "Europe/Berlin" }}',
        },
        to: ['team-discord'],
      },
    ]);
    const alert = run(rules, [screenshotItem({ t: 0 })]).firings[0]?.alert;
    expect(alert).toMatchObject({
      title: 'Idle screen: Ada Lovelace',
      text: 'Brave Browser at 10:00',
      severity: 'critical',
      attachScreenshot: true,
    });
  });

  it('a title stays on one line when a payload field carries line breaks', () => {
    const rules = compileTestRules([
      { name: 'shot', on: SHOT, message: { title: 'On {{ app.name }}' }, to: ['team-discord'] },
    ]);
    const item = screenshotItem({ t: 0 });
    item.app = { ...item.app, name: 'Evil\r\nBcc: someone\n\nmore' };
    expect(run(rules, [item]).firings[0]?.alert.title).toBe('On Evil Bcc: someone more');
  });

  it('cooldown: at most one alert per key within the duration, also for late items', () => {
    const rules = compileTestRules([
      { name: 'games', on: APP, if: { 'app.name': 'Steam' }, cooldown: '30m', to: ['team-slack'] },
    ]);
    const steam = (m: number, user = ADA) => appItem({ t: m * MINUTE, app: 'Steam', user });
    const result = run(
      rules,
      [steam(0), steam(10), steam(29), steam(12, ALAN), steam(31), steam(50), steam(-40)],
      {
        explain: true,
      },
    );
    // 50 is within 30m of 31; the late item at -40 is 71 minutes before the last alert, so it may go.
    expect(summarise(result.firings)).toEqual([
      'games u-ada firing +0m',
      'games u-alan firing +12m',
      'games u-ada firing +31m',
      'games u-ada firing -40m',
    ]);
    expect(result.explanations?.[1]).toMatchObject({
      outcome: 'cooldown',
      reason:
        'cooldown 30m: last alert for u-ada at 2026-03-02T09:00:00.000Z, next from 2026-03-02T09:30:00.000Z',
    });
  });

  it("resolve: the key's next item that no longer matches sends a resolved alert", () => {
    const rules = compileTestRules([
      {
        name: 'games',
        on: APP,
        if: { 'app.name': 'Steam' },
        cooldown: '1h',
        resolve: true,
        to: ['team-slack'],
      },
    ]);
    const items = [
      appItem({ t: 0, app: 'Steam' }),
      appItem({ t: 5 * MINUTE, app: 'Google Chrome' }),
      appItem({ t: 10 * MINUTE, app: 'Steam' }),
      appItem({ t: 15 * MINUTE, app: 'Google Chrome' }),
    ];
    const result = run(rules, items);
    expect(summarise(result.firings)).toEqual(['games u-ada firing +0m', 'games u-ada resolved +5m']);
    expect(result.firings[1]?.alert.title).toBe('[resolved] games: Ada Lovelace');
  });
});

describe('simulation', () => {
  const rule = (simulation?: string) => ({
    name: 'fwd',
    on: '*',
    to: ['zapier'],
    ...(simulation ? { simulation } : {}),
  });
  const items = [appItem({ t: 0, id: 'real' }), appItem({ t: MINUTE, id: 'sim', simulation: true })];

  it.each([
    { simulation: undefined, titles: ['fwd: Ada Lovelace', '[simulation] fwd: Ada Lovelace'] },
    { simulation: 'include', titles: ['fwd: Ada Lovelace', '[simulation] fwd: Ada Lovelace'] },
    { simulation: 'ignore', titles: ['fwd: Ada Lovelace'] },
    { simulation: 'only', titles: ['[simulation] fwd: Ada Lovelace'] },
  ])('simulation: $simulation', ({ simulation, titles }) => {
    const result = run(compileTestRules([rule(simulation)]), items);
    expect(result.firings.map((f) => f.alert.title)).toEqual(titles);
    expect(result.firings.map((f) => f.alert.simulation)).toEqual(
      titles.map((t) => t.startsWith('[simulation]')),
    );
  });

  it('says so even when the rule has its own title', () => {
    const rules = compileTestRules([{ ...rule(), message: { title: 'Custom {{ user }}' } }]);
    expect(run(rules, [items[1] as never]).firings[0]?.alert.title).toBe('[simulation] Custom u-ada');
  });
});

describe('users and teams', () => {
  it('accept ids or people names, and explain a miss', () => {
    const rules = compileTestRules([
      { name: 'ada-only', on: APP, users: ['Ada Lovelace'], to: ['d'] },
      { name: 'ops-only', on: APP, teams: ['t-ops'], to: ['d'] },
    ]);
    const result = run(rules, [appItem({ user: ADA }), appItem({ user: GRACE }), appItem({ user: ALAN })], {
      explain: true,
    });
    expect(summarise(result.firings)).toEqual(['ada-only u-ada firing +0m', 'ops-only u-grace firing +0m']);
    expect(result.explanations?.slice(4).map((e) => [e.rule, e.outcome, e.reason])).toEqual([
      ['ada-only', 'no-match', 'user "u-alan" is not one of the rule\'s users'],
      ['ops-only', 'no-match', 'team "t-eng" is not one of the rule\'s teams'],
    ]);
  });
});

describe('schedules', () => {
  const rules = compileTestRules([
    { name: 'in-hours', on: APP, during: 'work-hours', to: ['d'] },
    { name: 'after-hours', on: APP, outside: 'work-hours', to: ['d'] },
  ]);
  it.each([
    { instant: '2026-03-27T16:29:00Z', fired: ['in-hours'], note: 'Fri 17:29 CET' },
    { instant: '2026-03-27T16:30:00Z', fired: ['after-hours'], note: 'Fri 17:30 CET' },
    {
      instant: '2026-03-30T06:59:00Z',
      fired: ['after-hours'],
      note: 'Mon 08:59 CEST, first day of summer time',
    },
    { instant: '2026-03-30T07:00:00Z', fired: ['in-hours'], note: 'Mon 09:00 CEST' },
    {
      instant: '2026-10-26T07:30:00Z',
      fired: ['after-hours'],
      note: 'Mon 08:30 CET, first day of winter time',
    },
    { instant: '2026-10-26T08:00:00Z', fired: ['in-hours'], note: 'Mon 09:00 CET' },
  ])('$note', ({ instant, fired }) => {
    const result = run(rules, [appItem({ at: at(instant) })]);
    expect(result.firings.map((f) => f.alert.rule)).toEqual(fired);
  });

  it('explain an alert held back by the schedule', () => {
    const result = run(rules, [appItem({ at: at('2026-03-27T16:30:00Z') })], { explain: true });
    expect(result.explanations?.[0]).toMatchObject({
      outcome: 'outside-schedule',
      reason: '2026-03-27 17:30 is outside work-hours (Europe/Berlin, mon–fri 09:00–17:30)',
    });
  });

  it('hold back, and explain, an item with no usable time instead of throwing', () => {
    const item = { ...appItem({ t: 0 }), at: Number.NaN };
    const result = run(rules, [item], { explain: true });
    expect(result.firings.map((f) => f.alert.rule)).toEqual(['after-hours']);
    expect(result.explanations?.[0]).toMatchObject({
      rule: 'in-hours',
      outcome: 'outside-schedule',
      reason: 'an unknown time (NaN) is outside work-hours (Europe/Berlin, mon–fri 09:00–17:30)',
    });
  });

  it('notify a threshold episode that began outside the schedule at its first point inside', () => {
    const idle = compileTestRules([
      {
        name: 'idle',
        on: SHOT,
        if: { 'screenshot.isIdle': true },
        threshold: { window: '30m', count: 3, lateness: '0s' },
        during: 'work-hours',
        to: ['d'],
      },
    ]);
    const shot = (instant: string) => ({
      ...screenshotItem(),
      id: instant,
      at: at(instant),
      receivedAt: at(instant),
    });
    const result = run(idle, [
      shot('2026-03-30T06:50:00Z'),
      shot('2026-03-30T06:55:00Z'),
      shot('2026-03-30T06:58:00Z'),
      shot('2026-03-30T07:01:00Z'),
      shot('2026-03-30T07:02:00Z'),
    ]);
    expect(result.firings.map((f) => new Date(f.alert.at).toISOString())).toEqual([
      '2026-03-30T07:01:00.000Z',
    ]);
  });
});

describe('silences', () => {
  const silences = [
    {
      name: 'ada-away',
      matchers: { user: ADA },
      rules: ['games'],
      starts: '2026-03-02T09:00:00Z',
      ends: '2026-03-02T10:00:00Z',
      comment: 'at a conference',
    },
    { name: 'nights', matchers: { 'person.name': { regex: '^Grace' } }, during: 'work-hours' },
  ];
  const rules = compileTestRules([{ name: 'games', on: APP, if: { 'app.name': 'Steam' }, to: ['d'] }], {
    silences,
  });

  it('mute matching alerts while active, and say which silence', () => {
    const items = [
      appItem({ t: -MINUTE, app: 'Steam' }),
      appItem({ t: 0, app: 'Steam' }),
      appItem({ t: 59 * MINUTE, app: 'Steam' }),
      appItem({ t: 60 * MINUTE, app: 'Steam' }),
      appItem({ t: 30 * MINUTE, app: 'Steam', user: ALAN }),
    ];
    const result = run(rules, items, { explain: true });
    expect(summarise(result.firings)).toEqual([
      'games u-ada firing -1m',
      'games u-ada firing +60m',
      'games u-alan firing +30m',
    ]);
    expect(result.explanations?.[1]).toMatchObject({
      outcome: 'silenced',
      reason: 'silenced by "ada-away" until 2026-03-02T10:00:00.000Z (at a conference)',
    });
  });

  it('match person fields and follow their schedule', () => {
    const grace = (instant: string) => appItem({ at: at(instant), app: 'Steam', user: GRACE });
    // Monday 10:00 Berlin is inside work-hours (muted); 20:00 is not.
    const result = run(rules, [grace('2026-03-02T09:00:00Z'), grace('2026-03-02T19:00:00Z')]);
    expect(result.firings.map((f) => new Date(f.alert.at).toISOString())).toEqual([
      '2026-03-02T19:00:00.000Z',
    ]);
  });
});

describe('digests', () => {
  const rules = compileTestRules([
    { name: 'fwd', on: APP, digest: { every: '1h' }, to: ['managers', 'console'] },
  ]);

  it("fold a rule's alerts into one message per interval, flushed by tick", () => {
    const state = createState();
    const items = [
      appItem({ t: 0 }),
      appItem({ t: MINUTE, user: ALAN }),
      appItem({ t: 2 * MINUTE, user: GRACE }),
    ];
    const explained = items.map((item) => evaluateItem(rules, state, item, { explain: true }));
    expect(explained.flatMap((e) => e.firings)).toEqual([]);
    expect(explained[0]?.explanations?.[0]?.outcome).toBe('digested');
    evaluateItem(rules, state, appItem({ t: 3 * MINUTE }));
    expect(tick(rules, state, REFERENCE_TIME + 59 * MINUTE).firings).toEqual([]);

    const flushed = tick(rules, state, REFERENCE_TIME + HOUR).firings;
    expect(flushed).toHaveLength(1);
    expect(flushed[0]?.destinations).toEqual(['managers', 'console']);
    expect(flushed[0]?.alert).toMatchObject({
      rule: 'fwd',
      title: 'fwd: Ada Lovelace and 2 others',
      digest: { count: 4, keys: [ADA, ALAN, GRACE] },
      at: REFERENCE_TIME + HOUR,
    });
    expect(flushed[0]?.alert.text).toBe(
      [
        '4 alerts in the last 1h:',
        '• fwd: Ada Lovelace',
        '• fwd: Alan Turing',
        '• fwd: Grace Hopper',
        '• fwd: Ada Lovelace',
      ].join('\n'),
    );
    expect(tick(rules, state, REFERENCE_TIME + 2 * HOUR).firings).toEqual([]);
  });

  it('a digest of one alert is that alert', () => {
    const state = createState();
    evaluateItem(rules, state, appItem({ t: 0 }));
    expect(tick(rules, state, REFERENCE_TIME + HOUR).firings[0]?.alert).toMatchObject({
      title: 'fwd: Ada Lovelace',
      digest: { count: 1, keys: [ADA] },
    });
  });
});

describe('absence', () => {
  const rules = compileTestRules([
    {
      name: 'went-quiet',
      absent: { on: APP, per: 'user', for: '30m', watch: 'people' },
      to: ['team-discord'],
    },
  ]);
  const received = (m: number) => appItem({ t: m * MINUTE });
  const stream = [
    { tick: REFERENCE_TIME },
    { item: received(5) },
    { tick: REFERENCE_TIME + 31 * MINUTE },
    { tick: REFERENCE_TIME + 36 * MINUTE },
    { tick: REFERENCE_TIME + 40 * MINUTE },
    { item: received(45) },
    { tick: REFERENCE_TIME + 80 * MINUTE },
  ];

  it('alert once per quiet spell, resolve when seen again, and watch people never seen', () => {
    const result = run(rules, stream);
    expect(summarise(result.firings)).toEqual([
      'went-quiet u-alan firing +31m',
      'went-quiet u-grace firing +31m',
      'went-quiet u-ada firing +36m',
      'went-quiet u-ada resolved +45m',
      'went-quiet u-ada firing +80m',
    ]);
    expect(result.firings[2]?.alert.text).toBe(
      'Ada Lovelace went quiet: no desktop.app_tracking.captured for 30m (since 2026-03-02T09:05:00.000Z)',
    );
    // Listed but never seen: the text says which people are watched.
    expect(result.firings[0]?.alert.text).toBe(
      'Alan Turing has not been seen: no desktop.app_tracking.captured for 30m (since 2026-03-02T09:00:00.000Z; watch: people)',
    );
    expect(result.firings[3]?.alert.title).toBe('[resolved] went-quiet: Ada Lovelace');
    expect(result.firings[2]?.alert.id).not.toBe(result.firings[4]?.alert.id);
  });

  it('keep its timers in state, so they survive a restart', () => {
    const state = createState();
    run(rules, stream.slice(0, 2), { state });
    const restored = restoreState(serialiseState(state));
    const result = run(rules, stream.slice(2), { state: restored });
    expect(summarise(result.firings)).toEqual(summarise(run(rules, stream).firings.slice(0)));
  });

  it('with during:, count only quiet time inside the schedule and alert again each stretch', () => {
    const scheduled = compileTestRules([
      {
        name: 'went-quiet',
        absent: { on: APP, for: '30m', watch: 'people' },
        users: [ADA],
        during: 'work-hours',
        to: ['d'],
      },
    ]);
    const result = run(scheduled, [
      { tick: at('2026-03-02T07:00:00Z') }, // Monday 08:00 Berlin: outside, nobody watched
      { tick: at('2026-03-02T08:29:00Z') }, // 09:29: quiet for 29 minutes of work hours
      { tick: at('2026-03-02T08:30:00Z') }, // 09:30: alert
      { tick: at('2026-03-02T20:00:00Z') }, // evening: outside
      { tick: at('2026-03-03T08:30:00Z') }, // Tuesday 09:30: still quiet, a new stretch
    ]);
    expect(result.firings.map((f) => new Date(f.alert.at).toISOString())).toEqual([
      '2026-03-02T08:30:00.000Z',
      '2026-03-03T08:30:00.000Z',
    ]);
  });
});

describe('absence watches the keys that were seen, by default', () => {
  const rules = compileTestRules([
    { name: 'went-quiet', absent: { on: APP, for: '30m' }, to: ['d'] },
    { name: 'quiet-at-work', absent: { on: APP, for: '30m' }, during: 'work-hours', to: ['d'] },
  ]);

  it('not people listed but never seen; a seen key alerts once per quiet spell', () => {
    const result = run(rules, [
      { tick: REFERENCE_TIME },
      { item: appItem({ t: 5 * MINUTE }) },
      { tick: REFERENCE_TIME + 31 * MINUTE },
      { tick: REFERENCE_TIME + 35 * MINUTE },
      { tick: REFERENCE_TIME + 36 * MINUTE },
    ]);
    expect(summarise(result.firings)).toEqual([
      'went-quiet u-ada firing +35m',
      'quiet-at-work u-ada firing +35m',
    ]);
  });

  it('with during:, only keys seen since the current stretch began; seen again later, watched again', () => {
    const result = run(rules, [
      { tick: at('2026-03-02T08:00:00Z') }, // Monday 09:00 Berlin
      { item: appItem({ at: at('2026-03-02T08:10:00Z') }) },
      { tick: at('2026-03-02T08:40:00Z') }, // 09:40: quiet for 30 minutes of work hours
      { tick: at('2026-03-03T08:30:00Z') }, // Tuesday 09:30: not seen today, so not watched today
      { tick: at('2026-03-03T12:00:00Z') },
      { item: appItem({ at: at('2026-03-03T12:05:00Z') }) }, // seen on Tuesday at 13:05
      { tick: at('2026-03-03T12:34:00Z') },
      { tick: at('2026-03-03T12:35:00Z') },
    ]);
    const atWork = result.firings.filter((f) => f.alert.rule === 'quiet-at-work');
    expect(atWork.map((f) => [f.alert.status, new Date(f.alert.at).toISOString()])).toEqual([
      ['firing', '2026-03-02T08:40:00.000Z'],
      ['resolved', '2026-03-03T12:05:00.000Z'],
      ['firing', '2026-03-03T12:35:00.000Z'],
    ]);
  });
});

describe('ids, restarts and reloads', () => {
  const rules = compileTestRules([
    {
      name: 'idle',
      on: SHOT,
      if: { 'screenshot.isIdle': true },
      threshold: { window: '30m', count: 3, resolve: true },
      to: ['d'],
    },
    { name: 'games', on: APP, if: { 'app.name': 'Steam' }, cooldown: '20m', to: ['d'] },
  ]);
  const stream = [
    ...[0, 4, 8, 12].map((m) => screenshotItem({ t: m * MINUTE, id: `s${m}` })),
    ...[1, 9, 25, 40].map((m) => appItem({ t: m * MINUTE, id: `a${m}`, app: 'Steam' })),
    ...[70, 75, 110].map((m) => screenshotItem({ t: m * MINUTE, id: `s${m}`, idle: m !== 110 })),
  ].sort((a, b) => a.at - b.at);

  it('give the same alert ids when the same stream is evaluated again', () => {
    const first = run(rules, stream, { settle: true }).firings.map((f) => f.alert.id);
    const second = run(rules, stream, { settle: true }).firings.map((f) => f.alert.id);
    expect(first.length).toBeGreaterThan(3);
    expect(second).toEqual(first);
    expect(new Set(first).size).toBe(first.length);
  });

  it('give the same alerts across a restart at any point (state persisted, then restored)', () => {
    const uninterrupted = summarise(run(rules, stream, { settle: true }).firings);
    for (let cut = 0; cut <= stream.length; cut++) {
      const before = run(rules, stream.slice(0, cut));
      const restored = restoreState(
        stateRows(before.state).map(([key, value]) => [key, JSON.stringify(value)]),
      );
      const after = run(rules, stream.slice(cut), { state: restored, settle: true });
      expect([cut, ...summarise([...before.firings, ...after.firings])]).toEqual([cut, ...uninterrupted]);
    }
  });

  it('keep the state of unchanged rules over a reload and drop the state of changed ones', () => {
    const state = createState();
    run(rules, [screenshotItem({ t: 0 }), screenshotItem({ t: MINUTE }), appItem({ t: 0, app: 'Steam' })], {
      state,
    });
    takeChanges(state);
    const reloaded = compileTestRules([
      {
        name: 'idle',
        on: SHOT,
        if: { 'screenshot.isIdle': true },
        threshold: { window: '30m', count: 3, resolve: true },
        message: { title: 'Reworded {{ user }}' },
        severity: 'critical',
        to: ['elsewhere'],
      },
      { name: 'games', on: APP, if: { 'app.name': { regex: 'Steam|Epic' } }, cooldown: '20m', to: ['d'] },
    ]);
    expect(reloaded.rules[0]?.fingerprint).toBe(rules.rules[0]?.fingerprint);
    expect(reloaded.rules[1]?.fingerprint).not.toBe(rules.rules[1]?.fingerprint);
    const dropped = retainStateFor(reloaded, state);
    expect(dropped).toEqual([`${rules.rules[1]?.fingerprint}|${ADA}`]);
    expect(takeChanges(state)).toEqual([{ key: `${rules.rules[1]?.fingerprint}|${ADA}`, value: undefined }]);
    // idle kept its two items: the third fires. games lost its cooldown: Steam alerts again.
    const after = run(
      reloaded,
      [screenshotItem({ t: 2 * MINUTE }), appItem({ t: 3 * MINUTE, app: 'Steam' })],
      {
        state,
      },
    );
    expect(after.firings.map((f) => [f.alert.title, offset(f.alert.at)])).toEqual([
      ['Reworded u-ada', '+2m'],
      ['games: Ada Lovelace', '+3m'],
    ]);
  });
});

describe('state', () => {
  it("records the rows each call changed, for the caller's transaction", () => {
    const rules = compileTestRules([
      { name: 'idle', on: SHOT, threshold: { window: '30m', count: 3 }, to: ['d'] },
      { name: 'fwd', on: '*', to: ['d'] },
    ]);
    const state = createState();
    evaluateItem(rules, state, screenshotItem({ t: 0 }));
    evaluateItem(rules, state, screenshotItem({ t: MINUTE, user: ALAN }));
    const changes = takeChanges(state);
    const fp = rules.rules[0]?.fingerprint;
    expect(changes.map((c) => c.key).sort()).toEqual([`${fp}|${ADA}`, `${fp}|${ALAN}`].sort());
    expect(changes[0]?.value).toMatchObject({ t: 'threshold' });
    expect(takeChanges(state)).toEqual([]);
  });

  it('prunes keys idle for a day of item time, but keeps open episodes', () => {
    const rules = compileTestRules([
      {
        name: 'idle',
        on: SHOT,
        if: { 'screenshot.isIdle': true },
        threshold: { window: '30m', count: 3 },
        to: ['d'],
      },
    ]);
    const state = createState();
    evaluateItem(rules, state, screenshotItem({ t: 0, user: ALAN }));
    for (const m of [0, 1, 2]) evaluateItem(rules, state, screenshotItem({ t: m * MINUTE, user: ADA }));
    evaluateItem(rules, state, screenshotItem({ t: 26 * HOUR, user: ADA }));
    takeChanges(state);
    tick(rules, state, REFERENCE_TIME + 26 * HOUR);
    const fp = rules.rules[0]?.fingerprint ?? '';
    expect(takeChanges(state)).toEqual([{ key: `${fp}|${ALAN}`, value: undefined }]);
    expect([...(state.rules.get(fp)?.keys.keys() ?? [])]).toEqual([ADA]);
  });

  it('prunes the cooldown of a plain rule without resolve once it is a day idle; with resolve it keeps it', () => {
    const rules = compileTestRules([
      { name: 'games', on: APP, if: { 'app.name': 'Steam' }, cooldown: '30m', to: ['d'] },
      { name: 'games-resolved', on: APP, if: { 'app.name': 'Steam' }, resolve: true, to: ['d'] },
    ]);
    const state = createState();
    evaluateItem(rules, state, appItem({ t: 0, app: 'Steam' }));
    evaluateItem(rules, state, appItem({ t: 26 * HOUR, user: ALAN }));
    takeChanges(state);
    tick(rules, state, REFERENCE_TIME + 26 * HOUR);
    const [games, resolved] = rules.rules.map((rule) => rule.fingerprint);
    // No resolved alert is owed for games, so nothing is left to remember about Ada after a day.
    expect(takeChanges(state)).toEqual([{ key: `${games}|${ADA}`, value: undefined }]);
    expect([...(state.rules.get(resolved ?? '')?.keys.keys() ?? [])]).toEqual([ADA]);
  });

  it('round-trips through JSON and skips rows it does not know', () => {
    const rules = compileTestRules([
      { name: 'idle', on: SHOT, threshold: { window: '30m', count: 3 }, to: ['d'] },
    ]);
    const state = createState();
    evaluateItem(rules, state, screenshotItem({ t: 0 }));
    const text = serialise(state);
    const restored = restoreState([...JSON.parse(text), ['x|y', { t: 'unknown' }], ['x#digest', 'null']]);
    expect(serialise(restored)).toBe(text);
  });
});
