import { crc32, deflateSync } from 'node:zlib';

// Tiny images for the normaliser tests, built byte by byte so no binary file is committed. The fixture
// files in this folder embed exactly these bytes (the tests compare them).

/**
 * tinyJpeg returns a baseline 1×1 mid-grey JPEG (159 bytes): one DC-only block and one-symbol Huffman
 * tables, written to the JPEG spec by hand (no decoder in this repo to check it against).
 */
export function tinyJpeg(): Buffer {
  const segment = (marker: number, body: number[]): number[] => [0xff, marker, 0, body.length + 2, ...body];
  return Buffer.from([
    0xff,
    0xd8, // SOI
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]), // JFIF
    ...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]), // quantisation table 0, all ones
    ...segment(0xc0, [0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00]), // baseline, 1×1, one component
    ...segment(0xc4, [0x00, 1, ...new Array<number>(15).fill(0), 0x00]), // DC table: one code, category 0
    ...segment(0xc4, [0x10, 1, ...new Array<number>(15).fill(0), 0x00]), // AC table: one code, end of block
    ...segment(0xda, [0x01, 0x01, 0x00, 0x00, 0x3f, 0x00]), // scan header
    0x3f, // DC "0" + EOB "0", padded with ones
    0xff,
    0xd9, // EOI
  ]);
}

/** tinyPng returns a 1×1 RGB PNG (69 bytes) with real CRCs and a zlib stream. */
export function tinyPng(): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0); // width
  header.writeUInt32BE(1, 4); // height
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from([0x00, 0x33, 0x66, 0xcc]))), // filter byte, one RGB pixel
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
