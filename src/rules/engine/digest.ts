import type { Alert } from '../../domain/alert.js';
import { parseDurationMs } from '../../lib/duration.js';
import { displayName } from '../alert.js';
import { hashParts } from '../hash.js';
import { type CompiledSchedule, formatWhen, nextTimeOfDay, timeZoneClock } from '../schedule.js';
import type { DigestConfig } from '../schema.js';
import { type DigestEntry, type DigestState, ruleState, setDigest } from '../state.js';
import type { CompiledRule } from '../types.js';
import { type Call, explain, iso, type Trace } from './call.js';

/*
 * Digests fold the alerts of one rule into one message per period ("Ada Lovelace and 37 others…"),
 * so a bad hour is one message. A bucket opens with its first alert (at the clock time the triggering
 * item was received, or the tick's time) and `tick(now)` flushes it to all of the rule's destinations
 * when its period ends: `every` after it opened, at the next `at` time of day in a timezone, or when
 * the stretch of a schedule ends. With `first: now` the alert that opens a period goes out at once
 * (the bucket opens empty) and only the rest of the period is digested; an empty bucket closes quietly.
 * The state keeps only what the message shows, bounded, however many alerts arrive.
 */

/** CompiledDigest is a rule's `digest:` in runtime form; exactly one of every, at and schedule is set. */
export interface CompiledDigest {
  everyMs: number | undefined;
  everyText: string | undefined;
  /** `at:` as minutes after local midnight, in `timezone`. */
  atMinutes: readonly number[] | undefined;
  /** The timezone of `at:`, or of the schedule. */
  timezone: string | undefined;
  schedule: CompiledSchedule | undefined;
  /** `first: now`: the alert that opens a period goes out at once. */
  firstNow: boolean;
}

/** digestDueAfter returns when a bucket opened at `openedAt` is flushed. */
export function digestDueAfter(digest: CompiledDigest, openedAt: number): number {
  if (digest.everyMs !== undefined) return openedAt + digest.everyMs;
  if (digest.atMinutes !== undefined && digest.timezone !== undefined)
    return nextTimeOfDay(openedAt, digest.atMinutes, digest.timezone);
  return digest.schedule?.endAfter(openedAt) ?? Number.POSITIVE_INFINITY;
}

/** digestPeriod names a bucket's period in its text: `in the last 1h`, `since 2026-03-02 10:00 Europe/Berlin`. */
export function digestPeriod(digest: CompiledDigest, bucket: DigestState): string {
  if (digest.everyText !== undefined) return `in the last ${digest.everyText}`;
  return `since ${formatWhen(bucket.openedAt, digest.timezone ?? 'UTC')}`;
}

type Problem = (path: Array<string | number>, message: string) => void;

const minutesOf = (text: string): number => {
  const [hours, minutes] = text.split(':').map(Number) as [number, number];
  return hours * 60 + minutes;
};

// Any instant does: a schedule that never ends a stretch within a week from it never does.
const SOME_MONDAY = Date.UTC(2026, 0, 5);

/**
 * compileDigest checks a rule's `digest:`. `fallbackTimezone` is that of the rule's schedule, for `at:`
 * without a timezone; `scheduleNamed` looks a schedule up, and `unresolved` is told when there is none of
 * that name (a reference: the config loader words it, see config/cross-refs.ts).
 */
