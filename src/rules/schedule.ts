/*
 * Schedules: named weekly time windows in an IANA timezone (`during:` / `outside:` on rules and silences).
 * Instants are turned into local wall time with Intl.DateTimeFormat, so daylight saving time is the
 * timezone database's business, not ours: 09:00 in Europe/Berlin is 08:00Z in winter and 07:00Z in summer.
 */

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
// Every UTC offset in use today is a whole number of 15 minutes and changes on such a boundary, so the
// offset is constant within an aligned 15-minute bucket and can be cached per bucket.
const BUCKET_MS = 15 * MINUTE_MS;
const MAX_CACHED_BUCKETS = 20_000;

/** DAY_NAMES lists the schedule day names, index 0 = Sunday (as Date#getUTCDay). */
export const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** ScheduleInput is one entry of `schedules:` as the config schema returns it. */
export interface ScheduleInput {
  timezone: string;
  days?: readonly string[];
  hours?: string | readonly string[];
}

/** CompiledSchedule answers "is this instant inside the schedule?" for rules and silences. */
export interface CompiledSchedule {
  readonly name: string;
  readonly timezone: string;
  /** contains says whether the instant (epoch ms) falls inside the schedule. */
  contains(ms: number): boolean;
  /**
   * activeSince returns when the stretch of the schedule containing `ms` began (epoch ms), or undefined
   * when `ms` is outside it. Back-to-back ranges (`…-24:00` then `00:00-…`) count as one stretch.
   */
  activeSince(ms: number): number | undefined;
  /**
   * endAfter returns when the stretch running at `ms` ends, or when the next stretch after `ms` ends if
   * none is running; +Infinity when the schedule never ends a stretch (or never starts one) within a
   * week. Schedules change only on whole minutes, so it looks at each minute from `ms` on.
   */
  endAfter(ms: number): number;
  /** describe renders the schedule for explanations: `work-hours (Europe/Berlin, mon–fri 09:00–17:30)`. */
  describe(): string;
}

interface Range {
  start: number;
  end: number;
}

/** TimeZoneClock converts instants to local wall time in one timezone. */
export interface TimeZoneClock {
  /** offsetMs returns local time minus UTC at the instant, in ms (3_600_000 for CET). */
  offsetMs(ms: number): number;
}

const clocks = new Map<string, TimeZoneClock>();

/** timeZoneClock returns a cached converter for an IANA timezone; it throws RangeError for an unknown zone. */
export function timeZoneClock(timezone: string): TimeZoneClock {
  const cached = clocks.get(timezone);
  if (cached) return cached;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const buckets = new Map<number, number>();
  const compute = (ms: number): number => {
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(ms)) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    const local = Date.UTC(
      parts.year ?? 1970,
      (parts.month ?? 1) - 1,
      parts.day ?? 1,
      parts.hour ?? 0,
      parts.minute ?? 0,
      parts.second ?? 0,
    );
    return local - (ms - (((ms % 1000) + 1000) % 1000));
  };
  const clock: TimeZoneClock = {
    offsetMs(ms) {
      const bucket = Math.floor(ms / BUCKET_MS);
      let offset = buckets.get(bucket);
      if (offset === undefined) {
        if (buckets.size >= MAX_CACHED_BUCKETS) buckets.clear();
        offset = compute(bucket * BUCKET_MS);
        buckets.set(bucket, offset);
      }
      return offset;
    },
  };
  clocks.set(timezone, clock);
  return clock;
}

/** parseRange reads "09:00-17:30" into minutes after midnight; undefined when it is not a range. */
export function parseRange(text: string): Range | undefined {
  const match = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (match === null) return undefined;
  const [sh, sm, eh, em] = [match[1], match[2], match[3], match[4]].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  if (sm > 59 || em > 59) return undefined;
  const start = sh * 60 + sm;
  const end = eh * 60 + em;
  if (start >= 1440 || end > 1440 || start === end) return undefined;
  return { start, end };
}

const pad = (n: number) => String(n).padStart(2, '0');
const hhmm = (minutes: number) => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;

function describeDays(days: readonly boolean[]): string {
  const order = [1, 2, 3, 4, 5, 6, 0];
  const on = order.filter((d) => days[d]);
  if (on.length === 7) return 'every day';
  // Contiguous runs read better: mon–fri rather than mon, tue, wed, thu, fri.
  const first = order.indexOf(on[0] ?? 1);
  const contiguous = on.every((d, i) => order[first + i] === d);
  if (contiguous && on.length > 2) return `${DAY_NAMES[on[0] ?? 1]}–${DAY_NAMES[on[on.length - 1] ?? 1]}`;
  return on.map((d) => DAY_NAMES[d]).join(', ');
}

/**
 * compileSchedule checks and compiles one schedule. It never throws: problems (unknown timezone, bad
 * day or range) come back with a path relative to the schedule, and the schedule is then undefined.
 */
