import type { AppendInput } from '../../domain/event.js';
import type { Item } from '../../domain/item.js';
import type { HookrelayError } from '../../lib/errors.js';
import { StoreErrorCode, storeError } from '../errors.js';
import { uuidV7 } from '../ids.js';
import type { PreparedAppend, PreparedEvent } from './write-types.js';

function invalid(message: string, cause?: unknown): HookrelayError {
  return storeError(StoreErrorCode.inputInvalid, `cannot append: ${message}`, cause);
}

/**
 * epochMs checks a time and rounds it to the whole ms its INTEGER column holds. A finite number beyond the
 * safe integer range (1e19, say, from a payload's time) would make SQLite refuse the row (`cannot store
 * REAL value in INTEGER column`), so it is refused here, with the field's name.
 */
function epochMs(name: string, value: unknown): number {
  const rounded = typeof value === 'number' ? Math.round(value) : Number.NaN;
  if (!Number.isSafeInteger(rounded)) {
    throw invalid(`${name} must be an epoch ms within ±${Number.MAX_SAFE_INTEGER}, got ${String(value)}`);
  }
  return rounded;
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function asBuffer(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/**
 * itemJson serialises an item as stored: without `person`, which comes from the directory at evaluation
 * time (storing it would freeze a stale copy). The item is copied only when it carries a person.
 */
function itemJsonOf(item: Item): string {
  if (item.person === undefined) return JSON.stringify(item);
  const { person: _person, ...kept } = item;
  return JSON.stringify(kept);
}

/**
 * prepareAppend checks and serialises an append before it joins a batch. Everything that would make the
 * INSERTs throw is caught here (`HR_ERR_STORE_INPUT_INVALID`), so the batch's other appends never fail
 * because of this one. The request gets a fresh UUIDv7 (time-ordered, see ids.ts).
 */
export function prepareAppend(input: AppendInput): PreparedAppend {
  const { request } = input;
  if (!nonEmptyString(request?.source)) throw invalid('request.source must be a non-empty string');
  if (typeof request.event !== 'string') throw invalid('request.event must be a string');
  const receivedAt = epochMs('request.receivedAt', request.receivedAt);
  const body = asBuffer(request.body);
  if (!body) throw invalid('request.body must be a Buffer');
  if (!Array.isArray(input.events)) throw invalid('events must be an array');
  let bytes = body.length;
  const events: PreparedEvent[] = new Array(input.events.length);
  for (let index = 0; index < input.events.length; index++) {
    const event = input.events[index];
    if (!nonEmptyString(event?.dedupeKey))
      throw invalid(`events[${index}].dedupeKey must be a non-empty string`);
    const item = event.item;
    if (typeof item !== 'object' || item === null) throw invalid(`events[${index}].item must be an object`);
    if (!nonEmptyString(item.source))
      throw invalid(`events[${index}].item.source must be a non-empty string`);
    if (typeof item.event !== 'string') throw invalid(`events[${index}].item.event must be a string`);
    const at = epochMs(`events[${index}].item.at`, item.at);
    let image: Buffer | null = null;
    if (event.image !== undefined) {
      image = asBuffer(event.image) ?? null;
      if (!image) throw invalid(`events[${index}].image must be a Buffer`);
      bytes += image.length;
    }
    let itemJson: string;
    try {
      itemJson = itemJsonOf(item);
    } catch (error) {
      throw invalid(`events[${index}].item is not serialisable as JSON: ${(error as Error).message}`, error);
    }
    bytes += itemJson.length;
    events[index] = {
      source: item.source,
      type: item.event,
      dedupeKey: event.dedupeKey,
      at,
      userId: typeof item.user === 'string' ? item.user : null,
      itemJson,
      image,
    };
  }
  return {
    requestId: uuidV7(),
    source: request.source,
    event: request.event,
    // Integer ms: the column is a STRICT INTEGER, and events.received_at must match it exactly.
    receivedAt,
    body,
    events,
    bytes,
  };
}
