import { describe, expect, it } from 'vitest';
import type { ImageRef } from '../../domain/item.js';
import { decodeImage, imageMarker, MAX_IMAGE_BYTES, sniffImageMime } from './image.js';
import { tinyJpeg, tinyPng } from './testdata/images.js';

const JPEG = tinyJpeg();
const PNG = tinyPng();
const GIF = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.from([1, 0, 1, 0, 0, 0, 0, 0x3b])]);
const WEBP = Buffer.concat([
  Buffer.from('RIFF', 'latin1'),
  Buffer.from([26, 0, 0, 0]),
  Buffer.from('WEBPVP8L', 'latin1'),
  Buffer.alloc(14),
]);
const TEXT = Buffer.from('this is plain text, not a picture');

describe('decodeImage keeps image bytes', () => {
  const wrapped = PNG.toString('base64').replace(/(.{20})/g, '$1\r\n');
  it.each([
    { name: 'base64 JPEG', value: JPEG.toString('base64'), bytes: JPEG, mime: 'image/jpeg' },
    { name: 'base64 PNG', value: PNG.toString('base64'), bytes: PNG, mime: 'image/png' },
    { name: 'base64 GIF', value: GIF.toString('base64'), bytes: GIF, mime: 'image/gif' },
    { name: 'base64 WebP', value: WEBP.toString('base64'), bytes: WEBP, mime: 'image/webp' },
    { name: 'base64 wrapped over lines', value: wrapped, bytes: PNG, mime: 'image/png' },
    {
      name: 'URL-safe base64 without padding',
      value: JPEG.toString('base64url'),
      bytes: JPEG,
      mime: 'image/jpeg',
    },
    {
      name: 'data URL',
      value: `data:image/png;base64,${PNG.toString('base64')}`,
      bytes: PNG,
      mime: 'image/png',
    },
    // The bytes decide the type, not the label.
    {
      name: 'data URL with the wrong declared type',
      value: `data:image/jpeg;base64,${PNG.toString('base64')}`,
      bytes: PNG,
      mime: 'image/png',
    },
    {
      name: 'data URL with a charset parameter',
      value: `data:image/jpeg;charset=binary;base64,${JPEG.toString('base64')}`,
      bytes: JPEG,
      mime: 'image/jpeg',
    },
    {
      name: 'serialised Node Buffer',
      value: JSON.parse(JSON.stringify(JPEG)),
      bytes: JPEG,
      mime: 'image/jpeg',
    },
  ])('$name', ({ value, bytes, mime }) => {
    const decoded = decodeImage(value);
    expect(decoded.ref).toEqual({ kind: 'bytes', mime, size: bytes.length });
    expect(decoded.bytes?.equals(bytes)).toBe(true);
    expect(decoded.warning).toBeUndefined();
  });
});

describe('decodeImage keeps a reference or a placeholder, without a warning', () => {
  it.each([
    {
      name: 'https URL',
      value: 'https://cdn.example.com/s/1.jpg?sig=abc',
      ref: { kind: 'url', url: 'https://cdn.example.com/s/1.jpg?sig=abc' },
    },
    {
      name: 'http URL',
      value: 'http://10.0.0.5/s/1.png',
      ref: { kind: 'url', url: 'http://10.0.0.5/s/1.png' },
    },
    {
      name: 'simulation placeholder',
      value: '[simulation] screenshot',
      ref: { kind: 'placeholder', text: '[simulation] screenshot' },
    },
    {
      name: 'simulation placeholder, upper case',
      value: '[SIMULATION]',
      ref: { kind: 'placeholder', text: '[SIMULATION]' },
    },
    {
      name: "the docs' Buffer inspect string",
      value: '<Buffer ff d8 ff db 00 43 … 44819 more bytes>',
      ref: { kind: 'placeholder', text: '<Buffer ff d8 ff db 00 43 … 44819 more bytes>' },
    },
    {
      name: 'short text that is not base64',
      value: 'image omitted in test mode',
      ref: { kind: 'placeholder', text: 'image omitted in test mode' },
    },
  ])('$name', ({ value, ref }) => {
    expect(decodeImage(value)).toEqual({ ref });
  });
});

