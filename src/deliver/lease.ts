/**
 * Lease bookkeeping of one destination's loop: the claimed rows it holds, when their claim ends, the one
 * timer per claim that aborts sends before it does, and handing unsent rows back to the outbox.
 */
import type { ClaimedNotification, Outbox } from '../store/ports.js';

/** A send is aborted this long before its lease ends, so no other claim can overlap it. */
const MAX_LEASE_MARGIN_MS = 1_000;

/** leaseMarginMs is how long before its lease ends a send is aborted (a tenth of the lease, at most 1 s). */
export function leaseMarginMs(leaseMs: number): number {
  return Math.min(MAX_LEASE_MARGIN_MS, leaseMs / 10);
}

/**
 * LeaseDeadline aborts the sends of one claim shortly before its lease ends: a send must end before the
 * lease does, or another claim could send the same notification meanwhile. The rows of a claim share
 * their lease, so they share one signal and one timer (not one each: measured, a few µs per delivery).
 */
export class LeaseDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private unsent: number;

  constructor(ms: number, rows: number) {
    this.unsent = rows;
    this.timer = setTimeout(
      () =>
        this.controller.abort(new DOMException('the claim on this notification is ending', 'TimeoutError')),
      Math.max(1, ms),
    );
    // A row dropped unsent never calls sent(): the timer then fires with nothing listening, and must not
    // keep the process alive meanwhile.
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** sent says one row's send ended; after the last one the timer is cleared. */
  sent(): void {
    this.unsent -= 1;
    if (this.unsent <= 0) clearTimeout(this.timer);
  }
}

/** Held is a claimed notification this loop holds the lease of and has not sent yet. */
export interface Held {
  notification: ClaimedNotification;
  leaseUntil: number;
  /** Aborts the sends of the claim this row came with, before their common lease ends. */
  deadline: LeaseDeadline;
}

/**
 * HeldRows is the claimed, unsent head of one destination's queue, in queue order. A claim returns the
 * head of the queue up to the first row leased by anyone, ours included, so what it returns comes before
 * what is already held.
 */
export class HeldRows {
  private rows: Held[] = [];

  constructor(private readonly leaseMs: number) {}

  get length(): number {
    return this.rows.length;
  }

  /** first is the row to send next. */
  first(): Held | undefined {
    return this.rows[0];
  }

  /** take removes and returns the row to send next. */
  take(): Held | undefined {
    return this.rows.shift();
  }

  /** adopt puts a fresh claim, made at `now`, before what is held. */
  adopt(claimed: ClaimedNotification[], now: number): void {
    const leaseUntil = now + this.leaseMs;
    const deadline = new LeaseDeadline(this.leaseMs - leaseMarginMs(this.leaseMs), claimed.length);
    this.rows = [...claimed.map((notification) => ({ notification, leaseUntil, deadline })), ...this.rows];
  }

  /**
   * dropExpiring forgets the held rows when the first one's lease is too close to its end to start a send
   * lasting about `sendEstimateMs` (another claim may take them after it); they come back from the store,
   * in order, once the lease has run out.
   */
  dropExpiring(now: number, sendEstimateMs: number): void {
    const first = this.rows[0];
    if (first === undefined) return;
    const needed = Math.min(
      this.leaseMs / 2,
      Math.max(4 * sendEstimateMs, 1_000) + leaseMarginMs(this.leaseMs),
    );
    if (first.leaseUntil - now < needed) this.rows = [];
  }

  /** forget lets the leases of what is held lapse: the rows come back from the store, in order. */
  forget(): void {
    this.rows = [];
  }

  /**
   * handBack returns the held rows to the outbox, due now in their place, so nothing waits for a lease to
   * run out. The outbox has no "release", so each gets an attempt entry that says it was not sent (reason
   * `canceled`) and keeps the attempt its claim counted.
   */
  async handBack(outbox: Outbox, why: string, now: number): Promise<void> {
    const rows = this.rows;
    this.rows = [];
    // All at once: a store that group-commits writes them in one transaction, not one fsync each.
    await Promise.all(
      rows.map(({ notification }) =>
        outbox.scheduleRetry(
          notification.id,
          {
            dueAt: now,
            attempt: {
              at: now,
              durationMs: 0,
              outcome: 'retry',
              reason: 'canceled',
              detail: `not sent: ${why}`,
            },
          },
          notification.claimToken,
        ),
      ),
    );
  }
}
