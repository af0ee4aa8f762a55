import type { NewEvent } from '../../domain/event.js';
import type { Item } from '../../domain/item.js';
import { createDedupeKeys } from './dedupe.js';
import {
  extractItem,
  firstId,
  getPath,
  isJsonObject,
  ORG_PATHS,
  TEAM_PATHS,
  USER_PATHS,
  withoutUndefined,
} from './extract.js';
import { type NormalizeContext, type NormalizeResult, payloadInvalid } from './result.js';
import { parseInstant } from './time.js';
import { readEventType, TRACKPILOTS_ID_PATHS, TRACKPILOTS_TIME_PATHS } from './trackpilots.js';

/** GenericNormalizeContext adds what an `hmac` or `standard-webhooks` source may know to the context. */
export interface GenericNormalizeContext extends NormalizeContext {
  /** Dotted path of the event type in the payload; default `type`, then `event`. */
  eventField?: string;
  /** The sender's delivery id (Standard Webhooks `webhook-id`), the same on every retry. */
  deliveryId?: string;
}

const DEFAULT_EVENT_FIELDS = ['type', 'event'] as const;
const ENVELOPE_TIME_PATHS = ['timestamp', 'createdAt', 'created_at', 'occurredAt', 'occurred_at'] as const;
const GENERIC_ID_PATHS = ['id', 'eventId', 'event_id', ...TRACKPILOTS_ID_PATHS] as const;
const GENERIC_TIME_PATHS = [...TRACKPILOTS_TIME_PATHS, ...ENVELOPE_TIME_PATHS] as const;

/**
 * normalizeGeneric turns a verified JSON payload of an `hmac` or `standard-webhooks` source into items:
 * one per element when `data` is an array, otherwise one for the whole payload. The event type comes from
 * `eventField` (or `type`, then `event`); ids, times and the known Trackpilots-style fields are read where
 * present. The dedupe key is `<deliveryId>:<index>` when the sender gave a delivery id, else the item's
 * id, else a content hash. It refuses only a payload that is not an object or has no event type.
 */
export function normalizeGeneric(payload: unknown, ctx: GenericNormalizeContext): NormalizeResult {
  if (!isJsonObject(payload)) return payloadInvalid('payload is not a JSON object');
  const fields = ctx.eventField === undefined ? DEFAULT_EVENT_FIELDS : [ctx.eventField];
  const field = fields.find((candidate) => getPath(payload, candidate) != null) ?? fields.join(' or ');
  const eventType = readEventType(getPath(payload, field), field);
  if (!eventType.ok) return payloadInvalid(eventType.reason);
  const event = eventType.event;

  const warnings: string[] = [];
  let envelopeTimestamp: unknown;
  let envelopeAt: number | undefined;
  for (const path of ENVELOPE_TIME_PATHS) {
    envelopeTimestamp = getPath(payload, path);
    if (envelopeTimestamp === undefined || envelopeTimestamp === null) continue;
    envelopeAt = parseInstant(envelopeTimestamp);
    if (envelopeAt === undefined) warnings.push(`${path} is not a date`);
    break;
  }
  const topSimulation = payload.simulation === true;

  const data: unknown = payload.data;
  const batch = Array.isArray(data);
  const elements: readonly unknown[] = batch ? data : [payload];
  if (batch && elements.length === 0) warnings.push('data is empty');
  // In a batch, ids on the envelope apply to every element that has none of its own.
  const envelopeIds = batch
    ? withoutUndefined({
        user: firstId(payload, USER_PATHS),
        team: firstId(payload, TEAM_PATHS),
        org: firstId(payload, ORG_PATHS),
      })
    : {};

  const keys = createDedupeKeys();
  const events: NewEvent[] = [];
  elements.forEach((element, index) => {
    const path = batch ? `data[${index}]` : 'payload';
    if (!isJsonObject(element)) {
      warnings.push(`${path} is not an object; skipped`);
      return;
    }
    const extracted = extractItem(element, {
      path,
      idPaths: GENERIC_ID_PATHS,
      // A whole payload's own timestamp is the envelope's, already read (and warned about) above.
      timePaths: batch ? GENERIC_TIME_PATHS : TRACKPILOTS_TIME_PATHS,
      fallbackAt: envelopeAt ?? ctx.receivedAt,
      fallbackName: envelopeAt === undefined ? 'receive time' : 'envelope timestamp',
    });
    warnings.push(...extracted.warnings);
    const deliveryKey = ctx.deliveryId === undefined ? undefined : `${ctx.deliveryId}:${index}`;
    const key = deliveryKey ?? extracted.id ?? keys.hashed(event, envelopeTimestamp, element);
    const item: Item = {
      source: ctx.source,
      event,
      id: extracted.id ?? key,
      at: extracted.at,
      receivedAt: ctx.receivedAt,
      ...(envelopeAt === undefined ? {} : { envelopeAt }),
      simulation: topSimulation || extracted.simulation,
      ...envelopeIds,
      ...withoutUndefined(extracted.fields),
      raw: extracted.raw,
    };
    events.push({
      dedupeKey: key,
      item,
      ...(extracted.image === undefined ? {} : { image: extracted.image }),
    });
  });
  return { ok: true, event, events, warnings };
}
