/**
 * The contract of paced claims (Outbox.claim with ClaimQuery.pacing), engine-neutral: each engine's test
 * file calls `describePacingContract(name, openPair)` with a factory of two fresh stores on ONE database,
 * as two instances (or processes) would open it, so the suite can show that they draw from one bucket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { enqueue, notificationOf } from './contract.js';
import { StoreErrorCode } from './errors.js';
import type { ClaimedNotification, ClaimQuery, Store } from './ports.js';

/** A fixed reference time so the slots are exact numbers. */
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;
const DEST = 'team-slack';

/** enqueueMany commits `count` notifications named `prefix-1…` as an evaluation step that reads nothing. */
function enqueueMany(store: Store, count: number, prefix = 'n', destination = DEST): Promise<number> {
  return enqueue(
    store,
    Array.from({ length: count }, (_, i) => notificationOf(`${prefix}-${i + 1}`, destination)),
  );
}

function paced(now: number, pacing: ClaimQuery['pacing'], limit = 10, leaseMs = MINUTE): ClaimQuery {
  return { now, leaseMs, limitPerDestination: limit, destinations: [DEST], pacing };
}

const slots = (claimed: ClaimedNotification[]): number[] => claimed.map((n) => n.sendAt - T0);

/** settle records each claimed row delivered, so the next claim may take the rows behind it. */
async function settle(store: Store, claimed: ClaimedNotification[], at: number): Promise<void> {
  for (const n of claimed) {
    expect(
      await store.outbox.recordDelivered(n.id, { at, durationMs: 1, outcome: 'delivered' }, n.claimToken),
    ).toBe(true);
  }
}

/** describePacingContract registers the paced-claim suite; `openPair` opens two stores on one fresh database. */
export function describePacingContract(name: string, openPair: () => Promise<[Store, Store]>): void {
  describe(`Outbox paced claims: ${name}`, () => {
    const opened: Store[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });
    const open = async (): Promise<[Store, Store]> => {
      const pair = await openPair();
      opened.push(...pair);
      return pair;
    };

    it('gives `burst` rows the claim time, then one slot per interval', async () => {
      const [store] = await open();
      await enqueueMany(store, 5);
      const claimed = await store.outbox.claim(paced(T0, { [DEST]: { perSecond: 2, burst: 2 } }));
      expect(claimed.map((n) => n.id)).toEqual(['n-1', 'n-2', 'n-3', 'n-4', 'n-5']);
      expect(slots(claimed)).toEqual([0, 0, 500, 1_000, 1_500]);
    });

    it('shares one bucket between two stores on one database, as between two instances', async () => {
      const [a, b] = await open();
      await enqueueMany(a, 3);
      const pacing = { [DEST]: { perSecond: 2, burst: 1 } };
      const first = await a.outbox.claim(paced(T0, pacing, 1));
      expect(slots(first)).toEqual([0]);
      await settle(a, first, T0 + 10);
      // The other store's own pace would let it send at once; the shared bucket says one interval later.
      const second = await b.outbox.claim(paced(T0 + 100, pacing, 1));
      expect(second.map((n) => n.id)).toEqual(['n-2']);
      expect(slots(second)).toEqual([500]);
      await settle(b, second, T0 + 510);
      const third = await a.outbox.claim(paced(T0 + 520, pacing, 1));
      expect(slots(third)).toEqual([1_000]);
    });

    it('claims no row whose slot lies beyond a quarter of the lease, and leaves it claimable', async () => {
      const [store, other] = await open();
      await enqueueMany(store, 10);
      const pacing = { [DEST]: { perSecond: 2, burst: 1 } };
      // A 4 s lease: slots up to 1 s ahead.
      const claimed = await store.outbox.claim(paced(T0, pacing, 10, 4_000));
      expect(slots(claimed)).toEqual([0, 500, 1_000]);
      await settle(store, claimed, T0 + 1_000);
      // The rest come with the next claims, at the pace: the next slot is where the last one left off.
      const next = await other.outbox.claim(paced(T0 + 1_000, pacing, 10, 4_000));
      expect(next[0]?.id).toBe('n-4');
      expect(slots(next)).toEqual([1_500, 2_000]);
      // A bucket further ahead than the horizon gives nothing at all, as a row not yet due would.
      const [fresh] = await open();
      const slow = { [DEST]: { perSecond: 1, burst: 1 } };
      await enqueueMany(fresh, 5, 'f');
      await settle(fresh, await fresh.outbox.claim(paced(T0, slow, 5)), T0 + 1);
      await enqueueMany(fresh, 1, 'g');
      expect(await fresh.outbox.claim(paced(T0 + 2, slow, 5, 4_000))).toEqual([]);
      expect(slots(await fresh.outbox.claim(paced(T0 + 4_000, slow, 5, 4_000)))).toEqual([5_000]);
    });

    it('leaves unpaced claims as they were: every row at the claim time, and the bucket untouched', async () => {
      const [store, other] = await open();
      await enqueueMany(store, 4);
      await enqueueMany(store, 2, 'd', 'team-discord');
      const claimed = await store.outbox.claim({
        now: T0,
        leaseMs: MINUTE,
        limitPerDestination: 10,
        destinations: [DEST, 'team-discord'],
        // team-slack is unpaced (Infinity); team-discord is not named at all.
        pacing: { [DEST]: { perSecond: Number.POSITIVE_INFINITY, burst: 1 } },
      });
      expect(claimed.map((n) => n.id)).toEqual(['n-1', 'n-2', 'n-3', 'n-4', 'd-1', 'd-2']);
      expect(claimed.every((n) => n.sendAt === T0)).toBe(true);
      // Nothing was drawn from team-slack's bucket: a paced claim then finds it full.
      await enqueueMany(other, 1, 'late');
      await settle(store, claimed, T0 + 1);
      const later = await other.outbox.claim(paced(T0 + 2, { [DEST]: { perSecond: 1, burst: 1 } }));
      expect(later.map((n) => [n.id, n.sendAt - T0])).toEqual([['late-1', 2]]);
    });

    it('refuses a malformed pacing', async () => {
      const [store] = await open();
      const invalid = { code: StoreErrorCode.inputInvalid };
      await expect(
        store.outbox.claim(paced(T0, { [DEST]: { perSecond: 0, burst: 1 } })),
      ).rejects.toMatchObject(invalid);
      await expect(
        store.outbox.claim(paced(T0, { [DEST]: { perSecond: 1, burst: 0.5 } })),
      ).rejects.toMatchObject(invalid);
    });
  });
}
