import { describe, expect, it } from 'vitest';
import { escapeHtml, escapeSlackMrkdwn } from './escape.js';
import { measure, TRUNCATION_MARKER, truncate, truncateEscaped } from './truncate.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('truncate', () => {
  it('returns text that fits unchanged', () => {
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('', 5)).toBe('');
  });

  it('cuts to the limit including the visible marker', () => {
    const out = truncate('a'.repeat(100), 20);
    expect(out).toBe(`${'a'.repeat(20 - TRUNCATION_MARKER.length)}${TRUNCATION_MARKER}`);
    expect(measure(out)).toBe(20);
  });

  it('counts code points, so astral characters count once', () => {
    expect(truncate('😀'.repeat(10), 10)).toBe('😀'.repeat(10));
    const out = truncate('😀'.repeat(30), 20);
    expect(measure(out)).toBe(20);
    expect(out.startsWith('😀'.repeat(20 - TRUNCATION_MARKER.length))).toBe(true);
  });

  it('never splits a surrogate pair, in either unit', () => {
    for (let limit = 13; limit < 40; limit++) {
      for (const unit of ['codePoints', 'utf16'] as const) {
        const out = truncate(`a${'😀'.repeat(40)}`, limit, { unit });
        expect(out).not.toMatch(LONE_SURROGATE);
        expect(measure(out, unit)).toBeLessThanOrEqual(limit);
        expect(out.endsWith(TRUNCATION_MARKER)).toBe(true);
      }
    }
  });

  it('cuts the marker itself when the limit is tiny', () => {
    expect(truncate('abcdefgh', 3)).toBe(TRUNCATION_MARKER.slice(0, 3));
    expect(truncate('abc', 0)).toBe('');
  });

  it('accepts a custom marker', () => {
    expect(truncate('abcdefgh', 5, { marker: '…' })).toBe('abcd…');
  });
});

describe('truncateEscaped', () => {
  it('returns the escaped text when it fits', () => {
    expect(truncateEscaped('a<b', 10, escapeSlackMrkdwn)).toBe('a&lt;b');
  });

  it('never splits an escape sequence and stays within the limit', () => {
    const raw = '<&>'.repeat(100);
    for (let limit = 15; limit < 60; limit++) {
      const out = truncateEscaped(raw, limit, escapeSlackMrkdwn);
      expect(measure(out)).toBeLessThanOrEqual(limit);
      const body = out.slice(0, -TRUNCATION_MARKER.length);
      expect(body).toMatch(/^(&lt;|&amp;|&gt;)*$/);
      expect(out.endsWith(TRUNCATION_MARKER)).toBe(true);
    }
  });

  it('keeps as much as fits', () => {
    const out = truncateEscaped('"'.repeat(50), 6 * 10 + TRUNCATION_MARKER.length, escapeHtml);
    expect(out).toBe(`${'&quot;'.repeat(10)}${TRUNCATION_MARKER}`);
  });
});
