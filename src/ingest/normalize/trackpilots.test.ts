import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../domain/event.js';
import type { NormalizeResult } from './result.js';
import { tinyJpeg, tinyPng } from './testdata/images.js';
import { normalizeTrackpilots } from './trackpilots.js';

const RECEIVED_AT = Date.UTC(2026, 0, 28, 9, 5, 30);
const CTX = { source: 'trackpilots', receivedAt: RECEIVED_AT };
const ORG = '0d1f2c3e-4b5a-4c6d-8e7f-901a2b3c4d5e';
const TEAM = '5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e';
const USER = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const SCREENSHOT_ENVELOPE_AT = 1769591066292;
const CAPTURED_AT = Date.parse('2026-01-28T09:05:00.308Z');

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8'));
}

function normalized(payload: unknown): Extract<NormalizeResult, { ok: true }> {
  const result = normalizeTrackpilots(payload, CTX);
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}`);
  return result;
}

function only(result: Extract<NormalizeResult, { ok: true }>): NewEvent {
  expect(result.events).toHaveLength(1);
  return result.events[0]!;
}

describe('screenshot events', () => {
  it('fill every documented field from a base64 JPEG screenshot', () => {
    const result = normalized(fixture('screenshot-base64.json'));
    expect(result.event).toBe('desktop.screenshot_tracking.captured');
    expect(result.warnings).toEqual([]);
    const first = result.events[0]!;
    expect(first.dedupeKey).toBe('b774c86b-26e3-415f-b6d0-20a0a01b597c');
    expect(first.image?.equals(tinyJpeg())).toBe(true);
    expect(first.item).toEqual({
      source: 'trackpilots',
      event: 'desktop.screenshot_tracking.captured',
      id: 'b774c86b-26e3-415f-b6d0-20a0a01b597c',
      at: CAPTURED_AT,
      receivedAt: RECEIVED_AT,
      envelopeAt: SCREENSHOT_ENVELOPE_AT,
      simulation: false,
      user: USER,
      team: TEAM,
      org: ORG,
      app: {
        name: 'Brave Browser',
        type: 'application',
        category: 'Unknown Category',
        iconUrl: 'https://dev.trackpilots.com/favicon.ico',
        domain: 'dev.trackpilots.com',
        fullUrl: 'https://dev.trackpilots.com',
        productivityStatus: 'productive',
      },
      time: { capturedAt: '2026-01-28T09:05:00.308Z' },
      screenshot: {
        id: 'b774c86b-26e3-415f-b6d0-20a0a01b597c',
        isIdle: true,
        image: { kind: 'bytes', mime: 'image/jpeg', size: tinyJpeg().length },
      },
      operatingSystem: 'windows',
      workType: 'hybrid',
      raw: expect.objectContaining({
        screenshot: expect.objectContaining({
          imageBuffer: `[image: ${tinyJpeg().length} bytes image/jpeg]`,
        }),
      }),
    });
  });

  it('keep one item per screenshot in a delivery, each with its own bytes', () => {
    const result = normalized(fixture('screenshot-base64.json'));
    expect(result.events.map((event) => event.item.screenshot?.image)).toEqual([
      { kind: 'bytes', mime: 'image/jpeg', size: tinyJpeg().length },
      { kind: 'bytes', mime: 'image/png', size: tinyPng().length },
    ]);
    expect(result.events[1]!.image?.equals(tinyPng())).toBe(true);
  });

  it.each([
    {
      file: 'screenshot-base64.json',
      image: { kind: 'bytes', mime: 'image/jpeg', size: 159 },
      bytes: tinyJpeg(),
      marker: '[image: 159 bytes image/jpeg]',
      warnings: [],
    },
    {
      file: 'screenshot-data-url.json',
      image: { kind: 'bytes', mime: 'image/png', size: 69 },
      bytes: tinyPng(),
      marker: '[image: 69 bytes image/png]',
      warnings: [],
    },
    {
      file: 'screenshot-buffer-object.json',
      image: { kind: 'bytes', mime: 'image/jpeg', size: 159 },
      bytes: tinyJpeg(),
      marker: '[image: 159 bytes image/jpeg]',
      warnings: [],
    },
    {
      file: 'screenshot-url.json',
      image: { kind: 'url', url: 'https://cdn.example.com/screens/f1b80caf.jpg' },
      bytes: undefined,
      marker: 'https://cdn.example.com/screens/f1b80caf.jpg',
      warnings: [],
    },
    {
      file: 'screenshot-simulation.json',
      image: { kind: 'placeholder', text: '[simulation] screenshot image placeholder' },
      bytes: undefined,
      marker: '[simulation] screenshot image placeholder',
      warnings: [],
    },
    {
      file: 'screenshot-inspect-string.json',
      image: {
        kind: 'placeholder',
        text: expect.stringMatching(/^<Buffer ff d8 ff db .* 44819 more bytes>$/),
      },
      bytes: undefined,
      marker: expect.stringMatching(/^<Buffer /),
      warnings: [],
    },
    {
      file: 'screenshot-not-image.json',
      image: {
        kind: 'unrecognised',
        note: 'a base64 string decoded to 33 bytes that are not a JPEG, PNG, GIF or WebP image',
      },
      bytes: undefined,
      marker:
        '[image: unrecognised, a base64 string decoded to 33 bytes that are not a JPEG, PNG, GIF or WebP image]',
      warnings: [
        'data[0].screenshot.imageBuffer: a base64 string decoded to 33 bytes that are not a JPEG, PNG, GIF or WebP image',
      ],
    },
  ])('$file: image $image.kind', ({ file, image, bytes, marker, warnings }) => {
    const payload = fixture(file);
    const result = normalized(payload);
    const event = result.events[0]!;
    expect(event.item.screenshot?.image).toEqual(image);
    if (bytes === undefined) expect(event.image).toBeUndefined();
    else expect(event.image?.equals(bytes)).toBe(true);
    expect(result.warnings).toEqual(warnings);
    expect(event.item.raw).toMatchObject({ screenshot: { imageBuffer: marker } });
    // The stored item never carries the image a second time.
    if (image.kind === 'bytes') {
      const original = JSON.stringify(
        (payload.data as { screenshot: { imageBuffer: unknown } }[])[0]!.screenshot.imageBuffer,
      );
      expect(JSON.stringify(event.item)).not.toContain(original.slice(1, 60));
    }
  });

  it('without an image keep the screenshot id and idle flag, and no image', () => {
    const event = only(
      normalized({
        event: 'desktop.screenshot_tracking.captured',
        timestamp: 1,
        data: [{ screenshot: { screenshotId: 's-1', isIdle: false } }],
      }),
    );
    expect(event.item.screenshot).toEqual({ id: 's-1', isIdle: false });
    expect(event.image).toBeUndefined();
  });

  it('leave the payload object untouched', () => {
    const payload = fixture('screenshot-base64.json');
    const before = JSON.stringify(payload);
    normalized(payload);
    expect(JSON.stringify(payload)).toBe(before);
  });
});

describe('app events', () => {
  const payload = fixture('app-batch-12.json');
  const result = normalized(payload);

  it('turn a batch of 12 into 12 items with distinct ids and keys', () => {
    expect(result.events).toHaveLength(12);
    expect(new Set(result.events.map((event) => event.item.id)).size).toBe(12);
    expect(result.events.map((event) => event.dedupeKey)).toEqual(
      result.events.map((event) => event.item.id),
    );
    expect(result.warnings).toEqual([]);
  });

  it('take each item time from time.startDate, in order', () => {
    const start = Date.parse('2026-01-28T09:00:00.000Z');
    expect(result.events.map((event) => event.item.at)).toEqual(
      Array.from({ length: 12 }, (_, index) => start + index * 21_000),
    );
  });

  it('fill app, time, tracking mode, OS and ids', () => {
    const youtube = result.events[3]!.item;
    const sent = (payload.data as { tracking: { trackingId: string } }[])[3]!.tracking.trackingId;
    expect(youtube).toMatchObject({
      id: sent,
      user: USER,
      team: TEAM,
      org: ORG,
      app: {
        name: 'YouTube',
        type: 'website',
        domain: 'www.youtube.com',
        productivityStatus: 'unproductive',
      },
      time: {
        startDate: '2026-01-28T09:01:03.000Z',
        endDate: '2026-01-28T09:01:23.823Z',
        durationInSeconds: 20,
      },
      trackingMode: 'online',
      operatingSystem: 'macos',
      envelopeAt: 1769591100000,
      simulation: false,
    });
    expect(youtube.screenshot).toBeUndefined();
    expect(youtube.activity).toBeUndefined();
  });
});

describe('activity events', () => {
  it('version A (data is one object, no id) gives one item keyed by a content hash', () => {
    const event = only(normalized(fixture('activity-a.json')));
    expect(event.dedupeKey).toMatch(/^[0-9a-f]{64}$/);
    expect(event.item).toEqual({
      source: 'trackpilots',
      event: 'desktop.activity_tracking.captured',
      id: event.dedupeKey,
      at: 1769592774119,
      receivedAt: RECEIVED_AT,
      envelopeAt: 1769592774119,
      simulation: false,
      user: USER,
      team: TEAM,
      org: ORG,
      activity: { workMode: false },
      raw: fixture('activity-a.json').data,
    });
  });

  it('version A: the same delivery twice gets the same key, in any key order', () => {
    const payload = fixture('activity-a.json');
    const reordered = JSON.parse(JSON.stringify(payload, Object.keys(payload).reverse()));
    const keys = [
      payload,
      payload,
      {
        ...reordered,
        data: {
          activity: { workMode: false },
          user: { userId: USER },
          team: { teamId: TEAM },
          organisation: { organisationId: ORG },
        },
      },
    ].map((body) => only(normalized(body)).dedupeKey);
    expect(new Set(keys).size).toBe(1);
  });

  it('version A: the same toggle at another time, or another event type, gets another key', () => {
    const payload = fixture('activity-a.json');
    const base = only(normalized(payload)).dedupeKey;
    expect(only(normalized({ ...payload, timestamp: 1769592999999 })).dedupeKey).not.toBe(base);
    expect(only(normalized({ ...payload, event: 'desktop.activity_tracking.changed' })).dedupeKey).not.toBe(
      base,
    );
    expect(
      only(normalized({ ...payload, data: { ...(payload.data as object), activity: { workMode: true } } }))
        .dedupeKey,
    ).not.toBe(base);
  });

  it('version A: two identical items in one delivery are both kept', () => {
    const payload = fixture('activity-a.json');
    const result = normalized({ ...payload, data: [payload.data, payload.data] });
    const [first, second] = result.events.map((event) => event.dedupeKey);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toBe(`${first}#2`);
    expect(
      normalized({ ...payload, data: [payload.data, payload.data] }).events.map((event) => event.dedupeKey),
    ).toEqual([first, second]);
  });

  it('fields some agents put inside activity are read from there too', () => {
    const activity = {
      workMode: true,
      workType: 'remote',
      trackingMode: 'offline',
      operatingSystem: 'linux',
      durationInSeconds: 60,
    };
    const { item } = only(
      normalized({ event: 'desktop.activity_tracking.captured', timestamp: 1, data: { activity } }),
    );
    expect(item).toMatchObject({
      activity,
      workType: 'remote',
      trackingMode: 'offline',
      operatingSystem: 'linux',
    });
  });

  it('version B (array of flat items) keys by workEventId and reads flat ids and workTime', () => {
    const result = normalized(fixture('activity-b.json'));
    expect(result.warnings).toEqual([]);
    expect(result.events.map((event) => event.dedupeKey)).toEqual([
      '7c1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6',
      '8d2f3a4b-5c6d-4e7f-9081-92a3b4c5d6e7',
    ]);
    expect(result.events[0]!.item).toMatchObject({
      id: '7c1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6',
      at: Date.parse('2026-01-28T08:58:12Z'),
      user: USER,
      team: TEAM,
      org: ORG,
      workType: 'start',
      operatingSystem: 'windows',
      activity: { workType: 'start', workTime: '2026-01-28T08:58:12Z' },
    });
    expect(result.events[1]!.item).toMatchObject({
      user: 'b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e',
      workType: 'stop',
      operatingSystem: 'macos',
    });
  });
});

