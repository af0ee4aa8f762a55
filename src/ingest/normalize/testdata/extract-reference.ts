import { z } from 'zod';
import type { AppInfo, ScreenshotInfo } from '../../../domain/item.js';
import {
  type ExtractedItem,
  type ExtractOptions,
  getPath,
  isJsonObject,
  type JsonObject,
  MAX_ID_CHARS,
} from '../extract.js';
import { decodeImage, imageMarker } from '../image.js';
import { readInstant } from '../time.js';

/*
 * The first extractItem, written with zod schemas, kept as the reference the hand-written one must match
 * (extract.test.ts compares them on generated items): items already stored were made by it, and rules
 * rely on exactly which odd field is kept or dropped.
 */

const ID = z
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

const USER_PATHS = ['user.userId', 'user.id', 'user', 'userId', 'user_id'];
const TEAM_PATHS = ['team.teamId', 'team.id', 'team', 'teamId', 'team_id'];
const ORG_PATHS = [
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
];

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, property]) => property !== undefined),
  ) as Partial<T>;
}

function compact<T extends object>(value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  const kept = withoutUndefined(value);
  return Object.keys(kept).length === 0 ? undefined : (kept as T);
}

function firstId(value: unknown, paths: readonly string[]): string | undefined {
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

/** referenceExtractItem is the zod-based extractItem as it was first written. */
export function referenceExtractItem(value: JsonObject, options: ExtractOptions): ExtractedItem {
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
