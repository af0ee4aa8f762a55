/*
 * How a batch's appends travel to the writer thread: one array of short values plus one buffer holding
 * every body and image, so posting a batch costs one structured clone of primitives and a transfer (no
 * copy) of the bytes. Encoded on the main thread (writer.ts), decoded on the writer thread
 * (writer-thread.js); both sides are here so that the layout is written once.
 *
 * Layout of `fields`: per append [requestId, source, event, receivedAt, bodyOffset, bodyLength,
 * eventCount], then per item [source, type, dedupeKey, at, userId, itemJson, imageOffset (-1: none),
 * imageLength]. Offsets and lengths are into `bytes`.
 */

/** @import { AppendRows, PreparedEvent } from './write-types.js' */

const APPEND_FIELDS = 7;
const EVENT_FIELDS = 8;

/**
 * encodeAppends flattens appends for postMessage. The bytes are copied into a fresh buffer first: a
 * request body may be a view into a shared pool, which must be neither transferred nor cloned whole.
 * @param {readonly AppendRows[]} appends
 * @returns {{ fields: Array<string | number | null>; bytes: ArrayBuffer }}
 */
export function encodeAppends(appends) {
  let total = 0;
  for (const append of appends) {
    total += append.body.length;
    for (const event of append.events) if (event.image) total += event.image.length;
  }
  const bytes = new Uint8Array(total);
  /** @type {Array<string | number | null>} */
  const fields = [];
  let offset = 0;
  for (const append of appends) {
    bytes.set(append.body, offset);
    fields.push(
      append.requestId,
      append.source,
      append.event,
      append.receivedAt,
      offset,
      append.body.length,
      append.events.length,
    );
    offset += append.body.length;
    for (const event of append.events) {
      let imageOffset = -1;
      let imageLength = 0;
      if (event.image) {
        bytes.set(event.image, offset);
        imageOffset = offset;
        imageLength = event.image.length;
        offset += imageLength;
      }
      fields.push(
        event.source,
        event.type,
        event.dedupeKey,
        event.at,
        event.userId,
        event.itemJson,
        imageOffset,
        imageLength,
      );
    }
  }
  return { fields, bytes: bytes.buffer };
}

/**
 * decodeAppends rebuilds the appends encodeAppends flattened. Bodies and images are views into `bytes`
 * (no copy).
 * @param {ReadonlyArray<string | number | null>} fields
 * @param {ArrayBuffer} bytes
 * @returns {AppendRows[]}
 */
export function decodeAppends(fields, bytes) {
  const all = Buffer.from(bytes);
  const text = (/** @type {number} */ at) => /** @type {string} */ (fields[at]);
  const number = (/** @type {number} */ at) => /** @type {number} */ (fields[at]);
  /** @type {AppendRows[]} */
  const appends = [];
  let i = 0;
  while (i < fields.length) {
    const bodyOffset = number(i + 4);
    const eventCount = number(i + 6);
    /** @type {AppendRows} */
    const append = {
      requestId: text(i),
      source: text(i + 1),
      event: text(i + 2),
      receivedAt: number(i + 3),
      body: all.subarray(bodyOffset, bodyOffset + number(i + 5)),
      events: new Array(eventCount),
    };
    i += APPEND_FIELDS;
    for (let k = 0; k < eventCount; k++, i += EVENT_FIELDS) {
      const imageOffset = number(i + 6);
      /** @type {PreparedEvent} */
      const event = {
        source: text(i),
        type: text(i + 1),
        dedupeKey: text(i + 2),
        at: number(i + 3),
        userId: /** @type {string | null} */ (fields[i + 4]),
        itemJson: text(i + 5),
        image: imageOffset < 0 ? null : all.subarray(imageOffset, imageOffset + number(i + 7)),
      };
      append.events[k] = event;
    }
    appends.push(append);
  }
  return appends;
}
