import { describe, expect, it } from 'vitest';
import { uuidV7 } from './ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidV7', () => {
  it('makes RFC 9562 version-7 UUIDs whose first 48 bits are the time in ms', () => {
    const now = Date.UTC(2026, 0, 5, 9, 0, 0);
    const id = uuidV7(now + 10_000_000);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now + 10_000_000);
  });

  it('increases strictly, within one ms, past 4,096 ids in one ms, and when the clock steps back', () => {
    const base = Date.UTC(2027, 0, 1);
    const ids = [
      ...Array.from({ length: 5_000 }, () => uuidV7(base)),
      uuidV7(base - 60_000),
      uuidV7(base + 5),
      ...Array.from({ length: 1_000 }, () => uuidV7()),
    ];
    for (const id of ids) expect(id).toMatch(UUID_V7);
    for (let i = 1; i < ids.length; i += 1) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