export function compileSchedule(
  name: string,
  input: ScheduleInput,
): { schedule?: CompiledSchedule; problems: Array<{ path: Array<string | number>; message: string }> } {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  let clock: TimeZoneClock | undefined;
  try {
    clock = timeZoneClock(input.timezone);
  } catch {
    problems.push({ path: ['timezone'], message: `unknown timezone "${input.timezone}"` });
  }
  const days = new Array<boolean>(7).fill(input.days === undefined);
  (input.days ?? []).forEach((day, i) => {
    const index = DAY_NAMES.indexOf(day.toLowerCase() as (typeof DAY_NAMES)[number]);
    if (index < 0) problems.push({ path: ['days', i], message: `unknown day "${day}" (use mon … sun)` });
    else days[index] = true;
  });
  const hourTexts =
    input.hours === undefined
      ? ['00:00-24:00']
      : typeof input.hours === 'string'
        ? [input.hours]
        : input.hours;
  const ranges: Range[] = [];
  hourTexts.forEach((text, i) => {
    const range = parseRange(text);
    if (range === undefined) {
      const path = typeof input.hours === 'string' ? ['hours'] : ['hours', i];
      problems.push({ path, message: `"${text}" is not a time range such as "09:00-17:30"` });
    } else ranges.push(range);
  });
  if (problems.length > 0 || clock === undefined) return { problems };
  const tz = clock;

  const local = (ms: number) => {
    const localMs = ms + tz.offsetMs(ms);
    const dayIndex = Math.floor(localMs / DAY_MS);
    // 1970-01-01 was a Thursday (4).
    const weekday = (((dayIndex + 4) % 7) + 7) % 7;
    const minute = Math.floor((localMs - dayIndex * DAY_MS) / MINUTE_MS);
    return { dayIndex, weekday, minute };
  };

  /** The start (local day index and minute) of the range holding this local time, if any. */
  const rangeStart = (
    weekday: number,
    dayIndex: number,
    minute: number,
  ): { day: number; minute: number } | undefined => {
    for (const { start, end } of ranges) {
      if (start < end) {
        if (days[weekday] && minute >= start && minute < end) return { day: dayIndex, minute: start };
      } else {
        // Runs past midnight: the evening part belongs to a listed day, the morning part to the day after.
        if (days[weekday] && minute >= start) return { day: dayIndex, minute: start };
        if (days[(weekday + 6) % 7] && minute < end) return { day: dayIndex - 1, minute: start };
      }
    }
    return undefined;
  };

  const toInstant = (localMs: number): number => {
    // Local → UTC needs the offset at the (unknown) instant; two rounds settle it except inside a
    // spring-forward gap, where the nearest real instant is as good as any.
    let guess = localMs - tz.offsetMs(localMs);
    guess = localMs - tz.offsetMs(guess);
    return guess;
  };

  const schedule: CompiledSchedule = {
    name,
    timezone: input.timezone,
    contains(ms) {
      // An instant that is no time at all (NaN from a bad payload) is in no schedule.
      if (!Number.isFinite(ms)) return false;
      const { weekday, dayIndex, minute } = local(ms);
      return rangeStart(weekday, dayIndex, minute) !== undefined;
    },
    activeSince(ms) {
      if (!Number.isFinite(ms)) return undefined;
      const { weekday, dayIndex, minute } = local(ms);
      let found = rangeStart(weekday, dayIndex, minute);
      if (found === undefined) return undefined;
      // Walk back over midnight while the previous day's schedule runs up to 24:00 (at most a week).
      for (let step = 0; step < 7 && found.minute === 0; step++) {
        const previousDay = found.day - 1;
        const previousWeekday = (((previousDay + 4) % 7) + 7) % 7;
        const before = rangeStart(previousWeekday, previousDay, 1439);
        if (before === undefined) break;
        found = before;
      }
      return toInstant(found.day * DAY_MS + found.minute * MINUTE_MS);
    },
    endAfter(ms) {
      if (!Number.isFinite(ms)) return Number.POSITIVE_INFINITY;
      let t = Math.floor(ms / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
      const limit = t + 8 * DAY_MS;
      // A minute boundary at or before `ms` decides whether a stretch is running now.
      let running = schedule.contains(ms);
      for (; t <= limit; t += MINUTE_MS) {
        const inside = schedule.contains(t);
        if (running && !inside) return t;
        running = inside;
      }
      return Number.POSITIVE_INFINITY;
    },
    describe() {
      const hours = ranges.map((r) => `${hhmm(r.start)}–${hhmm(r.end)}`).join(', ');
      return `${name} (${input.timezone}, ${describeDays(days)} ${hours})`;
    },
  };
  return { schedule, problems };
}

/** formatLocal renders an instant as `2026-03-29 09:00` in a timezone (for explanations). */
export function formatLocal(ms: number, timezone: string): string {
  if (!Number.isFinite(ms)) return `an unknown time (${String(ms)})`;
  const localMs = ms + timeZoneClock(timezone).offsetMs(ms);
  return new Date(localMs).toISOString().slice(0, 16).replace('T', ' ');
}

/** formatWhen renders an instant with its timezone, for people: `2026-03-29 09:00 Europe/Berlin`. */
export function formatWhen(ms: number, timezone: string): string {
  return Number.isFinite(ms) ? `${formatLocal(ms, timezone)} ${timezone}` : formatLocal(ms, timezone);
}

/**
 * nextTimeOfDay returns the first instant after `ms` whose local wall time in `timezone` is one of
 * `minutes` (minutes after midnight). On the day clocks spring forward, a time inside the gap becomes
 * the instant just after it; on the day they fall back, a time that happens twice counts once (the
 * later of the two).
 */
export function nextTimeOfDay(ms: number, minutes: readonly number[], timezone: string): number {
  const tz = timeZoneClock(timezone);
  const sorted = [...minutes].sort((a, b) => a - b);
  const day = Math.floor((ms + tz.offsetMs(ms)) / DAY_MS);
  for (let d = day - 1; d <= day + 2; d++) {
    for (const minute of sorted) {
      const local = d * DAY_MS + minute * MINUTE_MS;
      let instant = local - tz.offsetMs(local);
      instant = local - tz.offsetMs(instant);
      if (instant > ms) return instant;
    }
  }
  return Number.POSITIVE_INFINITY;
}
