import { type EventPattern, globToRegExp } from './match.js';

/*
 * The fields each known event type carries (DESIGN.md "The normalised item", reference/trackpilots.md),
 * so a threshold on a field the event never has (`sum: time.durationInSeconds` on screenshots) is
 * flagged at load time instead of silently summing nothing. Only prefixes are listed where the payload
 * is open-ended (`raw.*`, `activity.*`, `person.*`).
 */

/** ITEM_COMMON_FIELDS are the fields every normalised item has, whatever its event type. */
export const ITEM_COMMON_FIELDS = [
  'source',
  'event',
  'id',
  'at',
  'receivedAt',
  'envelopeAt',
  'simulation',
  'user',
  'team',
  'org',
];
const OPEN_PREFIXES = ['raw', 'person'];
const APP = [
  'app.name',
  'app.type',
  'app.category',
  'app.domain',
  'app.fullUrl',
  'app.iconUrl',
  'app.productivityStatus',
];

/** KNOWN_EVENT_FIELDS lists, per known event type, its fields and open prefixes. */
export const KNOWN_EVENT_FIELDS: ReadonlyMap<
  string,
  { fields: ReadonlySet<string>; prefixes: readonly string[] }
> = new Map([
  [
    'desktop.app_tracking.captured',
    {
      fields: new Set([
        ...ITEM_COMMON_FIELDS,
        ...APP,
        'app',
        'time',
        'time.startDate',
        'time.endDate',
        'time.durationInSeconds',
        'trackingMode',
        'operatingSystem',
      ]),
      prefixes: OPEN_PREFIXES,
    },
  ],
  [
    'desktop.screenshot_tracking.captured',
    {
      fields: new Set([
        ...ITEM_COMMON_FIELDS,
        ...APP,
        'app',
        'time',
        'time.capturedAt',
        'screenshot',
        'screenshot.id',
        'screenshot.isIdle',
        'screenshot.image',
        'operatingSystem',
        'workType',
      ]),
      prefixes: [...OPEN_PREFIXES, 'screenshot.image'],
    },
  ],
  [
    'desktop.activity_tracking.captured',
    {
      fields: new Set([...ITEM_COMMON_FIELDS, 'activity', 'workType', 'operatingSystem', 'trackingMode']),
      // Two versions of this payload are published and consumers read more activity fields than
      // either documents, so anything under activity is accepted.
      prefixes: [...OPEN_PREFIXES, 'activity'],
    },
  ],
]);

function has(known: { fields: ReadonlySet<string>; prefixes: readonly string[] }, path: string): boolean {
  if (known.fields.has(path)) return true;
  return known.prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}.`));
}

/**
 * missingField returns the known event types (among those the pattern watches) that never carry `path`,
 * when every watched type is known and none carries it; undefined otherwise (no warning).
 */
export function missingField(on: EventPattern, path: string): string[] | undefined {
  if (on.any) return undefined;
  const types = new Set<string>();
  for (const event of on.exact) {
    if (!KNOWN_EVENT_FIELDS.has(event)) return undefined;
    types.add(event);
  }
  for (const glob of on.globs) {
    const regexp = globToRegExp(glob);
    const matched = [...KNOWN_EVENT_FIELDS.keys()].filter((event) => regexp.test(event));
    // A glob that matches no known type may be for another source: say nothing.
    if (matched.length === 0) return undefined;
    for (const event of matched) types.add(event);
  }
  if (types.size === 0) return undefined;
  const lacking = [...types].filter(
    (event) => !has(KNOWN_EVENT_FIELDS.get(event) ?? { fields: new Set(), prefixes: [] }, path),
  );
  return lacking.length === types.size ? lacking : undefined;
}
