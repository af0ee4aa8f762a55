import { HookrelayError } from '../lib/errors.js';
import { StoreErrorCode } from './errors.js';
import type { EvaluatorFence } from './ports.js';

/**
 * Fence names the lease a write depends on: the `fence` of an evaluator commit (see
 * EvaluatorCommitInput), refused with `HR_ERR_STORE_FENCED` once this holder and term no longer hold.
 */
export type Fence = EvaluatorFence;

/** LeaseState is the lease row as the database sees it now. */
export interface LeaseState {
  holder: string;
  term: number;
  /** Milliseconds until it expires by the database's clock; 0 or less when expired. */
  expiresInMs: number;
}

/**
 * LeaderLease elects one holder at a time for a named duty (the evaluator). The term increases on every
 * change of holder (and when a holder takes back a lease that expired meanwhile), never goes back, and
 * is what fencing checks. Expiry is judged by the database's clock alone, so instances whose clocks
 * disagree still agree on who leads.
 */
export interface LeaderLease {
  /** The lease's name (the `lease` of a Fence). */
  readonly name: string;
  /**
   * tryAcquire takes the lease for `ttlMs` when it is free or expired (a new term), or extends it when
   * `holder` already has it (the same term). Resolves with the term held, or undefined when another
   * holder has a live lease.
   */
  tryAcquire(holder: string, ttlMs: number): Promise<number | undefined>;
  /** renew extends the lease by `ttlMs`; false when `holder` no longer has `term` live (lost it). */
  renew(holder: string, term: number, ttlMs: number): Promise<boolean>;
  /** resign ends the lease at once (when `holder` still has `term`), so the next holder need not wait for the TTL. */
  resign(holder: string, term: number): Promise<void>;
  /** current returns the lease row, or undefined when nobody ever held it. */
  current(): Promise<LeaseState | undefined>;
}

/** EVALUATOR_LEASE is the name of the evaluator's lease row. */
export const EVALUATOR_LEASE = 'evaluator';

export const LeaseErrorCode = {
  /** An evaluator commit refused: its fence no longer holds (see StoreErrorCode.fenced). */
  fenced: StoreErrorCode.fenced,
  /** The lease could not be read or written (database unreachable); the instance stops leading. */
  failed: 'HR_ERR_STORE_LEASE_FAILED',
} as const;

/** isFenced says whether an error is a refused, fenced commit. */
export function isFenced(error: unknown): boolean {
  return error instanceof HookrelayError && error.code === LeaseErrorCode.fenced;
}

/**
 * createLocalLeaderLease is the lease for SQLite: one process owns the file, so the holder that asks is
 * always the leader (term 1, for the process's lifetime). It keeps the port's rules all the same (a
 * second holder is refused until the first resigns or lets it expire), so tests can drive the loop.
 */
export function createLocalLeaderLease(now: () => number = Date.now): LeaderLease {
  let row: { holder: string; term: number; expiresAt: number } | undefined;
  return {
    name: EVALUATOR_LEASE,
    async tryAcquire(holder, ttlMs) {
      const at = now();
      if (row && row.expiresAt >= at && row.holder !== holder) return undefined;
      const term = row && row.holder === holder && row.expiresAt >= at ? row.term : (row?.term ?? 0) + 1;
      row = { holder, term, expiresAt: at + ttlMs };
      return term;
    },
    async renew(holder, term, ttlMs) {
      const at = now();
      if (!row || row.holder !== holder || row.term !== term || row.expiresAt < at) return false;
      row.expiresAt = at + ttlMs;
      return true;
    },
    async resign(holder, term) {
      if (row && row.holder === holder && row.term === term) row.expiresAt = Number.NEGATIVE_INFINITY;
    },
    async current() {
      return row ? { holder: row.holder, term: row.term, expiresInMs: row.expiresAt - now() } : undefined;
    },
  };
}