describe('simulations', () => {
  it('a top-level simulation flag marks every item and gives a key of its own', () => {
    const event = only(normalized(fixture('screenshot-simulation.json')));
    expect(event.item.simulation).toBe(true);
    expect(event.item.id).toBe('3c90c3cc-0d44-4b50-8888-8dd25736052a');
    expect(event.dedupeKey).toBe(`sim:3c90c3cc-0d44-4b50-8888-8dd25736052a:${SCREENSHOT_ENVELOPE_AT}`);
  });

  it('running the same sample again (same ids, new timestamp) is not a duplicate', () => {
    const payload = fixture('screenshot-simulation.json');
    const again = { ...payload, timestamp: SCREENSHOT_ENVELOPE_AT + 60_000 };
    expect(only(normalized(again)).dedupeKey).not.toBe(only(normalized(payload)).dedupeKey);
  });

  it('a per-item flag marks only that item', () => {
    const result = normalized(fixture('simulation-per-item.json'));
    expect(result.events.map((event) => event.item.simulation)).toEqual([true, false]);
    expect(result.events[0]!.dedupeKey).toMatch(/^sim:/);
    expect(result.events[1]!.dedupeKey).toBe(result.events[1]!.item.id);
  });

  it('only the boolean true counts', () => {
    const payload = fixture('activity-b.json');
    expect(
      normalized({ ...payload, simulation: 'true' }).events.every((event) => !event.item.simulation),
    ).toBe(true);
  });
});

