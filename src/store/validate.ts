/**
 * Engine-neutral checks for evaluator and outbox inputs. Each engine calls these before it opens a
 * transaction, so a malformed argument is rejected the same way everywhere and never half-written.
 */
import { randomUUID } from 'node:crypto';
import type { HookrelayError } from '../lib/errors.js';
import { StoreErrorCode, storeError } from './errors.js';
import type {
  AttemptOutcome,
  AttemptRecord,
  ClaimPacing,
  ClaimQuery,
  EvaluatorCommitInput,
  ReplayQuery,
} from './ports.js';

/** PreparedNotification is a NewNotification checked and serialised for an INSERT. */
export interface PreparedNotification {
  id: string;
  destination: string;
  alertJson: string;
  /** The alert's id and rule, kept in their own columns for the dashboard's lookups. */
  alertId: string | null;
  alertRule: string | null;
  requestId: string | null;
  eventSeq: number | null;
  createdAt: number;
  dueAt: number;
  orderKey: number;
}

/** PreparedCommit is an EvaluatorCommitInput checked and serialised. */
export interface PreparedCommit {
  fromCursor: number;
  cursor: number;
  upserts: Array<{ key: string; json: string }>;
  deletes: string[];
  notifications: PreparedNotification[];
}

/** PreparedAttempt is an AttemptRecord checked, with integer times and nulls for absent text. */
export interface PreparedAttempt {
  at: number;
  durationMs: number;
  outcome: AttemptOutcome;
  reason: string | null;
  detail: string | null;
}

/** PreparedClaim is a ClaimQuery checked, with integer times and each destination once. */
export interface PreparedClaim {
  now: number;
  leaseUntil: number;
  limit: number;
  destinations: string[];
  /** The claim token stamped on every row this claim leases (random, one per claim). */
  token: string;
  /**
   * The paced destinations among `destinations` (finite perSecond only), by name. A Map, not an object: a
   * destination may be named like an Object.prototype key (`toString`), and a Map crosses to the SQLite
   * writer thread as it is.
   */
  pacing: Map<string, ClaimPacing>;
  /** How far past `now` a paced row's send slot may be for it to be claimed: a quarter of the lease. */
  horizonMs: number;
}

/** claimToken checks the optional claim token of a transition; returns null when none was given. */
export function claimToken(what: string, value: unknown): string | null {
  if (value === undefined) return null;
  if (!nonEmptyString(value)) throw invalidInput(what, 'claimToken must be a non-empty string when given');
  return value;
}

/** PreparedReplay is a ReplayQuery with exactly one selector. */
export type PreparedReplay =
  | { by: 'ids'; ids: string[]; now: number }
  | { by: 'destination'; destination: string; now: number }
  | { by: 'all'; now: number };

const OUTCOMES: readonly AttemptOutcome[] = ['delivered', 'retry', 'dead', 'broken'];

/** invalidInput builds the `HR_ERR_STORE_INPUT_INVALID` error for `what`. */
export function invalidInput(what: string, message: string, cause?: unknown): HookrelayError {
  return storeError(StoreErrorCode.inputInvalid, `${what}: ${message}`, cause);
}

/** nonEmptyString tells whether `value` is a string with at least one character. */
export function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** epochMs checks a time and rounds it to whole ms (the columns are integers). It never accepts NaN or ±∞. */
export function epochMs(what: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidInput(what, `${name} must be a finite epoch ms, got ${String(value)}`);
  }
  return Math.round(value);
}

/** safeInteger checks an integer argument (a seq, a key, a count) and returns it. */
export function safeInteger(
  what: string,
  name: string,
  value: unknown,
  min = Number.MIN_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const range = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : 'an integer';
    throw invalidInput(what, `${name} must be ${range}, got ${String(value)}`);
  }
  return value;
}

function json(what: string, name: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw invalidInput(what, `${name} is not serialisable as JSON: ${(error as Error).message}`, error);
  }
  // JSON.stringify returns undefined for undefined, functions and symbols: nothing that could be read back.
  if (text === undefined) throw invalidInput(what, `${name} is not serialisable as JSON`);
  return text;
}

function arrayOf(what: string, name: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw invalidInput(what, `${name} must be an array`);
  return value;
}

