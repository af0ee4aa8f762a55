import type { ReceivedRequest, StoredEvent } from '../domain/event.js';
import type { Item } from '../domain/item.js';

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

/** AppendResult is what one append did. `stored + duplicates` always equals the number of items given. */
export interface AppendResult {
  /**
   * A fresh id for this request. The request row is kept only when `stored > 0`: a sender's retry whose
   * items are all duplicates (or a request with no items) would only keep a second copy of the body, so
   * `getRequest(requestId)` returns undefined for it. The id is still useful to correlate log lines.
   */
  requestId: string;
  /** Items newly stored. */
  stored: number;
  /** Items already in the log (same source + dedupe key), not stored again. */
  duplicates: number;
}

/** ListQuery selects items for `list`; `limit` is a non-negative integer. */
export interface ListQuery {
  limit: number;
  source?: string;
  type?: string;
}

/**
 * EventLog is the durable, ordered log of normalised items. Every method is async so that a networked
 * engine fits behind the same port. Every method rejects with `HR_ERR_STORE_CLOSED` after `Store.close()`;
 * errors are HookrelayErrors with `HR_ERR_STORE_*` codes (see src/store/errors.ts).
 */
export interface EventLog {
  /**
   * append stores a request and its items. It resolves only after the transaction holding them has
   * committed durably; concurrent calls share one transaction (group commit). Items whose
   * (source, dedupeKey) is already stored (by an earlier call, an earlier item of the same call, or a
   * concurrent call) are skipped and counted as duplicates. Items get increasing `seq` in the order given.
   * An input the store cannot keep is rejected alone with `HR_ERR_STORE_INPUT_INVALID`; a failed
   * transaction rejects every append it held with `HR_ERR_STORE_WRITE_FAILED` and stores none of them.
   */
  append(input: AppendInput): Promise<AppendResult>;
  /** list returns stored items newest first, without image bytes. It never returns more than `limit`. */
  list(query: ListQuery): Promise<StoredEvent[]>;
  /** readAfter returns up to `limit` items with seq > `afterSeq`, oldest first, images included. */
  readAfter(afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /** getRequest returns a received request by id, or undefined once pruned (or never kept, see AppendResult). */
  getRequest(id: string): Promise<ReceivedRequest | undefined>;
  /**
   * pruneOlderThan deletes items and requests received before `cutoffMs`; returns the items deleted. It
   * works in short chunks, so it never holds the write lock for long and appends keep committing meanwhile.
   */
  pruneOlderThan(cutoffMs: number): Promise<number>;
  /**
   * onAppend calls `listener` after each commit that stored at least one item (wakes the evaluator); never
   * for a commit that stored nothing. A throwing listener is logged and never affects appends. Returns an
   * unsubscribe function.
   */
  onAppend(listener: () => void): () => void;
}

/** Store is everything the stages persist. Later ports (evaluator state, outbox) join this object. */
export interface Store {
  readonly engine: 'sqlite' | 'postgres';
  readonly events: EventLog;
  /** checkWritable resolves true when a write transaction can commit now (for /readyz); it never rejects. */
  checkWritable(): Promise<boolean>;
  /** close flushes pending appends, then releases the database. Calling it again resolves and does nothing. */
  close(): Promise<void>;
}
