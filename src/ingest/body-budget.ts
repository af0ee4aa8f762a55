/**
 * ByteBudget caps the request-body bytes held in memory at once across every connection, before their
 * signature is checked: whoever can open a connection can send bytes, and without a cap 60 clients each
 * trickling 9 MB held 540 MB (issue 15 §4). A reader takes bytes as they arrive and gives them back when
 * its body is read or abandoned.
 */
export interface ByteBudget {
  /** Takes `bytes` if they fit under the limit; false (and nothing taken) when they do not. */
  take(bytes: number): boolean;
  /** Gives back bytes taken earlier. */
  give(bytes: number): void;
  /** Bytes taken now (the `hookrelay_ingest_buffered_bytes` gauge). */
  inUse(): number;
  /** Changes the limit (a config reload); bytes already taken stay taken. */
  setLimit(bytes: number): void;
}

/** createByteBudget builds a budget of `limit` bytes. */
export function createByteBudget(limit: number): ByteBudget {
  let max = limit;
  let used = 0;
  return {
    take(bytes) {
      if (used + bytes > max) return false;
      used += bytes;
      return true;
    },
    give(bytes) {
      used = Math.max(0, used - bytes);
    },
    inUse: () => used,
    setLimit(bytes) {
      max = bytes;
    },
  };
}