/**
 * prepareEvaluatorCommit checks an evaluator commit and serialises its values. It throws
 * `HR_ERR_STORE_INPUT_INVALID` for a cursor that is not a non-negative integer or moves backwards, a key
 * that is empty or both upserted and deleted, a value or alert that is not JSON, or a notification field of
 * the wrong kind. It never reads the database.
 */
export function prepareEvaluatorCommit(input: EvaluatorCommitInput): PreparedCommit {
  const what = 'evaluator commit';
  if (typeof input !== 'object' || input === null) throw invalidInput(what, 'the input must be an object');
  const fromCursor = safeInteger(what, 'fromCursor', input.fromCursor, 0);
  const cursor = safeInteger(what, 'cursor', input.cursor, 0);
  if (cursor < fromCursor) {
    throw invalidInput(
      what,
      `cursor ${cursor} is behind fromCursor ${fromCursor}; the cursor never moves back`,
    );
  }
  const deletes = arrayOf(what, 'deletes', input.deletes).map((key, index) => {
    if (!nonEmptyString(key)) throw invalidInput(what, `deletes[${index}] must be a non-empty string`);
    return key;
  });
  const deleted = new Set(deletes);
  const upserts = arrayOf(what, 'upserts', input.upserts).map((entry, index) => {
    const where = `upserts[${index}]`;
    if (typeof entry !== 'object' || entry === null) throw invalidInput(what, `${where} must be an object`);
    const { key, value } = entry as { key: unknown; value: unknown };
    if (!nonEmptyString(key)) throw invalidInput(what, `${where}.key must be a non-empty string`);
    if (deleted.has(key)) {
      throw invalidInput(
        what,
        `${where}.key "${key}" is also in deletes; a key is either upserted or deleted`,
      );
    }
    return { key, json: json(what, `${where}.value`, value) };
  });
  const notifications = arrayOf(what, 'notifications', input.notifications).map(
    (entry, index): PreparedNotification => {
      const where = `notifications[${index}]`;
      if (typeof entry !== 'object' || entry === null) throw invalidInput(what, `${where} must be an object`);
      const n = entry as Record<string, unknown>;
      if (!nonEmptyString(n['id'])) throw invalidInput(what, `${where}.id must be a non-empty string`);
      if (!nonEmptyString(n['destination'])) {
        throw invalidInput(what, `${where}.destination must be a non-empty string`);
      }
      if (typeof n['alert'] !== 'object' || n['alert'] === null) {
        throw invalidInput(what, `${where}.alert must be an object`);
      }
      const requestId = n['requestId'];
      if (requestId !== undefined && !nonEmptyString(requestId)) {
        throw invalidInput(what, `${where}.requestId must be a non-empty string when set`);
      }
      const eventSeq = n['eventSeq'];
      const orderKey = n['orderKey'];
      return {
        id: n['id'],
        destination: n['destination'],
        alertJson: json(what, `${where}.alert`, n['alert']),
        alertId: textOrNull((n['alert'] as Record<string, unknown>)['id']),
        alertRule: textOrNull((n['alert'] as Record<string, unknown>)['rule']),
        requestId: requestId ?? null,
        eventSeq: eventSeq === undefined ? null : safeInteger(what, `${where}.eventSeq`, eventSeq, 1),
        createdAt: epochMs(what, `${where}.createdAt`, n['createdAt']),
        dueAt: epochMs(what, `${where}.dueAt`, n['dueAt']),
        orderKey: orderKey === undefined ? 0 : safeInteger(what, `${where}.orderKey`, orderKey),
      };
    },
  );
  return { fromCursor, cursor, upserts, deletes, notifications };
}

/**
 * prepareAttempt checks an attempt record whose outcome must be one of `allowed` (a delivered attempt is
 * recorded only by recordDelivered, so a history never says "delivered" for a failure). `reason` and
 * `detail` are kept as given. It throws `HR_ERR_STORE_INPUT_INVALID`.
 */