export function compileDigest(
  config: DigestConfig,
  fallbackTimezone: string | undefined,
  scheduleNamed: (name: string) => CompiledSchedule | undefined,
  problem: Problem,
  unresolved: (path: Array<string | number>) => void,
): CompiledDigest | undefined {
  const given = (['every', 'at', 'schedule'] as const).filter((name) => config[name] !== undefined);
  if (given.length !== 1) {
    problem(
      ['digest'],
      given.length === 0
        ? 'a digest needs every (1h), at ("17:00" with a timezone) or schedule (a schedule name)'
        : `a digest takes one of every, at or schedule, got ${given.join(' and ')}`,
    );
    return undefined;
  }
  const digest: CompiledDigest = {
    everyMs: undefined,
    everyText: undefined,
    atMinutes: undefined,
    timezone: undefined,
    schedule: undefined,
    firstNow: config.first === 'now',
  };
  if (config.timezone !== undefined && config.at === undefined) {
    problem(['digest', 'timezone'], 'timezone only applies to digest at:');
    return undefined;
  }
  if (config.every !== undefined) {
    const ms = parseDurationMs(config.every);
    if (ms === undefined || ms <= 0) {
      problem(
        ['digest', 'every'],
        ms === undefined
          ? `"${config.every}" is not a duration such as 30s, 5m, 2h or 1d`
          : 'the duration must be longer than 0',
      );
      return undefined;
    }
    digest.everyMs = ms;
    digest.everyText = config.every;
  } else if (config.at !== undefined) {
    const timezone = config.timezone ?? fallbackTimezone;
    if (timezone === undefined) {
      problem(
        ['digest', 'timezone'],
        'digest at: needs a timezone (e.g. Europe/Berlin), or a during: schedule to take it from',
      );
      return undefined;
    }
    try {
      timeZoneClock(timezone);
    } catch {
      problem(['digest', 'timezone'], `unknown timezone "${timezone}"`);
      return undefined;
    }
    digest.timezone = timezone;
    digest.atMinutes = (typeof config.at === 'string' ? [config.at] : config.at).map(minutesOf);
  } else if (config.schedule !== undefined) {
    const schedule = scheduleNamed(config.schedule);
    if (schedule === undefined) {
      unresolved(['digest', 'schedule']);
      return undefined;
    }
    if (schedule.endAfter(SOME_MONDAY) === Number.POSITIVE_INFINITY) {
      problem(
        ['digest', 'schedule'],
        `schedule "${config.schedule}" never ends a stretch, so this digest would never be sent`,
      );
      return undefined;
    }
    digest.schedule = schedule;
    digest.timezone = schedule.timezone;
  }
  return digest;
}

/** DIGEST_MAX_ENTRIES bounds the alerts kept for the message text (the count goes on). */
export const DIGEST_MAX_ENTRIES = 50;
/** DIGEST_MAX_KEYS bounds the distinct keys kept (names in the title, keys in the alert). */
export const DIGEST_MAX_KEYS = 1000;
/** DIGEST_LINES is how many alert titles the digest text lists before "… and N more". */
export const DIGEST_LINES = 20;

/**
 * openDigest returns an empty bucket opened at `openedAt`. Only digests by time of day or schedule store
 * their flush time (worked out once); `every` buckets are due `every` after they opened, as ever.
 */
export function openDigest(digest: CompiledDigest, openedAt: number): DigestState {
  const bucket: DigestState = {
    t: 'digest',
    openedAt,
    count: 0,
    simulated: 0,
    entries: [],
    keys: [],
    names: [],
  };
  if (digest.everyMs === undefined) bucket.dueAt = digestDueAfter(digest, openedAt);
  return bucket;
}

/** digestDueAt is when a bucket is flushed. */
export function digestDueAt(digest: CompiledDigest, bucket: DigestState): number {
  return bucket.dueAt ?? digestDueAfter(digest, bucket.openedAt);
}

/** foldIntoDigest adds an alert to a rule's bucket (open it with openDigest first). */
export function foldIntoDigest(bucket: DigestState, alert: Alert, name: string): DigestState {
  bucket.count++;
  if (alert.simulation) bucket.simulated++;
  if (bucket.entries.length < DIGEST_MAX_ENTRIES) {
    const entry: DigestEntry = {
      id: alert.id,
      key: alert.key,
      name,
      title: alert.title,
      status: alert.status,
      simulation: alert.simulation,
    };
    bucket.entries.push(entry);
  }
  if (bucket.keys.length < DIGEST_MAX_KEYS && !bucket.keys.includes(alert.key)) {
    bucket.keys.push(alert.key);
    bucket.names.push(name);
  }
  return bucket;
}

