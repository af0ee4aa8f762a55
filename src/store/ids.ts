import { randomFillSync } from 'node:crypto';

/*
 * Request ids are UUIDv7 (RFC 9562): 48 bits of Unix time in ms, a 12-bit counter for ids made in the same
 * ms, and 62 random bits. They are as unique as random UUIDs for our purpose, and they sort by creation
 * time, so the `requests` primary key and the `events.request_id` index grow at their right edge: a batch
 * of appends dirties a few index pages instead of one random page per request, which is a large part of
 * what a commit writes and fsyncs.
 */

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

// Random bytes are drawn in blocks: one getrandom call per 512 ids instead of one per id.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

let lastMs = 0;
let counter = 0;

function hex(bytes: Buffer, start: number, end: number): string {
  let text = '';
  for (let index = start; index < end; index++) text += HEX[bytes[index] ?? 0];
  return text;
}

/**
 * uuidV7 returns a new UUIDv7 string. Ids made by one process increase strictly, even within the same ms
 * and when the clock steps back (the time part then stays at the last value until the clock catches up).
 */
export function uuidV7(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else if (++counter > 0xfff) {
    // 4,096 ids in one ms: borrow the next ms rather than repeat a counter value.
    lastMs += 1;
    counter = 0;
  }
  if (poolOffset + 8 > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.allocUnsafe(16);
  const ms = lastMs;
  // 48-bit big-endian ms: the high 16 bits, then the low 32.
  bytes.writeUInt16BE(Math.floor(ms / 2 ** 32) & 0xffff, 0);
  bytes.writeUInt32BE(ms >>> 0, 2);
  bytes[6] = 0x70 | (counter >>> 8);
  bytes[7] = counter & 0xff;
  pool.copy(bytes, 8, poolOffset, poolOffset + 8);
  poolOffset += 8;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  return `${hex(bytes, 0, 4)}-${hex(bytes, 4, 6)}-${hex(bytes, 6, 8)}-${hex(bytes, 8, 10)}-${hex(bytes, 10, 16)}`;
}
