import { describe, expect, it } from 'vitest';
import { decodeBase64, decodeHex } from './encoding.js';

describe('decodeHex', () => {
  it.each([
    { text: '00ff', expected: '00ff' },
    { text: '00FF', expected: '00ff' },
    { text: 'aBcD', expected: 'abcd' },
    { text: '', expected: undefined },
    { text: 'abc', expected: undefined },
    { text: 'zz', expected: undefined },
    // Buffer.from('00gg', 'hex') would quietly return one byte; a signature must decode whole or not at all.
    { text: '00gg', expected: undefined },
    { text: '00 ff', expected: undefined },
  ])('$text', ({ text, expected }) => {
    expect(decodeHex(text)?.toString('hex')).toBe(expected);
  });
});

describe('decodeBase64', () => {
  it.each([
    { text: 'AAEC', expected: '000102' },
    { text: 'AAE=', expected: '0001' },
    { text: 'AAE', expected: '0001' },
    { text: 'AA==', expected: '00' },
    { text: '-_8=', expected: 'fbff' },
    { text: '+/8=', expected: 'fbff' },
    { text: '', expected: undefined },
    { text: 'A', expected: undefined },
    { text: 'AAAAA', expected: undefined },
    { text: 'AAE==', expected: undefined },
    { text: 'AA=A', expected: undefined },
    { text: 'AA!A', expected: undefined },
    { text: 'AA A', expected: undefined },
  ])('$text', ({ text, expected }) => {
    expect(decodeBase64(text)?.toString('hex')).toBe(expected);
  });
});
