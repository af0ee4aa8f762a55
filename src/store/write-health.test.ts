import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../lib/log.js';
import { WriteHealth } from './write-health.js';

interface Line {
  level: number;
  msg: string;
  failures?: number;
  count?: number;
  err?: { message: string };
  last?: { message: string; code?: string };
}

function setup() {
  const lines: Line[] = [];
  const logger = createLogger('info', {
    write(chunk: string) {
      lines.push(JSON.parse(chunk) as Line);
    },
  });
  let now = 1_000_000;
  const health = new WriteHealth({ logger, now: () => now, recentFailureMs: 30_000, logIntervalMs: 10_000 });
  const advance = (ms: number) => {
    now += ms;
    vi.advanceTimersByTime(ms);
  };
  return { lines, health, advance };
}

const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('WriteHealth', () => {
  it('logs the first failure whole, then once per interval with the count of those that followed', () => {
    const { lines, health, advance } = setup();
    for (let i = 0; i < 100; i += 1) health.failed(full, 1, { appends: true });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, count: 1, err: { message: 'database or disk is full' } });

    advance(10_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 50, failures: 99, last: { code: 'SQLITE_FULL' } });
    expect(lines[1]).not.toHaveProperty('err');

    // Still failing: one line per interval, never one per failure.
    for (let i = 0; i < 50; i += 1) health.failed(full, 2, { appends: true });
    expect(lines).toHaveLength(2);
    advance(10_000);
    expect(lines.slice(2)).toMatchObject([{ failures: 100 }]);
    // Nothing new: no line at the next interval.
    advance(10_000);
    expect(lines).toHaveLength(3);
    // After a quiet interval a new failure is the first of a new run, logged whole again.
    health.failed(full, 1, { appends: true });
    expect(lines[3]).toMatchObject({ level: 50, err: { message: 'database or disk is full' } });
  });

  it('is not ready after a failed append until one commits, or until the failure is no longer recent', () => {
    const { health, advance } = setup();
    expect(health.ready).toBe(true);
    health.failed(full, 3, { appends: true });
    expect(health.ready).toBe(false);
    health.committed();
    expect(health.ready).toBe(true);

    health.failed(full, 1, { appends: true });
    advance(29_999);
    expect(health.ready).toBe(false);
    advance(1);
    // Routed to again: if appends still fail, the next failure says so at once.
    expect(health.ready).toBe(true);
    health.failed(full, 1, { appends: true });
    expect(health.ready).toBe(false);
  });

  it('keeps readiness for failures that are not appends, and for refused inputs, while logging them', () => {
    const { lines, health } = setup();
    health.failed(full, 1, { appends: false });
    const refused = Object.assign(new Error('cannot append: refused'), {
      code: 'HR_ERR_STORE_INPUT_INVALID',
    });
    health.refused(refused);
    health.refused(refused);
    expect(health.ready).toBe(true);
    expect(lines.map((line) => line.level)).toEqual([50, 40]);
    health.close();
    expect(lines.slice(2)).toMatchObject([{ level: 40, failures: 1 }]);
  });

  it('says once when appends commit again, with how many failed meanwhile', () => {
    const { lines, health, advance } = setup();
    health.failed(full, 1, { appends: true });
    health.failed(full, 4, { appends: true });
    advance(2_000);
    health.committed();
    // The pending count first, then the recovery.
    expect(lines.slice(1)).toMatchObject([
      { level: 50, failures: 4 },
      { level: 30, failures: 5, msg: 'writes commit again after failing' },
    ]);
    health.committed();
    expect(lines).toHaveLength(3);
  });
});
