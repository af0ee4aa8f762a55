import { describe, expect, it } from 'vitest';
import {
  BIDI_CONTROLS,
  BIDI_RAW,
  bidiAlert,
  makeContext,
  makeNotification,
  PNG_1X1,
  REFERENCE_TIME,
  testDeps,
} from '../testdata/fixtures.js';
import { logConfigSchema, logOptionsFromConfig } from './config.js';
import { createLogDestination } from './log.js';

describe('log destination', () => {
  it('writes one JSON line per alert: the Alert itself', async () => {
    const lines: string[] = [];
    const d = createLogDestination(
      'console',
      { format: 'json', write: (line) => lines.push(line) },
      testDeps(),
    );
    const notification = makeNotification();
    expect(await d.send(notification, makeContext())).toEqual({ ok: true });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(JSON.parse(lines[0] ?? '')).toEqual(notification.alert);
    await d.close();
  });

  it('reports an alert it cannot serialise as a dead letter, writing nothing', async () => {
    const lines: string[] = [];
    const d = createLogDestination(
      'console',
      { format: 'json', write: (line) => lines.push(line) },
      testDeps(),
    );
    // Nested deeper than JSON.stringify can go: it can never become a line, so retrying is pointless.
    const raw = JSON.parse(`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`) as Record<string, unknown>;
    const item = {
      source: 'trackpilots',
      event: 'desktop.app_tracking.captured',
      id: 'deep',
      at: REFERENCE_TIME,
      receivedAt: REFERENCE_TIME,
      simulation: false,
      raw,
    };
    const result = await d.send(makeNotification({ item }), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'dead', reason: 'unrenderable' });
    expect(result.ok || result.detail).toMatch(/^log: the message cannot be rendered \(RangeError: /);
    expect(lines).toEqual([]);
  });

  it('writes no bidirectional control into a line, in either format', async () => {
    for (const format of ['json', 'pretty'] as const) {
      const lines: string[] = [];
      const d = createLogDestination('console', { format, write: (line) => lines.push(line) }, testDeps());
      await d.send(makeNotification(bidiAlert()), makeContext());
      expect(lines[0]).toContain('Title Invoice fdp.exe x y z q r');
      expect(lines[0]).not.toMatch(BIDI_CONTROLS);
      if (format === 'json') {
        // The payload's own data keeps its characters, escaped: a JSON reader gets them back.
        expect(JSON.parse(lines[0] ?? '').item.raw).toEqual(BIDI_RAW);
      }
    }
  });

  it('keeps screenshot bytes out of the line', async () => {
    const lines: string[] = [];
    const d = createLogDestination(
      'console',
      { format: 'json', write: (line) => lines.push(line) },
      testDeps(),
    );
    const item = {
      source: 'trackpilots',
      event: 'desktop.screenshot_tracking.captured',
      id: 's',
      at: REFERENCE_TIME,
      receivedAt: REFERENCE_TIME,
      simulation: false,
      raw: { bytes: PNG_1X1 },
    };
    await d.send(makeNotification({ item }), makeContext({ image: { bytes: PNG_1X1, mime: 'image/png' } }));
    expect(lines[0]).toContain(`"bytes":"<${PNG_1X1.length} bytes omitted>"`);
  });

  it('writes one readable line with format: pretty', async () => {
    const lines: string[] = [];
    const d = createLogDestination(
      'console',
      { format: 'pretty', write: (line) => lines.push(line) },
      testDeps(),
    );
    await d.send(makeNotification({ title: 'Two\nlines' }), makeContext());
    expect(lines).toEqual([
      '2026-03-02T10:15:00.000Z [warning] Two lines — 31m 00s on unproductive apps in the last hour (latest: Solitaire) ' +
        '(rule=unproductive-hour user=Ada Lovelace event=desktop.app_tracking.captured value=1860 (sum gte 1800 over 1h))',
    ]);
  });

  it('reports a failing writer as a retry instead of throwing', async () => {
    const d = createLogDestination(
      'console',
      {
        format: 'json',
        write: () => {
          throw new Error('EPIPE');
        },
      },
      testDeps(),
    );
    expect(await d.send(makeNotification(), makeContext())).toMatchObject({ ok: false, outcome: 'retry' });
  });

  it('defaults to json', () => {
    expect(logOptionsFromConfig(logConfigSchema.parse({ type: 'log' }))).toEqual({ format: 'json' });
  });
});
