import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../lib/log.js';
import { type ConnectionOptions, createPool } from './pool.js';

/**
 * INSTANCE_TTL_MS: a claim whose claimant has not beaten for this long (by the database's clock) is void,
 * and another instance may take its rows (outbox.ts claimRows). A killed instance stalls its destinations
 * for about this long instead of for the whole claim lease (60 s).
 */
export const INSTANCE_TTL_MS = 5_000;
/** How often an open store beats. */
export const HEARTBEAT_MS = 1_000;
/**
 * An instance stops sending what it claimed once its last confirmed beat is older than the TTL less this
 * margin: before any peer may judge it dead (the peer's judgement starts from the same beat, later).
 */
const FENCE_MARGIN_MS = 2_000;
/** A beat that waits longer than this is worth nothing (the TTL passes meanwhile): give up on it. */
const BEAT_TIMEOUT_MS = 2_000;
/** Rows of instances gone for this long are deleted, by one beat in RETENTION_EVERY. */
const RETENTION = '1 hour';
const RETENTION_EVERY = 60;

const BEAT = `
INSERT INTO hookrelay_instances (id, seen_at) VALUES ($1, clock_timestamp())
ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`;

/** Heartbeat keeps one store's row in hookrelay_instances fresh while it is open. */
export interface Heartbeat {
  /**
   * id is the claimant name this store stamps on its claims now. It changes when the heartbeat comes back
   * after claimsHeld() was false: the old name's row is deleted, so what was claimed under it (and forgotten
   * by the deliver stage while fenced) is claimable at once, here or by a peer, instead of staying leased
   * by a live name until the lease runs out.
   */
  id(): string;
  /**
   * abandon gives the current name up at the next beat that lands, as after a stall: for when the store
   * failed a claim or a transition, after which the deliver stage forgets what it holds (its rows would
   * otherwise stay leased by a live name until the lease runs out).
   */
  abandon(): void;
  /** beat writes the row once; rejects when it could not (the store's open fails with it). */
  beat(): Promise<void>;
  /** start beats every HEARTBEAT_MS (an unref'd timer) until close. */
  start(): void;
  /**
   * claimsHeld: false once no beat was confirmed within INSTANCE_TTL_MS - FENCE_MARGIN_MS, so a peer may
   * soon re-claim what this instance holds (its event loop or the database was too slow).
   */
  claimsHeld(): boolean;
  /** close stops beating and deletes the row: a clean stop frees this instance's claims at once. */
  close(): Promise<void>;
}

export interface HeartbeatOptions {
  connection: ConnectionOptions;
  instanceId: string;
  logger: Logger;
}

/**
 * createHeartbeat beats over a pool of its own (one connection, a short statement timeout), so a busy
 * store pool never delays a beat past the TTL, as the leader lease does (leader-lease.ts).
 */
export function createHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { logger } = options;
  let instanceId = options.instanceId;
  const pool = createPool({ ...options.connection, size: 1, statementTimeoutMs: BEAT_TIMEOUT_MS });
  // An idle connection's error (the database restarting) must not crash the process; the next beat retries.
  pool.on('error', () => undefined);
  let confirmedAt = Number.NEGATIVE_INFINITY;
  let beating = false;
  let failing = false;
  let beats = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let abandoned = false;

  const claimsHeld = () => performance.now() - confirmedAt < INSTANCE_TTL_MS - FENCE_MARGIN_MS;

  const beat = async (): Promise<void> => {
    // Measured from before the statement: the row's seen_at is never older than this.
    const sentAt = performance.now();
    if (beats > 0 && (abandoned || !claimsHeld())) {
      // Back after a stall: beat under a new name, then drop the old one (if that fails, it ages out).
      const renamed = randomUUID();
      await pool.query(BEAT, [renamed]);
      const old = instanceId;
      instanceId = renamed;
      abandoned = false;
      logger.info(
        { previous: old, instance: renamed },
        'the instance heartbeat is back after a stall or a store failure; earlier claims are released',
      );
      await pool.query('DELETE FROM hookrelay_instances WHERE id = $1', [old]).catch(() => undefined);
    } else {
      await pool.query(BEAT, [instanceId]);
    }
    confirmedAt = Math.max(confirmedAt, sentAt);
    beats += 1;
    if (beats % RETENTION_EVERY === 0) {
      await pool.query(
        `DELETE FROM hookrelay_instances WHERE seen_at < clock_timestamp() - interval '${RETENTION}'`,
      );
    }
  };

  const tick = async (): Promise<void> => {
    // One beat at a time: a slow one is not joined by more on its single connection.
    if (beating || closed) return;
    beating = true;
    try {
      await beat();
      if (failing) logger.info('the instance heartbeat is written again');
      failing = false;
    } catch (error) {
      // Logged once per outage; the store's writes and /readyz say more. Never thrown: a timer callback.
      if (!failing) logger.warn({ err: error }, 'the instance heartbeat failed; retrying every second');
      failing = true;
    } finally {
      beating = false;
    }
  };

  return {
    id: () => instanceId,
    abandon() {
      abandoned = true;
    },
    beat,
    start() {
      if (timer !== undefined || closed) return;
      timer = setInterval(() => void tick(), HEARTBEAT_MS);
      timer.unref();
    },
    claimsHeld,
    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await pool.query('DELETE FROM hookrelay_instances WHERE id = $1', [instanceId]).catch((error) => {
        logger.warn({ err: error }, 'could not delete the instance heartbeat; its claims end in seconds');
      });
      await pool.end().catch(() => undefined);
    },
  };
}
