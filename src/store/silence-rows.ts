import { randomUUID } from 'node:crypto';
import type { NewSilence, StoredSilence } from './admin-ports.js';
import { epochMs, invalidInput } from './validate.js';

/*
 * A stored silence as a row, for both engines: the columns, the checks a new one passes before it is
 * written, and the row read back. The engines differ only in their SQL.
 */

/** SilenceRow is a silence as both engines store it. */
export interface SilenceRow {
  id: string;
  matchers: string;
  starts_at: number | null;
  ends_at: number;
  comment: string;
  created_by: string;
  created_at: number;
  expired_at: number | null;
}

export const SILENCE_COLUMNS =
  'id, matchers, starts_at, ends_at, comment, created_by, created_at, expired_at';

/** Longest comment or creator kept: they are labels, not documents. */
const MAX_TEXT_CHARS = 1_000;
/** Largest matchers object kept, as JSON. */
const MAX_MATCHERS_CHARS = 10_000;

export function toSilence(row: SilenceRow): StoredSilence {
  return {
    id: row.id,
    matchers: JSON.parse(row.matchers) as StoredSilence['matchers'],
    ...(row.starts_at !== null ? { startsAt: row.starts_at } : {}),
    endsAt: row.ends_at,
    comment: row.comment,
    createdBy: row.created_by,
    createdAt: row.created_at,
    ...(row.expired_at !== null ? { expiredAt: row.expired_at } : {}),
  };
}

function text(what: string, name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidInput(what, `${name} must be a string`);
  if (value.length > MAX_TEXT_CHARS) throw invalidInput(what, `${name} is longer than ${MAX_TEXT_CHARS}`);
  return value;
}

/** prepareSilence checks a new silence; it never reads the database. */
export function prepareSilence(silence: NewSilence): SilenceRow {
  const what = 'silences.create';
  const matchers = silence.matchers as unknown;
  if (typeof matchers !== 'object' || matchers === null || Array.isArray(matchers)) {
    throw invalidInput(what, 'matchers must be a JSON object');
  }
  const json = JSON.stringify(matchers);
  if (json.length > MAX_MATCHERS_CHARS) {
    throw invalidInput(what, `matchers are longer than ${MAX_MATCHERS_CHARS} characters as JSON`);
  }
  const startsAt = silence.startsAt === undefined ? null : epochMs(what, 'startsAt', silence.startsAt);
  const endsAt = epochMs(what, 'endsAt', silence.endsAt);
  if (startsAt !== null && endsAt <= startsAt) throw invalidInput(what, 'endsAt must be after startsAt');
  return {
    id: randomUUID(),
    matchers: json,
    starts_at: startsAt,
    ends_at: endsAt,
    comment: text(what, 'comment', silence.comment),
    created_by: text(what, 'createdBy', silence.createdBy),
    created_at: epochMs(what, 'createdAt', silence.createdAt),
    expired_at: null,
  };
}
