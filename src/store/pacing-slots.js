/*
 * The send slots a claim gives the rows of a paced destination: GCRA (the generic cell rate algorithm), one
 * number per destination, its "theoretical arrival time" `tat`, kept in the destination_pacing table and
 * read and written in the claim's transaction, so every instance that claims for a destination draws from
 * one bucket. Both engines run this same code (the SQLite writer thread in plain JavaScript, hence a .js
 * file; tsc checks it through its JSDoc types). Pure: the time is an argument.
 */

/**
 * @import { ClaimPacing } from './ports.js'
 */

/**
 * @typedef {object} SlotPlan
 * @property {number[]} slots The send slot (epoch ms, an integer) of each row claimed, in order; fewer
 *   than asked when the horizon cut the claim short (possibly none).
 * @property {number} tat The destination's new theoretical arrival time (an integer epoch ms), to write
 *   back; the one read when no row was given a slot.
 */

/**
 * planSlots gives up to `rows` consecutive rows of one destination their send slots. With interval
 * T = 1000 / perSecond and tolerance tau = (burst - 1) * T, a row's slot is max(now, tat - tau), and
 * the next tat is max(tat, slot) + T: a bucket idle for long lets `burst` rows go at `now`, then one per T.
 * It stops at the first row whose slot is more than `horizonMs` after `now`, so every row claimed can be
 * sent well inside its lease. `tat` is undefined for a destination never claimed yet (the bucket is full).
 * An unpaced destination (perSecond Infinity) has no slots to plan: callers leave it out.
 * @param {{ tat: number | undefined; now: number; rows: number; pacing: ClaimPacing; horizonMs: number }} input
 * @returns {SlotPlan}
 */
export function planSlots({ tat, now, rows, pacing, horizonMs }) {
  const interval = 1000 / pacing.perSecond;
  const tolerance = (Math.max(1, pacing.burst) - 1) * interval;
  // A tat behind `now` means a full bucket; one far in the past must not grant more than `burst`.
  let next = tat === undefined ? now : tat;
  /** @type {number[]} */
  const slots = [];
  for (let i = 0; i < rows; i += 1) {
    // Rounded up to whole ms (the column is an integer): never earlier than the bucket allows.
    const slot = Math.ceil(Math.max(now, next - tolerance));
    if (slot - now > horizonMs) break;
    slots.push(slot);
    next = Math.max(next, slot) + interval;
  }
  return { slots, tat: slots.length === 0 && tat !== undefined ? tat : Math.ceil(next) };
}
