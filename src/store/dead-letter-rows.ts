import type { AttemptRecord, DeadLetter, DeadQuery, PausedDestination } from './ports.js';
import { toNotification } from './sqlite/notification-row.js';
import type { NotificationRow } from './sqlite/write-types.js';
import { epochMs, invalidInput, nonEmptyString, safeInteger } from './validate.js';

/*
 * Dead letters and pauses as rows, for both engines: the checks a pause, resume or dead-letter page
 * passes before the database is asked, and the rows read back. The engines differ only in their SQL.
 */

/** DeadRow is a dead notification as both engines read it. */
export interface DeadRow extends NotificationRow {
  dead_reason: string;
  dead_at: number;
}

/** PausedRow is a paused destination as both engines store it. */
export interface PausedRow {
  destination: string;
  reason: string;
  paused_at: number;
}

export function toPausedDestination(row: PausedRow): PausedDestination {
  return { destination: row.destination, reason: row.reason, pausedAt: row.paused_at };
}

/** toDeadLetter reads a dead row back with its attempts, oldest first. */
export function toDeadLetter(row: DeadRow, attempts: AttemptRecord[]): DeadLetter {
  const letter: DeadLetter = {
    notification: toNotification(row),
    reason: row.dead_reason,
    deadAt: row.dead_at,
    attempts,
  };
  if (row.event_seq !== null) letter.eventSeq = row.event_seq;
  return letter;
}

/** checkDestination checks the destination a pause or resume names. */
export function checkDestination(what: string, destination: unknown): string {
  if (!nonEmptyString(destination)) throw invalidInput(what, 'destination must be a non-empty string');
  return destination;
}

/** preparePause checks DeadLetters.pauseDestination's arguments. */
export function preparePause(
  destination: string,
  paused: { reason: string; at: number },
): { destination: string; reason: string; at: number } {
  const what = 'pauseDestination';
  checkDestination(what, destination);
  if (!nonEmptyString(paused?.reason)) throw invalidInput(what, 'reason must be a non-empty string');
  return { destination, reason: paused.reason, at: epochMs(what, 'at', paused.at) };
}

/** prepareDeadQuery checks DeadLetters.listDead's query. */
export function prepareDeadQuery(query: DeadQuery): DeadQuery {
  const what = 'listDead';
  const limit = safeInteger(what, 'limit', query?.limit, 0);
  if (query.destination !== undefined && !nonEmptyString(query.destination)) {
    throw invalidInput(what, 'destination must be a non-empty string when set');
  }
  return query.destination === undefined ? { limit } : { limit, destination: query.destination };
}
