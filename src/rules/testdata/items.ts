import type { Item, Person } from '../../domain/item.js';
import { compileRules } from '../compile.js';
import type { ScheduleInput } from '../schedule.js';
import { type RuleConfig, ruleSchema, type SilenceConfig, silenceSchema } from '../schema.js';
import type { CompiledRuleSet } from '../types.js';

/*
 * Test fixtures for the rules engine: items in the normalised shape (as the Trackpilots normaliser
 * produces them) at offsets from one fixed reference time, and a compile helper that goes through the
 * zod schema first, as the config loader does.
 */

/** REFERENCE_TIME is Monday 2026-03-02 09:00:00Z (10:00 in Berlin, winter time). */
export const REFERENCE_TIME = Date.UTC(2026, 2, 2, 9, 0, 0);
/** SECOND is one second in ms. */
export const SECOND = 1000;
/** MINUTE is one minute in ms. */
export const MINUTE = 60 * SECOND;
/** HOUR is one hour in ms. */
export const HOUR = 60 * MINUTE;

/** ADA is Ada Lovelace's user id (team t-eng). */
export const ADA = 'u-ada';
/** ALAN is Alan Turing's user id (team t-eng). */
export const ALAN = 'u-alan';
/** GRACE is Grace Hopper's user id (team t-ops). */
export const GRACE = 'u-grace';

/** PEOPLE is a small directory. */
export const PEOPLE: Person[] = [
  { id: ADA, name: 'Ada Lovelace', email: 'ada@example.com', team: 't-eng' },
  { id: ALAN, name: 'Alan Turing', team: 't-eng' },
  { id: GRACE, name: 'Grace Hopper', team: 't-ops' },
];

let counter = 0;

/** AppOptions shapes an app-tracking item. */
export interface AppOptions {
  user?: string;
  team?: string;
  /** Offset from REFERENCE_TIME, ms. */
  t?: number;
  /** Absolute time (overrides t). */
  at?: number;
  status?: string;
  seconds?: number;
  app?: string;
  id?: string;
  simulation?: boolean;
  /** receivedAt offset after `at`, ms (default 0). */
  receivedAfter?: number;
}

/** appItem builds a desktop.app_tracking.captured item. */
export function appItem(options: AppOptions = {}): Item {
  const at = options.at ?? REFERENCE_TIME + (options.t ?? 0);
  const user = options.user ?? ADA;
  return {
    source: 'trackpilots',
    event: 'desktop.app_tracking.captured',
    id: options.id ?? `trk-${++counter}`,
    at,
    receivedAt: at + (options.receivedAfter ?? 0),
    simulation: options.simulation ?? false,
    user,
    team: options.team ?? PEOPLE.find((p) => p.id === user)?.team ?? 't-none',
    org: 'o-1',
    app: {
      name: options.app ?? 'Google Chrome',
      type: 'website',
      productivityStatus: options.status ?? 'productive',
    },
    time: {
      startDate: new Date(at).toISOString(),
      durationInSeconds: options.seconds ?? 60,
    },
    trackingMode: 'online',
    operatingSystem: 'macos',
    raw: {},
  };
}

/** screenshotItem builds a desktop.screenshot_tracking.captured item. */
export function screenshotItem(
  options: { user?: string; t?: number; idle?: boolean; id?: string; simulation?: boolean } = {},
): Item {
  const at = REFERENCE_TIME + (options.t ?? 0);
  return {
    source: 'trackpilots',
    event: 'desktop.screenshot_tracking.captured',
    id: options.id ?? `shot-${++counter}`,
    at,
    receivedAt: at,
    simulation: options.simulation ?? false,
    user: options.user ?? ADA,
    team: 't-eng',
    org: 'o-1',
    screenshot: {
      id: options.id ?? `shot-${counter}`,
      isIdle: options.idle ?? true,
      image: { kind: 'bytes', mime: 'image/jpeg', size: 44_900 },
    },
    app: { name: 'Brave Browser', productivityStatus: 'neutral' },
    time: { capturedAt: new Date(at).toISOString() },
    raw: {},
  };
}

/** SCHEDULES has the work-hours schedule of DESIGN.md. */
export const SCHEDULES: Record<string, ScheduleInput> = {
  'work-hours': {
    timezone: 'Europe/Berlin',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    hours: '09:00-17:30',
  },
};

/** compileTestRules parses rules through the schema (as the loader does) and compiles them; it fails on errors. */
export function compileTestRules(
  rules: unknown[],
  extra: { people?: Person[]; silences?: unknown[]; schedules?: Record<string, ScheduleInput> } = {},
): CompiledRuleSet {
  const parsed: RuleConfig[] = rules.map((rule) => ruleSchema.parse(rule));
  const silences: SilenceConfig[] = (extra.silences ?? []).map((silence) => silenceSchema.parse(silence));
  const ruleSet = compileRules({
    rules: parsed,
    people: extra.people ?? PEOPLE,
    schedules: extra.schedules ?? SCHEDULES,
    silences,
  });
  if (!ruleSet.ok) {
    const why = JSON.stringify({ problems: ruleSet.problems, unresolved: ruleSet.unresolved });
    throw new Error(`rules do not compile: ${why}`);
  }
  return ruleSet;
}