describe('unknown event types', () => {
  it('are accepted with the same extraction (mixed nested and flat ids, time, raw)', () => {
    const payload = fixture('unknown-event.json');
    const result = normalized(payload);
    expect(result.event).toBe('desktop.idle_tracking.captured');
    const event = only(result);
    expect(event.dedupeKey).toMatch(/^[0-9a-f]{64}$/);
    expect(event.item).toMatchObject({
      event: 'desktop.idle_tracking.captured',
      at: Date.parse('2026-01-28T10:00:00.000Z'),
      user: USER,
      team: TEAM,
      org: ORG,
      time: {
        startDate: '2026-01-28T10:00:00.000Z',
        endDate: '2026-01-28T10:12:00.000Z',
        durationInSeconds: 720,
      },
      raw: (payload.data as unknown[])[0],
    });
  });
});

describe('times', () => {
  const item = (extra: object) => ({
    event: 'desktop.app_tracking.captured',
    timestamp: 1769591100000,
    data: [{ tracking: { trackingId: 't-1', ...extra } }],
  });
  it.each([
    {
      name: 'startTime when there is no startDate',
      payload: item({ time: { startTime: '2026-01-28T08:00:00Z' } }),
      at: Date.parse('2026-01-28T08:00:00Z'),
      warnings: [],
    },
    {
      name: 'endDate when there is no start',
      payload: item({ time: { endDate: '2026-01-28T08:00:20Z' } }),
      at: Date.parse('2026-01-28T08:00:20Z'),
      warnings: [],
    },
    {
      name: 'the envelope timestamp when the item has no time',
      payload: item({}),
      at: 1769591100000,
      warnings: [],
    },
    {
      name: 'the envelope timestamp, with a warning, when the date does not parse',
      payload: item({ time: { startDate: 'last tuesday' } }),
      at: 1769591100000,
      warnings: [
        'data[0].tracking.time.startDate is not a date',
        'data[0] has no usable time; used the envelope timestamp',
      ],
    },
    {
      name: 'the receive time when there is no envelope timestamp either',
      payload: { event: 'x', data: [{ workTime: 'soon' }] },
      at: RECEIVED_AT,
      warnings: ['data[0].workTime is not a date', 'data[0] has no usable time; used the receive time'],
    },
    {
      name: 'a later path when an earlier one does not parse',
      payload: item({ time: { startDate: 'n/a', endDate: '2026-01-28T08:00:20Z' } }),
      at: Date.parse('2026-01-28T08:00:20Z'),
      warnings: ['data[0].tracking.time.startDate is not a date'],
    },
    {
      name: 'the envelope timestamp, with a warning, when the time is out of range (1e19)',
      payload: item({ time: { startDate: 1e19 } }),
      at: 1769591100000,
      warnings: [
        'data[0].tracking.time.startDate is out of range',
        'data[0] has no usable time; used the envelope timestamp',
      ],
    },
    {
      name: 'a later path when an earlier one is out of range',
      payload: item({ time: { startDate: -5, endDate: '2026-01-28T08:00:20Z' } }),
      at: Date.parse('2026-01-28T08:00:20Z'),
      warnings: ['data[0].tracking.time.startDate is out of range'],
    },
    {
      name: 'activity.startDate',
      payload: { event: 'x', data: { activity: { startDate: '2026-01-28T07:00:00Z' } } },
      at: Date.parse('2026-01-28T07:00:00Z'),
      warnings: [],
    },
  ])('$name', ({ payload, at, warnings }) => {
    const result = normalized(payload);
    expect(only(result).item.at).toBe(at);
    expect(result.warnings).toEqual(warnings);
  });

  it('an envelope timestamp out of range is left out, with a warning, and never becomes an item time', () => {
    const result = normalized({ event: 'x', timestamp: 1e19, data: [{}] });
    expect(only(result).item.envelopeAt).toBeUndefined();
    expect(only(result).item.at).toBe(RECEIVED_AT);
    expect(result.warnings).toEqual(['timestamp is out of range']);
  });

  it('an envelope timestamp that is not a date is left out, with a warning', () => {
    const result = normalized({ event: 'x', timestamp: 'noon', data: [{}] });
    expect(only(result).item.envelopeAt).toBeUndefined();
    expect(only(result).item.at).toBe(RECEIVED_AT);
    expect(result.warnings).toEqual(['timestamp is not a date']);
  });
});

