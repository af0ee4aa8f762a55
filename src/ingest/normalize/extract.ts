import { z } from 'zod';
import type { AppInfo, Item, ScreenshotInfo } from '../../domain/item.js';
import { decodeImage, imageMarker } from './image.js';
import { parseInstant } from './time.js';

/** MAX_ID_CHARS is the longest value taken as an id; longer values are not ids (and would bloat the dedupe index). */
export const MAX_ID_CHARS = 200;

/** JsonObject is a parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** isJsonObject says whether a parsed JSON value is an object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** getPath reads a dotted path through nested objects, or returns undefined where the path leaves them. */
export function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (!isJsonObject(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** ID reads an id as a plain string: a non-empty string (trimmed) or a non-negative integer. */
export const ID = z
  .union([
    z.string().trim().min(1).max(MAX_ID_CHARS),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  ])
  .transform((value) => String(value));

const optString = z.string().optional().catch(undefined);
const optBoolean = z.boolean().optional().catch(undefined);
const optRecord = z.record(z.string(), z.unknown()).optional().catch(undefined);
const optApp = z
  .object({
    name: optString,
    type: optString,
    category: optString,
    domain: optString,
    fullUrl: optString,
    iconUrl: optString,
    productivityStatus: optString,
  })
  .optional()
  .catch(undefined);

// Lenient on purpose: a field of the wrong type is dropped, not fatal, so one odd field never costs the item.
const ITEM = z.looseObject({
  tracking: z
    .looseObject({ app: optApp, time: optRecord, trackingMode: optString, operatingSystem: optString })
    .optional()
    .catch(undefined),
  screenshot: z
    .looseObject({
      imageBuffer: z.unknown().optional(),
      app: optApp,
      time: optRecord,
      operatingSystem: optString,
      workType: optString,
      isIdle: optBoolean,
    })
    .optional()
    .catch(undefined),
  activity: optRecord,
  time: optRecord,
  app: optApp,
  workType: optString,
  workTime: z.unknown().optional(),
  trackingMode: optString,
  operatingSystem: optString,
});

/** USER_PATHS are where a user id may sit: nested as documented, flat, or as a bare value. */
export const USER_PATHS = ['user.userId', 'user.id', 'user', 'userId', 'user_id'] as const;
/** TEAM_PATHS are where a team id may sit, like USER_PATHS. */
export const TEAM_PATHS = ['team.teamId', 'team.id', 'team', 'teamId', 'team_id'] as const;
/** ORG_PATHS are where an organisation id may sit, in either spelling. */
export const ORG_PATHS = [
  'organisation.organisationId',
  'organization.organizationId',
  'organisation.id',
  'organization.id',
  'organisation',
  'organization',
  'organisationId',
  'organizationId',
  'orgId',
  'org_id',
] as const;

/** ExtractOptions says where a source keeps its per-item id and time, and what to fall back to. */
export interface ExtractOptions {
  /** Prefix for warnings, such as `data[3]`. */
  path: string;
  /** Per-item id paths, first present wins. */
  idPaths: readonly string[];
  /** Item time paths, first parseable wins. */
  timePaths: readonly string[];
  /** Used when no time path parses: the envelope timestamp, else the receive time. */
  fallbackAt: number;
  /** Named in the warning when the fallback is used after a bad date. */
  fallbackName: string;
}

/** ExtractedItem is the part of an Item that comes from one data element, plus its image bytes and warnings. */
export interface ExtractedItem {
  id?: string;
  at: number;
  simulation: boolean;
  fields: Pick<
    Item,
    | 'user'
    | 'team'
    | 'org'
    | 'app'
    | 'time'
    | 'screenshot'
    | 'activity'
    | 'operatingSystem'
    | 'workType'
    | 'trackingMode'
  >;
  image?: Buffer;
  raw: unknown;
  warnings: string[];
}

/** withoutUndefined copies an object without its undefined properties, so stored items hold no empty keys. */
export function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, property]) => property !== undefined),
  ) as Partial<T>;
}

