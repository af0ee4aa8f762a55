const HEX = /^(?:[0-9a-fA-F]{2})+$/;
// Standard or URL-safe alphabet, optional padding. Buffer.from(…, 'base64') alone would silently skip
// invalid characters, so "abc!!" would decode to something; a signature must decode exactly or not at all.
const BASE64 = /^[A-Za-z0-9+/\-_]+={0,2}$/;

/** decodeHex decodes a hex string of either case, or returns undefined when it is not exactly hex. */
export function decodeHex(text: string): Buffer | undefined {
  return HEX.test(text) ? Buffer.from(text, 'hex') : undefined;
}

/**
 * decodeBase64 decodes standard or URL-safe base64, padded or not, or returns undefined when the text is
 * not base64 (wrong characters, misplaced padding, or a length no encoder produces).
 */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  if (text.length !== unpadded.length && text.length % 4 !== 0) return undefined;
  return Buffer.from(unpadded, 'base64');
}
