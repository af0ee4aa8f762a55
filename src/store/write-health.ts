import type { HookrelayError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

/*
 * Write health: what the store's recent writes say about whether it can keep what it is sent, and the one
 * place that logs their failures. Engine-neutral; an engine reports each outcome. On a full disk every
 * request fails the same way: logging each with its stack filled hundreds of MB in a minute, so a
 * repeated failure is logged once, then once per interval with how many followed.
 */

/** How long after a failed append the store counts as not ready, unless an append commits meanwhile. */
export const RECENT_FAILURE_MS = 30_000;
/** How often a failure that keeps repeating is logged again, with the count since the last line. */
export const FAILURE_LOG_INTERVAL_MS = 10_000;

/** WriteHealthOptions configure a WriteHealth; the times are for tests. */
export interface WriteHealthOptions {
  logger: Logger;
  now?: () => number;
  recentFailureMs?: number;
  logIntervalMs?: number;
}

/** The kinds of failure logged apart, each with its own count and level. */
type Kind = 'write' | 'refused' | 'probe';

const MESSAGES: Record<Kind, { first: string; repeated: string; level: 'error' | 'warn' }> = {
  write: {
    first: 'a write failed and was rolled back; the writes it concerns were rejected',
    repeated: 'more writes failed and were rolled back',
    level: 'error',
  },
  refused: {
    first: 'the database refused the rows of an append; it was rejected alone',
    repeated: 'more appends were refused by the database',
    level: 'warn',
  },
  probe: {
    first: 'the database is not writable',
    repeated: 'the database is still not writable',
    level: 'warn',
  },
};

interface Tally {
  /** Failures since the last line, not yet logged. */
  pending: number;
  /** The last of them, described in the summary line. */
  last?: { message: string; code?: string };
  /** When the last line was logged; a failure after the interval is logged at once. */
  loggedAt: number;
  timer?: NodeJS.Timeout;
}

/**
 * WriteHealth records write outcomes. `failed` (a write the store could not commit: full, I/O, busy),
 * `refused` (an input the database would not keep; that caller's problem, never readiness) and `probe`
 * (a readiness probe that could not write) are logged as said above. `ready` is false while the latest
 * append failed less than `recentFailureMs` ago and none committed since: the appends are what a 2xx
 * promises, and a probe write small enough to fit on a full disk says nothing about them.
 */
export class WriteHealth {
  private readonly now: () => number;
  private readonly recentFailureMs: number;
  private readonly logIntervalMs: number;
  private readonly tallies = new Map<Kind, Tally>();
  /** When the latest append failure happened, while no append has committed since. */
  private appendsFailingSince: number | undefined;
  /** Failures since writes last succeeded, for the line that says they succeed again. */
  private failingSince: { at: number; failures: number } | undefined;
  private lost: HookrelayError | undefined;

  constructor(private readonly options: WriteHealthOptions) {
    this.now = options.now ?? Date.now;
    this.recentFailureMs = options.recentFailureMs ?? RECENT_FAILURE_MS;
    this.logIntervalMs = options.logIntervalMs ?? FAILURE_LOG_INTERVAL_MS;
  }

  /** failed records `count` writes rejected because the store could not commit them. */
  failed(error: unknown, count: number, options: { appends: boolean }): void {
    const at = this.now();
    if (options.appends) this.appendsFailingSince = at;
    this.failingSince ??= { at, failures: 0 };
    this.failingSince.failures += count;
    this.record('write', error, count);
  }

  /** refused records one append whose rows the database would not keep. */
  refused(error: unknown): void {
    this.record('refused', error, 1);
  }

  /** probeFailed records a readiness probe that could not write. */
  probeFailed(error: unknown): void {
    this.record('probe', error, 1);
  }

  /** committed records a transaction that committed appends: the store keeps what it is sent again. */
  committed(): void {
    this.appendsFailingSince = undefined;
    if (this.failingSince === undefined) return;
    this.flush('write');
    const { at, failures } = this.failingSince;
    this.failingSince = undefined;
    this.options.logger.info(
      { failures, failingForMs: this.now() - at },
      'writes commit again after failing',
    );
  }

  /**
   * fileLost records that the store's file is gone (deleted or replaced under it): every write from now on
   * fails with `error` (HR_ERR_STORE_FILE_LOST) and the store is never ready again; logged once.
   */
  fileLost(error: HookrelayError): void {
    if (this.lost) return;
    this.lost = error;
    this.options.logger.error({ code: error.code }, error.message);
  }

  /** lostError is the error every write fails with once the file is lost, else undefined. */
  get lostError(): HookrelayError | undefined {
    return this.lost;
  }

  /** ready says whether recent appends allow the store to be routed to (see the class comment). */
  get ready(): boolean {
    if (this.lost) return false;
    const failedAt = this.appendsFailingSince;
    return failedAt === undefined || this.now() - failedAt >= this.recentFailureMs;
  }

  /** close logs the counts not logged yet and stops the timers. */
  close(): void {
    for (const kind of this.tallies.keys()) this.flush(kind);
  }

  private record(kind: Kind, error: unknown, count: number): void {
    const tally = this.tallies.get(kind) ?? { pending: 0, loggedAt: Number.NEGATIVE_INFINITY };
    this.tallies.set(kind, tally);
    const at = this.now();
    if (tally.pending === 0 && at - tally.loggedAt >= this.logIntervalMs) {
      // The first of a run: logged at once, whole (with its cause), so the log says what went wrong.
      tally.loggedAt = at;
      const { level, first } = MESSAGES[kind];
      this.options.logger[level]({ err: error, count, code: codeOf(error) }, first);
      return;
    }
    tally.pending += count;
    tally.last = describe(error);
    if (tally.timer === undefined) {
      const wait = Math.max(0, tally.loggedAt + this.logIntervalMs - at);
      tally.timer = setTimeout(() => this.flush(kind), wait);
      // A count waiting to be logged must not keep the process alive.
      tally.timer.unref();
    }
  }

  private flush(kind: Kind): void {
    const tally = this.tallies.get(kind);
    if (!tally) return;
    if (tally.timer !== undefined) clearTimeout(tally.timer);
    tally.timer = undefined;
    if (tally.pending === 0) return;
    const at = this.now();
    const { level, repeated } = MESSAGES[kind];
    this.options.logger[level](
      { failures: tally.pending, sinceMs: at - tally.loggedAt, last: tally.last },
      `${tally.pending} ${repeated} since the last report`,
    );
    tally.pending = 0;
    tally.loggedAt = at;
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** describe keeps what a summary says of an error: its message and code (the cause's, when wrapped). */
function describe(error: unknown): { message: string; code?: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = codeOf(error);
  return code === undefined ? { message } : { message, code };
}
