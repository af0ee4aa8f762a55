import { join } from 'node:path';
import { Liquid } from 'liquidjs';
import { formatDuration } from '../lib/duration.js';

/*
 * Server-rendered HTML through liquidjs with escaping on by default (`outputEscape: 'escape'`): every
 * `{{ … }}` is HTML-escaped unless a template says `| raw`, which no template does. Filters are strict
 * (a misspelt filter is an error); variables are not, because the view models leave optional fields
 * (a delivery's `deadAt`, an event's `person`) absent rather than null, and absent renders as nothing.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** relativeTime renders `at` against `now` for people: `just now`, `5 min ago`, `in 2 h`. */
export function relativeTime(at: number, now: number): string {
  const delta = now - at;
  const abs = Math.abs(delta);
  let text: string;
  if (abs < 45_000) return 'just now';
  if (abs < HOUR) text = `${Math.round(abs / MINUTE)} min`;
  else if (abs < DAY) text = `${Math.round(abs / HOUR)} h`;
  else text = `${Math.round(abs / DAY)} d`;
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/** exactTime renders an epoch ms as `2026-01-05 09:00:00 UTC`. */
export function exactTime(at: number): string {
  return `${new Date(at)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '')} UTC`;
}

/** safeUrl keeps http(s) URLs and drops anything else (`javascript:`, `data:`), so a link can never run code. */
export function safeUrl(value: unknown): string {
  if (typeof value !== 'string') return '';
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
  } catch {
    return '';
  }
}

/** createViews returns the template engine for the dashboard's views directory. */
export function createViews(assets: string, now: () => number): Liquid {
  const engine = new Liquid({
    root: [join(assets, 'views')],
    extname: '.liquid',
    outputEscape: 'escape',
    strictFilters: true,
    ownPropertyOnly: true,
    cache: true,
  });
  const time = (value: unknown): number | undefined =>
    typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  engine.registerFilter('reltime', (value: unknown) => {
    const at = time(value);
    return at === undefined ? '' : relativeTime(at, now());
  });
  engine.registerFilter('exacttime', (value: unknown) => {
    const at = time(value);
    return at === undefined ? '' : exactTime(at);
  });
  engine.registerFilter('isotime', (value: unknown) => {
    const at = time(value);
    return at === undefined ? '' : new Date(at).toISOString();
  });
  engine.registerFilter('localinput', (value: unknown) => {
    const at = time(value);
    return at === undefined ? '' : new Date(at).toISOString().slice(0, 16);
  });
  engine.registerFilter('ms', (value: unknown) => {
    const ms = time(value);
    if (ms === undefined) return '';
    return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  });
  engine.registerFilter('duration', (value: unknown) => {
    const ms = time(value);
    return ms === undefined ? '' : formatDuration(ms);
  });
  engine.registerFilter('pretty', (value: unknown) => JSON.stringify(value, null, 2) ?? '');
  engine.registerFilter('safe_url', safeUrl);
  engine.registerFilter('plural', (count: unknown, one: string, many: string) => (count === 1 ? one : many));
  return engine;
}