// Like withoutUndefined, but an object left empty becomes undefined (no `app: {}` on an item).
function compact<T extends object>(value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  const kept = withoutUndefined(value);
  return Object.keys(kept).length === 0 ? undefined : (kept as T);
}

/** firstId returns the first of `paths` holding a usable id. */
export function firstId(value: unknown, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const parsed = ID.safeParse(getPath(value, path));
    if (parsed.success) return parsed.data;
  }
  return undefined;
}

function stringAt(value: unknown, path: string): string | undefined {
  const found = getPath(value, path);
  return typeof found === 'string' ? found : undefined;
}

/**
 * extractItem reads one data element into Item fields: ids (nested or flat, as strings), the item's own
 * time, app, time object, screenshot (image decoded once; the bytes travel beside the item), activity and
 * the context fields. `raw` is the element with any image replaced by a short marker. A field of an
 * unexpected type is left out rather than failing the item; an unparseable date falls back with a warning.
 */
export function extractItem(value: JsonObject, options: ExtractOptions): ExtractedItem {
  const warnings: string[] = [];
  const parsed = ITEM.safeParse(value);
  const shape = parsed.success ? parsed.data : {};
  const tracking = shape.tracking;
  const screenshot = shape.screenshot;
  const activity = shape.activity;

  let at: number | undefined;
  for (const path of options.timePaths) {
    const found = getPath(value, path);
    if (found === undefined || found === null || found === '') continue;
    at = parseInstant(found);
    if (at !== undefined) break;
    warnings.push(`${options.path}.${path} is not a date`);
  }
  if (at === undefined && warnings.length > 0) {
    warnings.push(`${options.path} has no usable time; used the ${options.fallbackName}`);
  }

  let screenshotInfo: ScreenshotInfo | undefined;
  let image: Buffer | undefined;
  let raw: unknown = value;
  const screenshotId = firstId(value, ['screenshot.screenshotId', 'screenshotId']);
  if (screenshot !== undefined || screenshotId !== undefined) {
    screenshotInfo = { id: screenshotId, isIdle: screenshot?.isIdle };
    const original = value.screenshot;
    if (screenshot?.imageBuffer !== undefined && isJsonObject(original)) {
      const decoded = decodeImage(screenshot.imageBuffer);
      screenshotInfo.image = decoded.ref;
      image = decoded.bytes;
      if (decoded.warning !== undefined)
        warnings.push(`${options.path}.screenshot.imageBuffer: ${decoded.warning}`);
      raw = { ...value, screenshot: { ...original, imageBuffer: imageMarker(decoded.ref) } };
    }
  }

  const flatActivity = { workType: shape.workType, workTime: shape.workTime };
  const hasActivity =
    activity !== undefined ||
    shape.workTime !== undefined ||
    (shape.workType !== undefined && screenshot === undefined);

  const id = firstId(value, options.idPaths);
  if (id === undefined && (tracking !== undefined || screenshot !== undefined)) {
    warnings.push(`${options.path} has no per-item id; deduplicated by content`);
  }

  return {
    id,
    at: at ?? options.fallbackAt,
    simulation: value.simulation === true,
    fields: {
      user: firstId(value, USER_PATHS),
      team: firstId(value, TEAM_PATHS),
      org: firstId(value, ORG_PATHS),
      app: compact<AppInfo>(tracking?.app ?? screenshot?.app ?? shape.app),
      time: tracking?.time ?? screenshot?.time ?? shape.time,
      screenshot: compact(screenshotInfo),
      activity: hasActivity ? compact({ ...activity, ...compact(flatActivity) }) : undefined,
      operatingSystem:
        tracking?.operatingSystem ??
        screenshot?.operatingSystem ??
        shape.operatingSystem ??
        stringAt(activity, 'operatingSystem'),
      workType: screenshot?.workType ?? shape.workType ?? stringAt(activity, 'workType'),
      trackingMode: tracking?.trackingMode ?? shape.trackingMode ?? stringAt(activity, 'trackingMode'),
    },
    image,
    raw,
    warnings,
  };
}
