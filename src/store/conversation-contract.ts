/**
 * The contract of ConversationStore, engine-neutral: each engine's test file calls
 * `conversationContract('sqlite', open)` (and the PostgreSQL engine the same) with a factory of fresh stores.
 */
import { describe, expect, it } from 'vitest';
import type { Conversation, ConversationStore } from './conversation-port.js';

/** ConversationHarness is a fresh, empty store and how to close it. */
export interface ConversationHarness {
  conversations: ConversationStore;
  close(): Promise<void>;
}

const FIRST: Conversation = {
  destination: 'team-slack',
  rule: 'unproductive-hour',
  key: 'user-1',
  ref: { channel: 'C0123456789', ts: '1700000000.000001' },
  startedAt: 1_700_000_000_000,
};

/** conversationContract registers the ConversationStore tests for one engine. */
export function conversationContract(engine: string, open: () => Promise<ConversationHarness>): void {
  async function withStore(run: (store: ConversationStore) => Promise<void>): Promise<void> {
    const harness = await open();
    try {
      await run(harness.conversations);
    } finally {
      await harness.close();
    }
  }

  describe(`ConversationStore contract (${engine})`, () => {
    it('finds nothing before a conversation starts', () =>
      withStore(async (store) => {
        expect(await store.find(FIRST)).toBeUndefined();
      }));

    it('keeps the first message: a second start for the same alert returns the first ref', () =>
      withStore(async (store) => {
        expect(await store.start(FIRST)).toEqual(FIRST);
        const again = { ...FIRST, ref: { channel: 'C0123456789', ts: '1700000000.000099' }, startedAt: 5 };
        expect(await store.start(again)).toEqual(FIRST);
        expect(await store.find(FIRST)).toEqual(FIRST);
      }));

    it('keeps one conversation per destination, rule and key', () =>
      withStore(async (store) => {
        await store.start(FIRST);
        const otherKey = { ...FIRST, key: 'user-2', ref: { ts: '2' } };
        const otherRule = { ...FIRST, rule: 'went-quiet', ref: { ts: '3' } };
        const otherDestination = { ...FIRST, destination: 'team-discord', ref: { messageId: '4' } };
        for (const c of [otherKey, otherRule, otherDestination]) await store.start(c);
        expect(await store.find(otherKey)).toEqual(otherKey);
        expect(await store.find(otherRule)).toEqual(otherRule);
        expect(await store.find(otherDestination)).toEqual(otherDestination);
        expect(await store.find(FIRST)).toEqual(FIRST);
      }));

    it('round-trips every ref field, and only the fields given', () =>
      withStore(async (store) => {
        const full = {
          ...FIRST,
          ref: { channel: 'C1', ts: '1.2', messageId: '<a@b>', threadId: '123456789012345678' },
        };
        await store.start(full);
        expect(await store.find(full)).toEqual(full);
      }));

    it('end forgets the conversation, once; the next start begins a new one', () =>
      withStore(async (store) => {
        await store.start(FIRST);
        expect(await store.end(FIRST)).toBe(true);
        expect(await store.end(FIRST)).toBe(false);
        expect(await store.find(FIRST)).toBeUndefined();
        const next = { ...FIRST, ref: { channel: 'C0123456789', ts: '1700000100.000001' } };
        expect(await store.start(next)).toEqual(next);
      }));

    it('acknowledge marks every destination of the alert, keeps the first, and ends with the conversation', () =>
      withStore(async (store) => {
        const discord = { ...FIRST, destination: 'team-discord', ref: { messageId: '9' } };
        const other = { ...FIRST, key: 'user-2' };
        for (const c of [FIRST, discord, other]) await store.start(c);
        expect(await store.acknowledge({ rule: FIRST.rule, key: FIRST.key }, 'slack:U1 Ada', 10)).toBe(2);
        expect(await store.acknowledge({ rule: FIRST.rule, key: FIRST.key }, 'slack:U2 Alan', 20)).toBe(0);
        const acknowledged = { by: 'slack:U1 Ada', at: 10 };
        expect(await store.find(FIRST)).toEqual({ ...FIRST, acknowledged });
        expect(await store.find(discord)).toEqual({ ...discord, acknowledged });
        expect(await store.find(other)).toEqual(other);
        await store.end(FIRST);
        await store.start(FIRST);
        expect(await store.find(FIRST)).toEqual(FIRST);
        expect(await store.acknowledge({ rule: 'none', key: 'x' }, 'a', 1)).toBe(0);
      }));

    it('refuses input it cannot keep', () =>
      withStore(async (store) => {
        await expect(store.start({ ...FIRST, destination: '' })).rejects.toMatchObject({
          code: 'HR_ERR_STORE_INPUT_INVALID',
        });
        const bad = { ...FIRST, ref: { ts: 12 } } as unknown as Conversation;
        await expect(store.start(bad)).rejects.toMatchObject({ code: 'HR_ERR_STORE_INPUT_INVALID' });
        await expect(store.start({ ...FIRST, ref: { ts: 'x'.repeat(2_000) } })).rejects.toMatchObject({
          code: 'HR_ERR_STORE_INPUT_INVALID',
        });
        expect(await store.find(FIRST)).toBeUndefined();
      }));
  });
}
