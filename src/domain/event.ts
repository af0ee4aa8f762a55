import type { Item } from './item.js';

/** An item as kept in the event log. `seq` orders the log; the evaluator's cursor is a seq. */
export interface StoredEvent {
  seq: number;
  /** The received webhook request this item came from. */
  requestId: string;
  /** Unique per source: the per-item id, or a hash of the item. */
  dedupeKey: string;
  item: Item;
  /** Screenshot bytes, when the item carried an image (loaded only when asked for). */
  image?: Buffer;
}

/** One received webhook request, kept so `body: event` forwards can send the payload as it came. */
export interface ReceivedRequest {
  id: string;
  source: string;
  event: string;
  receivedAt: number;
  body: Buffer;
}
