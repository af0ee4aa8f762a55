/**
 * MAX_JSON_DEPTH is how deeply a webhook body may nest arrays and objects (the envelope counts as one
 * level). Real payloads nest five or six levels; the limit leaves plenty of room for any sender, and keeps
 * every later stage (content hashes, alert rendering, delivery) far from a recursion that could overflow
 * the stack (issue 15 §3).
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * exceedsJsonDepth says whether JSON text nests arrays and objects deeper than `maxDepth`, without parsing
 * it: one pass over the bytes with a counter, never recursion. Strings are skipped with a native search
 * for their closing quote, so a large base64 screenshot costs next to nothing. Text that is not JSON gives
 * an answer that JSON.parse then makes moot.
 */
export function exceedsJsonDepth(buffer: Buffer, maxDepth: number = MAX_JSON_DEPTH): boolean {
  const length = buffer.length;
  let depth = 0;
  let index = 0;
  while (index < length) {
    const byte = buffer[index];
    if (byte === QUOTE) {
      index = stringEnd(buffer, index);
      if (index < 0) return false;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      depth++;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
    index++;
  }
  return false;
}

/** stringEnd returns the index of the quote closing the string opened at `open`, or -1 when none does. */
function stringEnd(buffer: Buffer, open: number): number {
  let quote = open;
  for (;;) {
    quote = buffer.indexOf(QUOTE, quote + 1);
    if (quote < 0) return -1;
    // A quote preceded by an odd number of backslashes is escaped and does not close the string.
    let backslashes = 0;
    while (buffer[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
}

/** JsonBody is a webhook body read as JSON, or why it cannot be (a short reason, safe to send back). */
export type JsonBody =
  | { ok: true; payload: unknown }
  | { ok: false; code: 'HR_ERR_INGEST_TOO_DEEP' | 'HR_ERR_INGEST_INVALID_JSON'; reason: string };

/**
 * parseJsonBody reads a body as JSON the way every path into the rules does (`serve` and `hookrelay
 * test`): refused when nested deeper than MAX_JSON_DEPTH, checked before parsing so the check is the
 * cheap part; refused when it is not JSON. It never throws.
 */
export function parseJsonBody(body: Buffer | string): JsonBody {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (exceedsJsonDepth(bytes)) {
    return {
      ok: false,
      code: 'HR_ERR_INGEST_TOO_DEEP',
      reason: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
    };
  }
  try {
    return { ok: true, payload: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch {
    return { ok: false, code: 'HR_ERR_INGEST_INVALID_JSON', reason: 'invalid JSON' };
  }
}