/** digestTitle names the people: `Ada Lovelace`, `Ada Lovelace and Alan Turing`, `Ada Lovelace and 37 others`. */
export function digestTitle(state: DigestState): string {
  const [first = '', second] = state.names;
  const others = state.keys.length - 1;
  if (others <= 0) return first;
  if (others === 1 && second !== undefined) return `${first} and ${second}`;
  return `${first} and ${others} others`;
}

/** digestText lists the folded alerts, newest last, at most DIGEST_LINES of them; `period` names the period. */
export function digestText(state: DigestState, period: string): string {
  const lines = state.entries.slice(0, DIGEST_LINES).map((entry) => `• ${entry.title}`);
  const more = state.count - Math.min(state.entries.length, DIGEST_LINES);
  if (more > 0) lines.push(`… and ${more} more`);
  const head = `${state.count} alert${state.count === 1 ? '' : 's'} ${period}`;
  const simulated =
    state.simulated > 0 && state.simulated < state.count ? ` (${state.simulated} from simulations)` : '';
  return `${head}${simulated}:\n${lines.join('\n')}`;
}

/**
 * deliver routes a built alert: into the rule's digest bucket, or out as a firing to its destinations
 * (with `first: now`, the alert that opens a digest period goes out too, and its bucket opens empty).
 */
export function deliver(call: Call, rule: CompiledRule, alert: Alert, trace: Trace | undefined): void {
  if (trace) {
    trace.alertIds.push(alert.id);
    if (alert.status === 'resolved') trace.resolved++;
    else trace.fired++;
  }
  const digest = rule.digest;
  if (digest !== undefined) {
    const rs = ruleState(call.state, rule.fingerprint);
    const open = rs.digest;
    if (open === undefined && digest.firstNow) setDigest(rs, openDigest(digest, call.clockMs));
    else {
      const bucket = open ?? openDigest(digest, call.clockMs);
      setDigest(rs, foldIntoDigest(bucket, alert, displayName(alert.key, alert.person)));
      if (trace) trace.digested++;
      return;
    }
  }
  call.firings.push({ alert, destinations: [...rule.to] });
}

export function flushDigest(call: Call, rule: CompiledRule, now: number, force: boolean): void {
  const digest = rule.digest;
  if (digest === undefined) return;
  const rs = call.state.rules.get(rule.fingerprint);
  const bucket: DigestState | undefined = rs?.digest;
  if (!rs || !bucket || (!force && now < digestDueAt(digest, bucket))) return;
  // A first: now period whose only alert went out at once ends with nothing more to say.
  if (bucket.count === 0) {
    setDigest(rs, undefined);
    return;
  }
  const first = bucket.entries[0];
  const allSimulated = bucket.simulated === bucket.count;
  const alert: Alert = {
    id: hashParts(rule.fingerprint, 'digest', bucket.openedAt, first?.id ?? ''),
    rule: rule.name,
    status: 'firing',
    severity: rule.severity,
    // A digest of one alert is that alert's title; otherwise it names the people.
    title:
      bucket.count === 1 && first !== undefined
        ? first.title
        : `${allSimulated ? '[simulation] ' : ''}${rule.name}: ${digestTitle(bucket)}`,
    text: digestText(bucket, digestPeriod(digest, bucket)),
    key: bucket.keys.length === 1 ? (bucket.keys[0] as string) : '',
    at: now,
    simulation: allSimulated,
    digest: { count: bucket.count, keys: [...bucket.keys] },
  };
  setDigest(rs, undefined);
  call.firings.push({ alert, destinations: [...rule.to] });
  explain(call, rule, 'fired', () => `digest of ${bucket.count} alert(s) since ${iso(bucket.openedAt)}`, {
    alertIds: [alert.id],
  });
}
