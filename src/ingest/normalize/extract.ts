import type { AppInfo, Item, ScreenshotInfo } from '../../domain/item.js';
import { decodeImage, imageMarker } from './image.js';
import { readInstant } from './time.js';

/** MAX_ID_CHARS is the longest value taken as an id; longer values are not ids (and would bloat the dedupe index). */
export const MAX_ID_CHARS = 200;

/** JsonObject is a parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** isJsonObject says whether a parsed JSON value is an object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** KeyPath is a dotted path split into its keys once, so reading it on the hot path allocates nothing. */
export type KeyPath = readonly string[];

// Dotted paths are split once and kept: the normalisers read the same few dozen paths for every item (plus
// the configured event fields). Capped, so a caller passing ever new paths cannot grow it without bound.
const splitPaths = new Map<string, KeyPath>();
const MAX_CACHED_PATHS = 1_000;

/** keyPath returns `path` split at its dots (cached). */
export function keyPath(path: string): KeyPath {
  let keys = splitPaths.get(path);
  if (keys === undefined) {
    keys = path.split('.');
    if (splitPaths.size < MAX_CACHED_PATHS) splitPaths.set(path, keys);
  }
  return keys;
}

/** getKeys reads a path of keys through nested objects (own properties only), or undefined where it leaves them. */
export function getKeys(value: unknown, keys: KeyPath): unknown {
  let current = value;
  for (const key of keys) {
    if (!isJsonObject(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** getPath reads a dotted path through nested objects, or returns undefined where the path leaves them. */
export function getPath(value: unknown, path: string): unknown {
  return getKeys(value, keyPath(path));
}

/**
 * readId reads an id as a plain string: a string, trimmed, of 1 to MAX_ID_CHARS characters, or a
 * non-negative safe integer; anything else is not an id (undefined).
 */
export function readId(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed.length >= 1 && trimmed.length <= MAX_ID_CHARS ? trimmed : undefined;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}

/*
 * The fields below are read leniently and by hand (no schema library on the hot path): a field of the wrong
 * type is dropped, not fatal, so one odd field never costs the item. Each reader returns undefined for a
 * value of the wrong type and never fails.
 */

function optString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function optBoolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/** optRecord returns a shallow copy of an object (never an array), so the item never shares raw's objects. */
function optRecord(value: unknown): Record<string, unknown> | undefined {
  return isJsonObject(value) ? { ...value } : undefined;
}

/** optObject returns an object (never an array) to read fields from, or undefined. */
function optObject(value: unknown): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

/**
 * optApp reads the known app fields that are strings, in a fixed order. Any object gives an AppInfo (maybe
 * empty, which the caller drops), so an `app` object in the documented place hides the fallbacks.
 */
function optApp(value: unknown): AppInfo | undefined {
  if (!isJsonObject(value)) return undefined;
  const app: AppInfo = {};
  for (const key of APP_KEYS) {
    const field = value[key];
    if (typeof field === 'string') app[key] = field;
  }
  return app;
}

const APP_KEYS = ['name', 'type', 'category', 'domain', 'fullUrl', 'iconUrl', 'productivityStatus'] as const;

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
  const kept: Partial<T> = {};
  for (const key in value) {
    if (Object.hasOwn(value, key) && value[key] !== undefined) kept[key] = value[key];
  }
  return kept;
}

// Like withoutUndefined, but an object left empty becomes undefined (no `app: {}` on an item).
function compact<T extends object>(value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  const kept = withoutUndefined(value);
  for (const key in kept) if (Object.hasOwn(kept, key)) return kept as T;
  return undefined;
}

/** firstId returns the first of `paths` holding a usable id. */
export function firstId(value: unknown, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const id = readId(getKeys(value, keyPath(path)));
    if (id !== undefined) return id;
  }
  return undefined;
}

const SCREENSHOT_ID_PATHS = ['screenshot.screenshotId', 'screenshotId'] as const;

/**
 * extractItem reads one data element into Item fields: ids (nested or flat, as strings), the item's own
 * time, app, time object, screenshot (image decoded once; the bytes travel beside the item), activity and
 * the context fields. `raw` is the element with any image replaced by a short marker. A field of an
 * unexpected type is left out rather than failing the item; an unparseable date falls back with a warning.
 */
export function extractItem(value: JsonObject, options: ExtractOptions): ExtractedItem {
  const warnings: string[] = [];
  const tracking = optObject(value.tracking);
  const screenshot = optObject(value.screenshot);
  const activity = optRecord(value.activity);
  const shape = {
    app: optApp(value.app),
    time: optRecord(value.time),
    workType: optString(value.workType),
    workTime: value.workTime,
    trackingMode: optString(value.trackingMode),
    operatingSystem: optString(value.operatingSystem),
  };

  let at: number | undefined;
  for (const path of options.timePaths) {
    const found = getKeys(value, keyPath(path));
    if (found === undefined || found === null || found === '') continue;
    const read = readInstant(found);
    if (typeof read === 'number') {
      at = read;
      break;
    }
    warnings.push(`${options.path}.${path} is ${read}`);
  }
  if (at === undefined && warnings.length > 0) {
    warnings.push(`${options.path} has no usable time; used the ${options.fallbackName}`);
  }

  let screenshotInfo: ScreenshotInfo | undefined;
  let image: Buffer | undefined;
  let raw: unknown = value;
  const screenshotId = firstId(value, SCREENSHOT_ID_PATHS);
  if (screenshot !== undefined || screenshotId !== undefined) {
    screenshotInfo = { id: screenshotId, isIdle: optBoolean(screenshot?.isIdle) };
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
      app: compact(optApp(tracking?.app) ?? optApp(screenshot?.app) ?? shape.app),
      time: optRecord(tracking?.time) ?? optRecord(screenshot?.time) ?? shape.time,
      screenshot: compact(screenshotInfo),
      activity: hasActivity ? compact({ ...activity, ...compact(flatActivity) }) : undefined,
      operatingSystem:
        optString(tracking?.operatingSystem) ??
        optString(screenshot?.operatingSystem) ??
        shape.operatingSystem ??
        optString(activity?.operatingSystem),
      workType: optString(screenshot?.workType) ?? shape.workType ?? optString(activity?.workType),
      trackingMode:
        optString(tracking?.trackingMode) ?? shape.trackingMode ?? optString(activity?.trackingMode),
    },
    image,
    raw,
    warnings,
  };
}
