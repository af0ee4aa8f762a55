import type { NewEvent } from '../../domain/event.js';
import type { Item } from '../../domain/item.js';
import { createDedupeKeys } from './dedupe.js';
import { extractItem, isJsonObject, withoutUndefined } from './extract.js';
import { type NormalizeContext, type NormalizeResult, payloadInvalid } from './result.js';
import { parseInstant } from './time.js';

/** MAX_EVENT_TYPE_CHARS is the longest event type accepted; longer is not an event type. */
export const MAX_EVENT_TYPE_CHARS = 200;

/** TRACKPILOTS_ID_PATHS are the per-item ids, in order: documented nested first, then flat variants. */
export const TRACKPILOTS_ID_PATHS = [
  'tracking.trackingId',
  'screenshot.screenshotId',
  'workEventId',
  'trackingId',
  'screenshotId',
] as const;

/**
 * TRACKPILOTS_TIME_PATHS are where an item's own time may be, in order. End dates come after start dates
 * because older agents sometimes send only one of them.
 */
export const TRACKPILOTS_TIME_PATHS = [
  'tracking.time.startDate',
  'tracking.time.startTime',
  'tracking.time.endDate',
  'tracking.time.endTime',
  'screenshot.time.capturedAt',
  'time.startDate',
  'time.startTime',
  'time.capturedAt',
  'workTime',
  'activity.startDate',
] as const;

/** isEventType says whether a value is usable as an event type: a string of at most MAX_EVENT_TYPE_CHARS, not blank. */
export function isEventType(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_EVENT_TYPE_CHARS && value.trim() !== '';
}

/**
 * readEventType returns the validated event type, or the short reason it is unusable (safe to send back).
 */
export function readEventType(
  value: unknown,
  where: string,
): { ok: true; event: string } | { ok: false; reason: string } {
  if (value === undefined || value === null)
    return { ok: false, reason: `payload has no event type (${where})` };
  if (!isEventType(value)) {
    return {
      ok: false,
      reason: `event type (${where}) is not a non-empty string of at most ${MAX_EVENT_TYPE_CHARS} characters`,
    };
  }
  return { ok: true, event: value };
}

/**
 * dataElements returns a payload's `data` as a list of elements: an array as is, a single object as a
 * list of one (activity version A), and nothing (with a warning) when data is missing, empty or neither;
 * for missing or neither, normalizeTrackpilots then stores the envelope itself, as the warning says.
 */
export function dataElements(data: unknown, warnings: string[]): unknown[] {
  if (Array.isArray(data)) {
    if (data.length === 0) warnings.push('data is empty');
    return data;
  }
  if (isJsonObject(data)) return [data];
  warnings.push(
    data === undefined || data === null
      ? 'payload has no data; the envelope is stored as one item'
      : 'data is neither an object nor an array; the envelope is stored as one item',
  );
  return [];
}

/**
 * normalizeTrackpilots turns a verified Trackpilots payload into items, one per element of `data`
 * (an array, or a single object). It refuses only a payload that is not an object or has no usable
 * `event`; unknown event types get the same generic extraction and are never refused. The dedupe key is
 * the per-item id, else a content hash; a simulation's key also holds the envelope time, so running the
 * same simulation twice is not dropped as a duplicate.
 */
export function normalizeTrackpilots(payload: unknown, ctx: NormalizeContext): NormalizeResult {
  if (!isJsonObject(payload)) return payloadInvalid('payload is not a JSON object');
  const eventType = readEventType(payload.event, 'event');
  if (!eventType.ok) return payloadInvalid(eventType.reason);
  const event = eventType.event;

  const warnings: string[] = [];
  const { timestamp } = payload;
  const envelopeAt = timestamp === undefined || timestamp === null ? undefined : parseInstant(timestamp);
  if (envelopeAt === undefined && timestamp !== undefined && timestamp !== null)
    warnings.push('timestamp is not a date');
  const topSimulation = payload.simulation === true;

  const keys = createDedupeKeys();
  const events: NewEvent[] = [];
  const elements = dataElements(payload.data, warnings);
  // A genuine event whose data is missing or of a shape never seen is still stored, as it came: one item
  // holding the envelope, so `hookrelay events` shows it and a rule on its event type can match it. An
  // empty array is a batch of nothing, and stays nothing.
  const envelopeOnly = elements.length === 0 && !Array.isArray(payload.data);
  (envelopeOnly ? [payload] : elements).forEach((element, index) => {
    const path = envelopeOnly ? 'payload' : `data[${index}]`;
    if (!isJsonObject(element)) {
      warnings.push(`${path} is not an object; skipped`);
      return;
    }
    const extracted = extractItem(element, {
      path,
      idPaths: TRACKPILOTS_ID_PATHS,
      timePaths: TRACKPILOTS_TIME_PATHS,
      fallbackAt: envelopeAt ?? ctx.receivedAt,
      fallbackName: envelopeAt === undefined ? 'receive time' : 'envelope timestamp',
    });
    warnings.push(...extracted.warnings);
    const simulation = topSimulation || extracted.simulation;
    const baseKey = extracted.id ?? keys.hashed(event, timestamp, element);
    const item: Item = {
      source: ctx.source,
      event,
      id: extracted.id ?? baseKey,
      at: extracted.at,
      receivedAt: ctx.receivedAt,
      ...(envelopeAt === undefined ? {} : { envelopeAt }),
      simulation,
      ...withoutUndefined(extracted.fields),
      raw: extracted.raw,
    };
    events.push({
      // A simulation may reuse the same sample ids every run (the docs' examples all share one UUID); keyed
      // by id alone, every run after the first would be dropped as a duplicate and alert nobody.
      dedupeKey: simulation ? `sim:${baseKey}:${envelopeAt ?? ctx.receivedAt}` : baseKey,
      item,
      ...(extracted.image === undefined ? {} : { image: extracted.image }),
    });
  });
  return { ok: true, event, events, warnings };
}
