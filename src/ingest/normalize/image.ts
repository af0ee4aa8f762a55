import { z } from 'zod';
import type { ImageRef } from '../../domain/item.js';

/** MAX_IMAGE_BYTES caps a decoded screenshot; larger values are kept as `unrecognised`, never decoded. */
export const MAX_IMAGE_BYTES = 25 * 1024 * 1024;

/** MAX_PLACEHOLDER_CHARS is the longest text kept as a placeholder; anything longer is not a short note. */
export const MAX_PLACEHOLDER_CHARS = 512;

/** MAX_IMAGE_URL_CHARS is the longest image URL kept as a reference. */
export const MAX_IMAGE_URL_CHARS = 4096;

/** DecodedImage is a screenshot value turned into a reference, the image bytes when it carried any, and a warning when it was not usable. */
export interface DecodedImage {
  ref: ImageRef;
  bytes?: Buffer;
  warning?: string;
}

const SERIALISED_BUFFER = z.object({ type: z.literal('Buffer'), data: z.array(z.unknown()) });
// Standard or URL-safe alphabet with optional padding; line breaks are removed first (MIME-style wrapping).
const BASE64 = /^[A-Za-z0-9+/\-_]+={0,2}$/;
const DATA_URL = /^data:([^,;]*)((?:;[^,;]*)*),/i;

/**
 * sniffImageMime returns the MIME type of JPEG, PNG, GIF or WebP bytes, judged by their magic numbers, or
 * undefined for anything else.
 */
export function sniffImageMime(bytes: Buffer): string | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png';
  if (bytes.length >= 6) {
    const head = bytes.subarray(0, 6).toString('latin1');
    if (head === 'GIF87a' || head === 'GIF89a') return 'image/gif';
  }
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF') {
    if (bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  }
  return undefined;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function unrecognised(note: string): DecodedImage {
  return { ref: { kind: 'unrecognised', note }, warning: note };
}

function fromBytes(bytes: Buffer, what: string): DecodedImage {
  const mime = sniffImageMime(bytes);
  if (mime === undefined) {
    return unrecognised(
      `${what} decoded to ${bytes.length} bytes that are not a JPEG, PNG, GIF or WebP image`,
    );
  }
  return { ref: { kind: 'bytes', mime, size: bytes.length }, bytes };
}

function decodeBase64Image(text: string, what: string): DecodedImage | undefined {
  // Checked before any scan or copy of the text: an oversized value costs nothing more than its length.
  if (Math.floor((text.length * 3) / 4) > MAX_IMAGE_BYTES) {
    return unrecognised(`${what} that would decode to more than ${MAX_IMAGE_BYTES} bytes`);
  }
  const compact = text.replace(/[\r\n]+/g, '');
  if (!BASE64.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) return undefined;
  return fromBytes(Buffer.from(compact, 'base64'), what);
}

function decodeString(value: string): DecodedImage {
  if (value === '') return unrecognised('an empty string');
  if (/^https?:\/\//i.test(value)) {
    if (value.length > MAX_IMAGE_URL_CHARS)
      return unrecognised(`a URL longer than ${MAX_IMAGE_URL_CHARS} characters`);
    // Kept as a reference only: fetching it is a delivery-time decision behind the SSRF guard.
    return URL.canParse(value)
      ? { ref: { kind: 'url', url: value } }
      : unrecognised('a URL that does not parse');
  }
  const dataUrl = DATA_URL.exec(value);
  if (dataUrl !== null) {
    const parameters = (dataUrl[2] ?? '').toLowerCase().split(';');
    if (!parameters.includes('base64')) return unrecognised('a data URL that is not base64');
    const payload = value.slice(dataUrl[0].length);
    return decodeBase64Image(payload, 'a data URL') ?? unrecognised('a data URL whose payload is not base64');
  }
  // Trackpilots simulations send a placeholder instead of an image (text undocumented; one consumer
  // assumes "[simulation…"); the docs' example is a Node Buffer inspect string, which holds no bytes.
  if (/^\[simulation/i.test(value) || value.startsWith('<Buffer')) {
    return { ref: { kind: 'placeholder', text: value.slice(0, MAX_PLACEHOLDER_CHARS) } };
  }
  const decoded = decodeBase64Image(value, 'a base64 string');
  if (decoded !== undefined) return decoded;
  if (value.length <= MAX_PLACEHOLDER_CHARS) return { ref: { kind: 'placeholder', text: value } };
  return unrecognised(`a ${value.length}-character string that is not base64, a data URL or a URL`);
}

// Looked at before the schema walks the array, so an oversized one is never iterated.
function isSerialisedBufferTooLarge(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || !('data' in value) || !('type' in value)) return false;
  if (value.type !== 'Buffer') return false;
  return Array.isArray(value.data) && value.data.length > MAX_IMAGE_BYTES;
}

function decodeSerialisedBuffer(data: readonly unknown[]): DecodedImage {
  const bytes = Buffer.allocUnsafe(data.length);
  for (let index = 0; index < data.length; index++) {
    const byte = data[index];
    if (typeof byte !== 'number' || !Number.isInteger(byte) || byte < 0 || byte > 255) {
      return unrecognised(`a serialised Buffer with a non-byte value at index ${index}`);
    }
    bytes[index] = byte;
  }
  return fromBytes(bytes, 'a serialised Buffer');
}

/**
 * decodeImage turns a screenshot's `imageBuffer` into an ImageRef. It accepts a base64 string, a
 * `data:image/…;base64,` URL, a JSON-serialised Node Buffer (`{type:'Buffer', data:[…]}`), an http(s)
 * URL (kept as a reference, never fetched) and a short placeholder text (simulations, the docs' inspect
 * string). Bytes are returned only when they sniff as JPEG, PNG, GIF or WebP. Anything else becomes
 * `unrecognised` with a short warning that names the shape, never the content. It never throws.
 */
export function decodeImage(value: unknown): DecodedImage {
  if (typeof value === 'string') return decodeString(value);
  if (isSerialisedBufferTooLarge(value)) {
    return unrecognised(`a serialised Buffer larger than ${MAX_IMAGE_BYTES} bytes`);
  }
  const serialised = SERIALISED_BUFFER.safeParse(value);
  if (serialised.success) return decodeSerialisedBuffer(serialised.data.data);
  if (value === null) return unrecognised('null');
  if (Array.isArray(value)) return unrecognised('an array');
  if (typeof value === 'object') return unrecognised('an object that is not a serialised Buffer');
  return unrecognised(`a ${typeof value}`);
}

/**
 * imageMarker is the short text that replaces an image in an item's `raw` copy, so the bytes are stored
 * once (beside the item), not twice.
 */
export function imageMarker(ref: ImageRef): string {
  switch (ref.kind) {
    case 'bytes':
      return `[image: ${ref.size} bytes ${ref.mime}]`;
    case 'url':
      return ref.url;
    case 'placeholder':
      return ref.text;
    case 'unrecognised':
      return `[image: unrecognised, ${ref.note}]`;
  }
}
