import { describe, expect, it } from 'vitest';
import { type GenericNormalizeContext, normalizeGeneric } from './generic.js';
import type { NormalizeResult } from './result.js';

const RECEIVED_AT = Date.UTC(2026, 0, 28, 9, 5, 30);
const CTX: GenericNormalizeContext = { source: 'billing', receivedAt: RECEIVED_AT };

function normalized(
  payload: unknown,
  ctx: Partial<GenericNormalizeContext> = {},
): Extract<NormalizeResult, { ok: true }> {
  const result = normalizeGeneric(payload, { ...CTX, ...ctx });
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}`);
  return result;
}

// The payload shape the Standard Webhooks spec recommends.
const INVOICE = {
  type: 'invoice.paid',
  timestamp: '2026-01-28T09:05:00Z',
  data: { id: 'in_1', amount: 1200, user: { id: 'u-9' } },
};

describe('normalizeGeneric', () => {
  it('makes one item of a whole payload, keyed by the delivery id', () => {
    const result = normalized(INVOICE, { deliveryId: 'msg_2a3b' });
    expect(result.event).toBe('invoice.paid');
    expect(result.warnings).toEqual([]);
    expect(result.events).toEqual([
      {
        dedupeKey: 'msg_2a3b:0',
        item: {
          source: 'billing',
          event: 'invoice.paid',
          id: 'msg_2a3b:0',
          at: Date.parse('2026-01-28T09:05:00Z'),
          receivedAt: RECEIVED_AT,
          envelopeAt: Date.parse('2026-01-28T09:05:00Z'),
          simulation: false,
          raw: INVOICE,
        },
      },
    ]);
  });

  it('makes one item per element of a data array, with delivery id and index', () => {
    const payload = {
      type: 'build.finished',
      user: 'u-1',
      data: [
        { id: 'b-1', status: 'failed', createdAt: '2026-01-28T09:00:00Z' },
        { id: 'b-2', status: 'passed', userId: 'u-2' },
      ],
    };
    const result = normalized(payload, { deliveryId: 'msg_9' });
    expect(result.events.map((event) => event.dedupeKey)).toEqual(['msg_9:0', 'msg_9:1']);
    expect(result.events.map((event) => event.item.id)).toEqual(['b-1', 'b-2']);
    // The envelope's user applies where an element names none.
    expect(result.events.map((event) => event.item.user)).toEqual(['u-1', 'u-2']);
    expect(result.events.map((event) => event.item.at)).toEqual([
      Date.parse('2026-01-28T09:00:00Z'),
      RECEIVED_AT,
    ]);
    expect(result.events[1]!.item.raw).toEqual(payload.data[1]);
  });

  it('without a delivery id keys by the item id, else by content', () => {
    const withIds = normalized({ type: 't', data: [{ id: 'a' }, { eventId: 'b' }, { n: 1 }, { n: 1 }] });
    const keys = withIds.events.map((event) => event.dedupeKey);
    expect(keys.slice(0, 2)).toEqual(['a', 'b']);
    expect(keys[2]).toMatch(/^[0-9a-f]{64}$/);
    expect(keys[3]).toBe(`${keys[2]}#2`);
    expect(
      normalized({ type: 't', data: [{ id: 'a' }, { eventId: 'b' }, { n: 1 }, { n: 1 }] }).events.map(
        (event) => event.dedupeKey,
      ),
    ).toEqual(keys);
  });

  it.each([
    { name: 'type by default', payload: { type: 'a.b', event: 'ignored' }, ctx: {}, event: 'a.b' },
    { name: 'event when there is no type', payload: { event: 'c.d' }, ctx: {}, event: 'c.d' },
    {
      name: 'a configured field',
      payload: { type: 'ignored', kind: 'e.f' },
      ctx: { eventField: 'kind' },
      event: 'e.f',
    },
    {
      name: 'a configured nested field',
      payload: { meta: { kind: 'g.h' } },
      ctx: { eventField: 'meta.kind' },
      event: 'g.h',
    },
  ])('reads the event type from $name', ({ payload, ctx, event }) => {
    expect(normalized(payload, ctx).event).toBe(event);
  });

  it('reads Trackpilots-style fields when present', () => {
    const { item } = normalized({
      type: 'x',
      simulation: true,
      organisation: { organisationId: 'o' },
      team: { teamId: 't' },
      user: { userId: 'u' },
      tracking: { app: { name: 'Slack' }, operatingSystem: 'linux' },
    }).events[0]!;
    expect(item).toMatchObject({
      simulation: true,
      org: 'o',
      team: 't',
      user: 'u',
      app: { name: 'Slack' },
      operatingSystem: 'linux',
    });
  });

  it('warns about an envelope timestamp that is not a date, and uses the receive time', () => {
    const result = normalized({ type: 'x', timestamp: 'later' });
    expect(result.events[0]!.item.at).toBe(RECEIVED_AT);
    expect(result.warnings).toEqual(['timestamp is not a date']);
  });

  it('warns about an envelope time out of range, and uses the receive time', () => {
    const result = normalized({ type: 'x', createdAt: 1e19 });
    expect(result.events[0]!.item.at).toBe(RECEIVED_AT);
    expect(result.events[0]!.item.envelopeAt).toBeUndefined();
    expect(result.warnings).toEqual(['createdAt is out of range']);
  });

  it('accepts an empty data array with no items and a warning', () => {
    expect(normalizeGeneric({ type: 'x', data: [] }, CTX)).toEqual({
      ok: true,
      event: 'x',
      events: [],
      warnings: ['data is empty'],
    });
  });

  it.each([
    { name: 'an array', payload: [{ type: 'x' }], ctx: {}, reason: 'payload is not a JSON object' },
    { name: 'a string', payload: 'x', ctx: {}, reason: 'payload is not a JSON object' },
    {
      name: 'no event type',
      payload: { data: [] },
      ctx: {},
      reason: 'payload has no event type (type or event)',
    },
    {
      name: 'no value at the configured field',
      payload: { type: 'x' },
      ctx: { eventField: 'kind' },
      reason: 'payload has no event type (kind)',
    },
    {
      name: 'an event type that is not a string',
      payload: { type: { name: 'x' } },
      ctx: {},
      reason: 'event type (type) is not a non-empty string of at most 200 characters',
    },
  ])('refuses $name with a short reason', ({ payload, ctx, reason }) => {
    expect(normalizeGeneric(payload, { ...CTX, ...ctx })).toEqual({
      ok: false,
      code: 'HR_ERR_PAYLOAD_INVALID',
      reason,
    });
  });
});