describe('decodeImage reports what it cannot use, never throwing and never keeping bytes', () => {
  const big = { type: 'Buffer', data: new Array<number>(MAX_IMAGE_BYTES + 1) };
  it.each([
    {
      name: 'base64 that is not an image',
      value: TEXT.toString('base64'),
      note: /a base64 string decoded to 33 bytes that are not/,
    },
    {
      name: 'data URL that is not an image',
      value: `data:text/plain;base64,${TEXT.toString('base64')}`,
      note: /a data URL decoded to 33 bytes/,
    },
    {
      name: 'data URL without base64',
      value: 'data:image/svg+xml,<svg/>',
      note: /data URL that is not base64/,
    },
    {
      name: 'data URL with a broken payload',
      value: 'data:image/png;base64,@@@@',
      note: /payload is not base64/,
    },
    {
      name: 'serialised Buffer that is not an image',
      value: JSON.parse(JSON.stringify(TEXT)),
      note: /a serialised Buffer decoded to 33 bytes/,
    },
    {
      name: 'serialised Buffer with 256',
      value: { type: 'Buffer', data: [255, 216, 256] },
      note: /non-byte value at index 2/,
    },
    {
      name: 'serialised Buffer with -1',
      value: { type: 'Buffer', data: [-1] },
      note: /non-byte value at index 0/,
    },
    {
      name: 'serialised Buffer with a fraction',
      value: { type: 'Buffer', data: [255, 1.5] },
      note: /non-byte value at index 1/,
    },
    {
      name: 'serialised Buffer with a string',
      value: { type: 'Buffer', data: ['255'] },
      note: /non-byte value at index 0/,
    },
    { name: 'serialised Buffer over the cap', value: big, note: /larger than/ },
    {
      name: 'base64 over the cap',
      value: 'A'.repeat(Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 8),
      note: /would decode to more than/,
    },
    {
      name: 'long text that is not base64',
      value: '!'.repeat(600),
      note: /600-character string that is not base64/,
    },
    { name: 'URL that does not parse', value: 'http://', note: /URL that does not parse/ },
    { name: 'empty string', value: '', note: /empty string/ },
    { name: 'a number', value: 44819, note: /^a number$/ },
    { name: 'a boolean', value: true, note: /^a boolean$/ },
    { name: 'null', value: null, note: /^null$/ },
    { name: 'an array of bytes (not a Buffer object)', value: [255, 216, 255], note: /^an array$/ },
    { name: 'an object of another form', value: { url: 'https://x' }, note: /not a serialised Buffer/ },
    { name: 'a Buffer object without data', value: { type: 'Buffer' }, note: /not a serialised Buffer/ },
  ])('$name', ({ value, note }) => {
    const decoded = decodeImage(value);
    expect(decoded.ref.kind).toBe('unrecognised');
    expect(decoded.ref).toEqual({ kind: 'unrecognised', note: expect.stringMatching(note) });
    expect(decoded.warning).toBe((decoded.ref as { note: string }).note);
    expect(decoded.bytes).toBeUndefined();
  });
});

describe('sniffImageMime', () => {
  it.each([
    { name: 'JPEG', bytes: JPEG, mime: 'image/jpeg' },
    { name: 'PNG', bytes: PNG, mime: 'image/png' },
    { name: 'GIF87a', bytes: Buffer.from('GIF87a', 'latin1'), mime: 'image/gif' },
    {
      name: 'RIFF that is not WebP (WAV)',
      bytes: Buffer.from('RIFF\0\0\0\0WAVEfmt ', 'latin1'),
      mime: undefined,
    },
    { name: 'two bytes of a JPEG', bytes: Buffer.from([0xff, 0xd8]), mime: undefined },
    { name: 'PDF', bytes: Buffer.from('%PDF-1.7', 'latin1'), mime: undefined },
    { name: 'empty', bytes: Buffer.alloc(0), mime: undefined },
  ])('$name', ({ bytes, mime }) => {
    expect(sniffImageMime(bytes)).toBe(mime);
  });
});

describe('imageMarker', () => {
  it.each<{ ref: ImageRef; marker: string }>([
    { ref: { kind: 'bytes', mime: 'image/jpeg', size: 44819 }, marker: '[image: 44819 bytes image/jpeg]' },
    { ref: { kind: 'url', url: 'https://x/y.png' }, marker: 'https://x/y.png' },
    { ref: { kind: 'placeholder', text: '[simulation]' }, marker: '[simulation]' },
    { ref: { kind: 'unrecognised', note: 'a number' }, marker: '[image: unrecognised, a number]' },
  ])('$marker', ({ ref, marker }) => {
    expect(imageMarker(ref)).toBe(marker);
  });
});
