import type { ReceivedRequest, StoredEvent } from '../domain/event.js';
import type { Item } from '../domain/item.js';

/** One normalised item to append, with the bytes of its screenshot when it carried one. */
export interface NewEvent {
  dedupeKey: string;
  item: Item;
  image?: Buffer;
}

export interface AppendInput {
  request: Omit<ReceivedRequest, 'id'>;
  events: NewEvent[];
}

export interface AppendResult {
  requestId: string;
  /** Items newly stored. */
  stored: number;
  /** Items already in the log (same source + dedupe key), not stored again. */
  duplicates: number;
}

export interface ListQuery {
  limit: number;
  source?: string;
  type?: string;
}

/**
 * EventLog is the durable, ordered log of normalised items. Every method is async so that a networked
 * engine fits behind the same port.
 */
export interface EventLog {
  /**
   * append stores a request and its items. It resolves only after the transaction holding them has
   * committed durably; concurrent calls share one transaction (group commit). Items whose
   * (source, dedupeKey) is already stored are skipped and counted as duplicates.
   */
  append(input: AppendInput): Promise<AppendResult>;
  /** list returns stored items newest first, without image bytes. */
  list(query: ListQuery): Promise<StoredEvent[]>;
  /** readAfter returns up to `limit` items with seq > `afterSeq`, oldest first, images included. */
  readAfter(afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /** getRequest returns a received request by id, or undefined once pruned. */
  getRequest(id: string): Promise<ReceivedRequest | undefined>;
  /** pruneOlderThan deletes items and requests received before `cutoffMs`; returns the items deleted. */
  pruneOlderThan(cutoffMs: number): Promise<number>;
  /** onAppend calls `listener` after each commit that stored at least one item (wakes the evaluator). */
  onAppend(listener: () => void): () => void;
}

/** Store is everything the stages persist. Later ports (evaluator state, outbox) join this object. */
export interface Store {
  readonly engine: 'sqlite' | 'postgres';
  readonly events: EventLog;
  /** checkWritable resolves true when a write transaction can commit now (for /readyz). */
  checkWritable(): Promise<boolean>;
  /** close flushes pending appends, then releases the database. */
  close(): Promise<void>;
}