describe('ids', () => {
  it.each([
    {
      name: 'nested',
      data: { organisation: { organisationId: 'o' }, team: { teamId: 't' }, user: { userId: 'u' } },
      ids: { org: 'o', team: 't', user: 'u' },
    },
    {
      name: 'flat',
      data: { organisationId: 'o', teamId: 't', userId: 'u' },
      ids: { org: 'o', team: 't', user: 'u' },
    },
    {
      name: 'numbers become strings',
      data: { organisationId: 7, team: { teamId: 8 }, userId: 9 },
      ids: { org: '7', team: '8', user: '9' },
    },
    {
      name: 'unusable values are left out',
      data: { organisationId: '', team: { teamId: { x: 1 } }, userId: -1 },
      ids: { org: undefined, team: undefined, user: undefined },
    },
  ])('$name', ({ data, ids }) => {
    const { item } = only(normalized({ event: 'x', timestamp: 1, data }));
    expect({ org: item.org, team: item.team, user: item.user }).toEqual(ids);
  });

  it.each([
    { name: 'tracking.trackingId', data: { tracking: { trackingId: 'a' } }, id: 'a' },
    { name: 'screenshot.screenshotId', data: { screenshot: { screenshotId: 'b' } }, id: 'b' },
    { name: 'workEventId', data: { workEventId: 'c' }, id: 'c' },
    { name: 'flat trackingId', data: { trackingId: 'd' }, id: 'd' },
    { name: 'flat screenshotId', data: { screenshotId: 'e' }, id: 'e' },
  ])('per-item id from $name', ({ data, id }) => {
    const event = only(normalized({ event: 'x', timestamp: 1, data }));
    expect(event.item.id).toBe(id);
    expect(event.dedupeKey).toBe(id);
  });

  it('an app item without a trackingId is keyed by content, with a warning', () => {
    const result = normalized({
      event: 'desktop.app_tracking.captured',
      timestamp: 1,
      data: [{ tracking: { app: { name: 'Slack' } } }],
    });
    expect(only(result).dedupeKey).toMatch(/^[0-9a-f]{64}$/);
    expect(result.warnings).toEqual(['data[0] has no per-item id; deduplicated by content']);
  });
});

