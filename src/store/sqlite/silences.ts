import { randomUUID } from 'node:crypto';
import type { NewSilence, SilenceQuery, SilenceStore, StoredSilence } from '../admin-ports.js';
import { epochMs, invalidInput, safeInteger } from '../validate.js';
import { readWith, type SqliteContext, writeWith } from './context.js';

interface SilenceRow {
  id: string;
  matchers: string;
  starts_at: number | null;
  ends_at: number;
  comment: string;
  created_by: string;
  created_at: number;
  expired_at: number | null;
}

const COLUMNS = 'id, matchers, starts_at, ends_at, comment, created_by, created_at, expired_at';

/** Longest comment or creator kept: they are labels, not documents. */
const MAX_TEXT_CHARS = 1_000;
/** Largest matchers object kept, as JSON. */
const MAX_MATCHERS_CHARS = 10_000;

function toSilence(row: SilenceRow): StoredSilence {
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
function prepareSilence(silence: NewSilence): SilenceRow {
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

/**
 * createSqliteSilenceStore implements SilenceStore on the store's main connection. Writes are short
 * IMMEDIATE transactions taken between two append batches (see writeWith); each bumps the
 * `silences_revision` row of `meta` in the same transaction.
 */
export function createSqliteSilenceStore(context: SqliteContext): SilenceStore {
  const { db } = context;
  const insert = db.prepare<[SilenceRow]>(
    `INSERT INTO silences (${COLUMNS})
     VALUES (@id, @matchers, @starts_at, @ends_at, @comment, @created_by, @created_at, @expired_at)`,
  );
  const byId = db.prepare<[string], SilenceRow>(`SELECT ${COLUMNS} FROM silences WHERE id = ?`);
  const listAll = db.prepare<[number], SilenceRow>(
    `SELECT ${COLUMNS} FROM silences ORDER BY created_at DESC, id DESC LIMIT ?`,
  );
  const listLive = db.prepare<[number, number], SilenceRow>(
    `SELECT ${COLUMNS} FROM silences WHERE expired_at IS NULL AND ends_at > ?
     ORDER BY created_at DESC, id DESC LIMIT ?`,
  );
  const expireStmt = db.prepare<[number, string]>(
    'UPDATE silences SET expired_at = ? WHERE id = ? AND expired_at IS NULL',
  );
  const extendStmt = db.prepare<[number, string]>(
    'UPDATE silences SET ends_at = ? WHERE id = ? AND expired_at IS NULL',
  );
  const bump = db.prepare(
    `INSERT INTO meta (key, value) VALUES ('silences_revision', '1')
     ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`,
  );
  const revisionStmt = db.prepare<[], { value: string }>(
    "SELECT value FROM meta WHERE key = 'silences_revision'",
  );

  const createTx = db.transaction((row: SilenceRow) => {
    insert.run(row);
    bump.run();
  });
  const expireTx = db.transaction((id: string, at: number): SilenceRow | undefined => {
    if (expireStmt.run(at, id).changes > 0) bump.run();
    return byId.get(id);
  });
  const extendTx = db.transaction((id: string, endsAt: number): SilenceRow | undefined => {
    const row = byId.get(id);
    if (row === undefined || row.expired_at !== null) return row;
    if (row.starts_at !== null && endsAt <= row.starts_at) {
      throw invalidInput('silences.extend', 'endsAt must be after startsAt');
    }
    if (extendStmt.run(endsAt, id).changes > 0) bump.run();
    return byId.get(id);
  });

  return {
    async create(silence) {
      const row = prepareSilence(silence);
      await writeWith(context, 'silences.create', createTx, row);
      return toSilence(row);
    },
    async get(id) {
      const row = readWith(context, 'silences.get', () => byId.get(String(id)));
      return row && toSilence(row);
    },
    async list(query: SilenceQuery) {
      const limit = safeInteger('silences.list', 'limit', query.limit, 0);
      const rows = readWith(context, 'silences.list', () =>
        query.endsAfter === undefined
          ? listAll.all(limit)
          : listLive.all(epochMs('silences.list', 'endsAfter', query.endsAfter), limit),
      );
      return rows.map(toSilence);
    },
    async expire(id, at) {
      const when = epochMs('silences.expire', 'at', at);
      const row = await writeWith(context, 'silences.expire', expireTx, String(id), when);
      return row && toSilence(row);
    },
    async extend(id, endsAt) {
      const when = epochMs('silences.extend', 'endsAt', endsAt);
      const row = await writeWith(context, 'silences.extend', extendTx, String(id), when);
      return row && toSilence(row);
    },
    async revision() {
      return readWith(context, 'silences.revision', () => revisionStmt.get()?.value ?? '0');
    },
  };
}
