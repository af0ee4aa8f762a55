import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { coerceError, HookrelayError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Fence, LeaderLease } from '../store/leader-port.js';

/** Defaults: a kill -9'd leader's lease runs out within 3 s and a standby asks every 0.5 s, so failover < 5 s. */
export const LEASE_TTL_MS = 3_000;
export const LEASE_RENEW_MS = 1_000;
export const LEASE_POLL_MS = 500;

/** The duties only the leader runs (the evaluator, and the clock-driven ones it and retention carry). */
export interface LeaderDuties {
  /** Called on becoming leader; the evaluator loads the committed cursor and state here. */
  start(): Promise<void>;
  /** Called on losing the lease or closing; must finish (no commit in flight) before it resolves. */
  stop(): Promise<void>;
}

export interface LeadershipOptions {
  lease: LeaderLease;
  duties: LeaderDuties;
  logger: Logger;
  /** This instance's name in the lease row; default host:pid:random. */
  holder?: string;
  ttlMs?: number;
  /** How often the leader renews; well inside the TTL (default a third of it). */
  renewMs?: number;
  /** How often a standby tries to take the lease (default 0.5 s: a resigned lease is taken that fast). */
  pollMs?: number;
  /** Called after every change of role, with the term (metrics; tests wait on it). */
  onChange?: (leader: boolean, term: number | undefined) => void;
}

export interface Leadership {
  /** start makes the first attempt (so a lone instance leads before start resolves), then keeps trying. */
  start(): Promise<void>;
  /** stop stops the duties if leading, then resigns so a standby takes over at once. */
  stop(): Promise<void>;
  /**
   * fence is what every evaluator commit carries; undefined when not leading, and also once the lease
   * may have run out by this process's own monotonic clock (no renewal confirmed for TTL minus a margin),
   * so a leader whose renewals hang stops committing before the database would have to refuse it.
   */
  fence(): Fence | undefined;
  /** fenced is told that a commit was refused as fenced: stand down now (before the next renewal says so). */
  fenced(): void;
  readonly leader: boolean;
  /** The term held while leading, else the last one held (0 before ever leading). */
  readonly term: number;
  readonly holder: string;
}

export function defaultHolder(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * createLeadership runs the loop that makes exactly one instance the evaluator: a standby asks for the
 * lease every `pollMs`; the leader renews every `renewMs` and stops its duties the moment a renewal
 * fails, errs, or a commit is refused as fenced. Stopping its duties does not make writes safe by itself
 * (a paused leader does not know it lost the lease): the fence on every commit does. All steps run one
 * after another, so duties are never started twice or stopped while starting.
 */
export function createLeadership(options: LeadershipOptions): Leadership {
  const { lease, duties, logger } = options;
  const holder = options.holder ?? defaultHolder();
  const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
  const renewMs = options.renewMs ?? Math.max(1, Math.floor(ttlMs / 3));
  const pollMs = options.pollMs ?? LEASE_POLL_MS;
  // Trust the lease a little less long than it lasts (River: 1 s before its TTL).
  const marginMs = Math.min(1_000, Math.floor(ttlMs / 5));
  let term: number | undefined;
  let lastTerm = 0;
  /** performance.now() until which the lease surely holds: a request's start + TTL - margin. */
  let trustedUntil = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  const serial = (step: () => Promise<void>): Promise<void> => {
    const next = chain.then(step);
    chain = next.catch((error: unknown) =>
      logger.error({ err: coerceError(error) }, 'leadership step failed'),
    );
    return next;
  };

  const changed = () => options.onChange?.(term !== undefined, term ?? lastTerm);

  const standDown = async (why: string, err?: unknown) => {
    if (term === undefined) return;
    const code = err instanceof HookrelayError ? err.code : undefined;
    logger.warn(
      { term, holder, ...(err ? { err: coerceError(err), code } : {}) },
      `leader lease lost (${why})`,
    );
    term = undefined;
    changed();
    await duties.stop();
  };

  const step = async () => {
    if (closed) return;
    if (term !== undefined) {
      const held = term;
      let renewed = false;
      const asked = performance.now();
      try {
        renewed = await lease.renew(holder, held, ttlMs);
        if (renewed) trustedUntil = asked + ttlMs - marginMs;
      } catch (error) {
        // Whether the row still names us is unknown; stop leading, the fence guards the meantime.
        return standDown('renewal failed', error);
      }
      if (!renewed && term === held) await standDown('renewal refused: another instance took it');
      return;
    }
    let acquired: number | undefined;
    const asked = performance.now();
    try {
      acquired = await lease.tryAcquire(holder, ttlMs);
    } catch (error) {
      logger.warn({ err: coerceError(error), holder }, 'leader lease unavailable; retrying');
      return;
    }
    if (acquired === undefined) return;
    if (closed) {
      // stop() came while asking: hand it straight back rather than make the next wait for the TTL.
      await lease.resign(holder, acquired).catch(() => undefined);
      return;
    }
    term = acquired;
    lastTerm = acquired;
    trustedUntil = asked + ttlMs - marginMs;
    logger.info({ term, holder }, 'leader lease taken: this instance evaluates');
    changed();
    try {
      await duties.start();
    } catch (error) {
      logger.error({ err: coerceError(error), term }, 'evaluator did not start; resigning');
      const resigned = term;
      term = undefined;
      changed();
      await duties.stop().catch(() => undefined);
      await lease.resign(holder, resigned).catch(() => undefined);
    }
  };

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(
      () => {
        serial(step).finally(schedule);
      },
      term === undefined ? pollMs : renewMs,
    );
    timer.unref();
  };

  return {
    holder,
    get leader() {
      return term !== undefined;
    },
    get term() {
      return term ?? lastTerm;
    },
    fence() {
      if (term === undefined || performance.now() > trustedUntil) return undefined;
      return { lease: lease.name, holder, term };
    },
    fenced() {
      const held = term;
      serial(async () => {
        if (term === held) await standDown('a commit was refused as fenced');
      }).catch(() => undefined);
    },
    async start() {
      await serial(step);
      schedule();
    },
    async stop() {
      closed = true;
      if (timer) clearTimeout(timer);
      await serial(async () => {
        const held = term;
        if (held === undefined) return;
        term = undefined;
        changed();
        await duties.stop();
        await lease.resign(holder, held).catch((error: unknown) => {
          logger.warn(
            { err: coerceError(error) },
            'leader lease not resigned; a standby takes over at its expiry',
          );
        });
        logger.info({ term: held, holder }, 'leader lease resigned');
      }).catch(() => undefined);
    },
  };
}