describe('envelopes', () => {
  it('empty data: accepted with no items and a warning', () => {
    expect(normalizeTrackpilots({ event: 'x', data: [] }, CTX)).toEqual({
      ok: true,
      event: 'x',
      events: [],
      warnings: ['data is empty'],
    });
  });

  it.each([
    { name: 'no data', payload: { event: 'x', userId: 'u-1' }, warning: 'payload has no data' },
    { name: 'null data', payload: { event: 'x', data: null }, warning: 'payload has no data' },
    { name: 'data of another type', payload: { event: 'x', data: 'abc' }, warning: 'data is neither' },
  ])('$name: the envelope is stored as one item, with a warning', ({ payload, warning }) => {
    const result = normalized(payload);
    const stored = only(result);
    expect(stored.item).toMatchObject({ source: CTX.source, event: 'x', raw: payload });
    expect(stored.dedupeKey).toMatch(/^[0-9a-f]{64}$/);
    expect(result.warnings[0]).toMatch(new RegExp(`^${warning}.*the envelope is stored as one item$`));
    // The same delivery again is the same item.
    expect(only(normalized(payload)).dedupeKey).toBe(stored.dedupeKey);
  });

  it('elements that are not objects are skipped with a warning', () => {
    const result = normalized({ event: 'x', data: [1, { workEventId: 'w' }, null] });
    expect(result.events.map((event) => event.item.id)).toEqual(['w']);
    expect(result.warnings).toEqual([
      'data[0] is not an object; skipped',
      'data[2] is not an object; skipped',
    ]);
  });

  it.each([
    { name: 'an array', payload: [], reason: 'payload is not a JSON object' },
    { name: 'a string', payload: 'x', reason: 'payload is not a JSON object' },
    { name: 'null', payload: null, reason: 'payload is not a JSON object' },
    { name: 'a number', payload: 42, reason: 'payload is not a JSON object' },
    { name: 'an object without event', payload: {}, reason: 'payload has no event type (event)' },
    { name: 'event null', payload: { event: null, data: [] }, reason: 'payload has no event type (event)' },
    {
      name: 'event empty',
      payload: { event: '  ' },
      reason: 'event type (event) is not a non-empty string of at most 200 characters',
    },
    {
      name: 'event a number',
      payload: { event: 5 },
      reason: 'event type (event) is not a non-empty string of at most 200 characters',
    },
    {
      name: 'event too long',
      payload: { event: 'e'.repeat(201) },
      reason: 'event type (event) is not a non-empty string of at most 200 characters',
    },
  ])('$name is refused with a short reason', ({ payload, reason }) => {
    expect(normalizeTrackpilots(payload, CTX)).toEqual({ ok: false, code: 'HR_ERR_PAYLOAD_INVALID', reason });
  });
});