export function prepareAttempt(
  what: string,
  attempt: AttemptRecord,
  allowed: readonly AttemptOutcome[],
): PreparedAttempt {
  if (typeof attempt !== 'object' || attempt === null) throw invalidInput(what, 'attempt must be an object');
  const at = epochMs(what, 'attempt.at', attempt.at);
  const duration = attempt.durationMs;
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) {
    throw invalidInput(what, `attempt.durationMs must be a non-negative number, got ${String(duration)}`);
  }
  if (!OUTCOMES.includes(attempt.outcome)) {
    throw invalidInput(
      what,
      `attempt.outcome must be one of ${OUTCOMES.join(', ')}, got ${String(attempt.outcome)}`,
    );
  }
  if (!allowed.includes(attempt.outcome)) {
    throw invalidInput(what, `attempt.outcome must be ${allowed.join(' or ')} here, got ${attempt.outcome}`);
  }
  for (const name of ['reason', 'detail'] as const) {
    const value = attempt[name];
    if (value !== undefined && typeof value !== 'string') {
      throw invalidInput(what, `attempt.${name} must be a string when set`);
    }
  }
  return {
    at,
    durationMs: Math.round(duration),
    outcome: attempt.outcome,
    reason: attempt.reason ?? null,
    detail: attempt.detail ?? null,
  };
}

/** prepareClaim checks a claim query. It throws `HR_ERR_STORE_INPUT_INVALID`; a zero limit claims nothing. */
export function prepareClaim(query: ClaimQuery): PreparedClaim {
  const what = 'claim';
  if (typeof query !== 'object' || query === null) throw invalidInput(what, 'the query must be an object');
  const now = epochMs(what, 'now', query.now);
  const leaseMs = query.leaseMs;
  if (typeof leaseMs !== 'number' || !Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw invalidInput(what, `leaseMs must be a positive number, got ${String(leaseMs)}`);
  }
  const limit = safeInteger(what, 'limitPerDestination', query.limitPerDestination, 0);
  const destinations = arrayOf(what, 'destinations', query.destinations).map((name, index) => {
    if (!nonEmptyString(name)) throw invalidInput(what, `destinations[${index}] must be a non-empty string`);
    return name;
  });
  const unique = [...new Set(destinations)];
  const lease = Math.max(1, Math.round(leaseMs));
  return {
    now,
    leaseUntil: now + lease,
    limit,
    destinations: unique,
    token: randomUUID(),
    pacing: preparePacing(what, query.pacing, unique),
    horizonMs: lease / 4,
  };
}

/** preparePacing checks a claim's pacing and keeps the destinations claimed that are paced at all. */
function preparePacing(
  what: string,
  pacing: ClaimQuery['pacing'],
  destinations: string[],
): Map<string, ClaimPacing> {
  const paced = new Map<string, ClaimPacing>();
  if (pacing === undefined) return paced;
  if (typeof pacing !== 'object' || pacing === null) throw invalidInput(what, 'pacing must be an object');
  for (const destination of destinations) {
    if (!Object.hasOwn(pacing, destination)) continue;
    const { perSecond, burst } = (pacing[destination] ?? {}) as Partial<ClaimPacing>;
    if (typeof perSecond !== 'number' || Number.isNaN(perSecond) || perSecond <= 0) {
      throw invalidInput(what, `pacing.${destination}.perSecond must be a positive number`);
    }
    if (typeof burst !== 'number' || !Number.isSafeInteger(burst) || burst < 1) {
      throw invalidInput(what, `pacing.${destination}.burst must be a positive integer`);
    }
    if (Number.isFinite(perSecond)) paced.set(destination, { perSecond, burst });
  }
  return paced;
}

/**
 * prepareReplay checks that exactly one of `ids`, `destination` and `all: true` is given, so a replay can
 * never select everything by accident (an empty query). It throws `HR_ERR_STORE_INPUT_INVALID`.
 */
export function prepareReplay(query: ReplayQuery): PreparedReplay {
  const what = 'replayDead';
  if (typeof query !== 'object' || query === null) throw invalidInput(what, 'the query must be an object');
  const now = epochMs(what, 'now', query.now);
  const given = [query.ids !== undefined, query.destination !== undefined, query.all !== undefined];
  if (given.filter(Boolean).length !== 1) {
    throw invalidInput(what, 'give exactly one of ids, destination or all: true');
  }
  if (query.ids !== undefined) {
    const ids = arrayOf(what, 'ids', query.ids).map((id, index) => {
      if (!nonEmptyString(id)) throw invalidInput(what, `ids[${index}] must be a non-empty string`);
      return id;
    });
    return { by: 'ids', ids: [...new Set(ids)], now };
  }
  if (query.destination !== undefined) {
    if (!nonEmptyString(query.destination))
      throw invalidInput(what, 'destination must be a non-empty string');
    return { by: 'destination', destination: query.destination, now };
  }
  if (query.all !== true) throw invalidInput(what, 'all must be true when given');
  return { by: 'all', now };
}

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
