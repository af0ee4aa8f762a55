import { describe, expect, it } from 'vitest';
import { encodeParts, hashEncoded, hashParts } from './hash.js';

describe('hashParts', () => {
  it('gives the ids persisted so far (they dedupe alerts across restarts)', () => {
    expect(hashParts('fp0', 'user-1', 'item', 'trackpilots', 'evt-1')).toBe(
      '3f93db42f86444f645f4f922ae844b2f',
    );
    expect(hashParts('ä€😀', 42, 'item', '', 'x')).toBe('7eb6cf32e89ba965f6e1f49146acf98b');
  });

  it('length-prefixes parts, so moving a boundary changes the hash', () => {
    expect(hashParts('ab', 'c')).not.toBe(hashParts('a', 'bc'));
  });

  it('is hashEncoded of the encoded parts, however they are split (the engine reuses prefixes)', () => {
    const parts = ['fp0', 'ä€😀', 'item', 'trackpilots', 17] as const;
    for (let cut = 0; cut <= parts.length; cut++) {
      const text = encodeParts(...parts.slice(0, cut)) + encodeParts(...parts.slice(cut));
      expect(hashEncoded(text)).toBe(hashParts(...parts));
    }
  });
});
