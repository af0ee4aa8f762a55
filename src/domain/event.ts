import type { Item } from './item.js';

/*
 * The three things "event" can mean (see README.md here): a received request (one webhook POST), a new
 * event (one item normalised from it, about to be stored) and a stored event (that item in the log).
 */

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

/** NewEvent is one normalised item to append, with the bytes of its screenshot when it carried one. */
export interface NewEvent {
  /** Unique per `item.source`: an item whose (source, dedupeKey) is already stored is a duplicate. */
  dedupeKey: string;
  /** Kept as JSON without `person` (filled from the directory at evaluation time, never stored). */
  item: Item;
  image?: Buffer;
}

/** AppendInput is one received webhook request and the items normalised from it, in payload order. */
export interface AppendInput {
  request: Omit<ReceivedRequest, 'id'>;
  events: NewEvent[];
}
