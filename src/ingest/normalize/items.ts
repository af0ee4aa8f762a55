import type { NewEvent } from '../../domain/event.js';
import type { Item } from '../../domain/item.js';
import { createDedupeKeys } from './dedupe.js';
import { extractItem, isJsonObject, withoutUndefined } from './extract.js';
import type { NormalizeContext } from './result.js';

/** ItemsInput is what every normaliser knows once it has read a payload's envelope. */
export interface ItemsInput {
  ctx: NormalizeContext;
  event: string;
  /** The elements that become items, one each; an element that is not an object is skipped with a warning. */
  elements: readonly unknown[];
  /** The elements come from a `data` array (named `data[i]` in warnings), else the whole payload (`payload`). */
  batch: boolean;
  idPaths: readonly string[];
  timePaths: readonly string[];
  /** The envelope's time as sent (part of an id-less item's content hash) and as epoch ms, if it parsed. */
  envelopeTimestamp: unknown;
  envelopeAt: number | undefined;
  /** The envelope says `simulation: true`: every item is one. */
  simulation: boolean;
  /** Ids from the envelope, for items that carry none of their own. */
  envelopeIds?: Pick<Item, 'user' | 'team' | 'org'>;
  /** The sender's delivery id: the dedupe key becomes `<deliveryId>:<index>`, the same on every retry. */
  deliveryId?: string;
  /**
   * A simulation's key also holds the envelope time. Trackpilots' simulator may reuse the same sample ids
   * every run (the docs' examples all share one UUID); keyed by id alone, every run after the first would be
   * dropped as a duplicate and alert nobody.
   */
  keySimulationRuns?: boolean;
}

/**
 * itemsOf turns a payload's elements into events to append: the fields each element holds, its time (else
 * the envelope's, else the receive time), its id and dedupe key (the delivery id and index, else the item's
 * id, else a content hash). Warnings about paths and shapes, never values, are pushed onto `warnings`.
 */
export function itemsOf(input: ItemsInput, warnings: string[]): NewEvent[] {
  const { ctx, event, envelopeAt } = input;
  const keys = createDedupeKeys();
  const events: NewEvent[] = [];
  input.elements.forEach((element, index) => {
    const path = input.batch ? `data[${index}]` : 'payload';
    if (!isJsonObject(element)) {
      warnings.push(`${path} is not an object; skipped`);
      return;
    }
    const extracted = extractItem(element, {
      path,
      idPaths: input.idPaths,
      timePaths: input.timePaths,
      fallbackAt: envelopeAt ?? ctx.receivedAt,
      fallbackName: envelopeAt === undefined ? 'receive time' : 'envelope timestamp',
    });
    warnings.push(...extracted.warnings);
    const simulation = input.simulation || extracted.simulation;
    const deliveryKey = input.deliveryId === undefined ? undefined : `${input.deliveryId}:${index}`;
    const key = deliveryKey ?? extracted.id ?? keys.hashed(event, input.envelopeTimestamp, element);
    const item: Item = {
      source: ctx.source,
      event,
      id: extracted.id ?? key,
      at: extracted.at,
      receivedAt: ctx.receivedAt,
      ...(envelopeAt === undefined ? {} : { envelopeAt }),
      simulation,
      ...input.envelopeIds,
      ...withoutUndefined(extracted.fields),
      raw: extracted.raw,
    };
    events.push({
      dedupeKey: input.keySimulationRuns && simulation ? `sim:${key}:${envelopeAt ?? ctx.receivedAt}` : key,
      item,
      ...(extracted.image === undefined ? {} : { image: extracted.image }),
    });
  });
  return events;
}
