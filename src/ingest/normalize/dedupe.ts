import { contentHash } from './canonical.js';

/**
 * createDedupeKeys hands out dedupe keys for one payload. Items without an id are keyed by a hash of the
 * event type, the envelope timestamp and the item, so the same delivery sent twice gives the same keys
 * while the same toggle reported at another time does not. Two identical id-less items in one payload
 * are told apart by an occurrence suffix (`#2`), which is as stable as the payload itself.
 */
export function createDedupeKeys(): {
  hashed(event: string, envelopeTimestamp: unknown, item: unknown): string;
} {
  const seen = new Map<string, number>();
  return {
    hashed(event, envelopeTimestamp, item) {
      const hash = contentHash({ event, timestamp: envelopeTimestamp ?? null, item });
      const count = (seen.get(hash) ?? 0) + 1;
      seen.set(hash, count);
      return count === 1 ? hash : `${hash}#${count}`;
    },
  };
}
