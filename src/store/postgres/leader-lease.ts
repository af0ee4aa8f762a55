import type pg from 'pg';
import { HookrelayError } from '../../lib/errors.js';
import { EVALUATOR_LEASE, type LeaderLease, LeaseErrorCode, type LeaseState } from '../leader-port.js';
import { createPool } from './pool.js';

/**
 * Every statement is one round trip and judges expiry by the database's `now()`, never this instance's
 * clock. Taking a lease is one upsert: a new row starts at term 1; an existing row changes hands only
 * when it has expired or is already ours, and its term goes up unless we held it live all along.
 */
const ACQUIRE = `
INSERT INTO hookrelay_leases AS l (name, holder, term, expires_at)
VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE SET
  term = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at >= now() THEN l.term ELSE l.term + 1 END,
  holder = EXCLUDED.holder,
  expires_at = EXCLUDED.expires_at
WHERE l.expires_at < now() OR l.holder = EXCLUDED.holder
RETURNING term`;

const RENEW = `
UPDATE hookrelay_leases SET expires_at = now() + $4 * interval '1 millisecond'
WHERE name = $1 AND holder = $2 AND term = $3 AND expires_at >= now()`;

// The row stays (with its term) so the next holder's term is higher than every earlier one.
const RESIGN = `
UPDATE hookrelay_leases SET expires_at = 'epoch'
WHERE name = $1 AND holder = $2 AND term = $3`;

const CURRENT = `
SELECT holder, term, (extract(epoch FROM expires_at - now()) * 1000)::float8 AS expires_in_ms
FROM hookrelay_leases WHERE name = $1`;

export interface PostgresLeaderLeaseOptions {
  /** Best a small pool of its own, so a busy ingest pool never delays a renewal past the TTL. */
  pool: pg.Pool;
  name?: string;
}

/** createPostgresLeaderLease keeps a lease as a row of `hookrelay_leases` (created by the migrations). */
export function createPostgresLeaderLease(options: PostgresLeaderLeaseOptions): LeaderLease {
  const { pool } = options;
  const name = options.name ?? EVALUATOR_LEASE;
  const query = async <R extends pg.QueryResultRow>(what: string, sql: string, values: unknown[]) => {
    try {
      return await pool.query<R>(sql, values);
    } catch (error) {
      throw new HookrelayError(LeaseErrorCode.failed, `the leader lease could not be ${what}`, {
        cause: error,
      });
    }
  };
  return {
    name,
    async tryAcquire(holder, ttlMs) {
      const result = await query<{ term: string }>('taken', ACQUIRE, [name, holder, ttlMs]);
      const row = result.rows[0];
      return row === undefined ? undefined : Number(row.term);
    },
    async renew(holder, term, ttlMs) {
      const result = await query('renewed', RENEW, [name, holder, term, ttlMs]);
      return result.rowCount === 1;
    },
    async resign(holder, term) {
      await query('resigned', RESIGN, [name, holder, term]);
    },
    async current(): Promise<LeaseState | undefined> {
      const result = await query<{ holder: string; term: string; expires_in_ms: number }>('read', CURRENT, [
        name,
      ]);
      const row = result.rows[0];
      return row === undefined
        ? undefined
        : { holder: row.holder, term: Number(row.term), expiresInMs: Number(row.expires_in_ms) };
    },
  };
}

/**
 * openPostgresLeaderLease opens the evaluator's lease over a pool of its own (two connections, the
 * engine's connection settings) on the database `url` names; `close` ends that pool.
 */
export function openPostgresLeaderLease(
  url: string,
  options: { schema?: string } = {},
): LeaderLease & { close(): Promise<void> } {
  // A renewal that waits longer than the TTL is worth nothing: time it out well before.
  const pool = createPool({ url, size: 2, statementTimeoutMs: 1_000, ...options });
  // An idle client's error (the database restarting) must not crash the process; the next query retries.
  pool.on('error', () => undefined);
  return { ...createPostgresLeaderLease({ pool }), close: () => pool.end() };
}
