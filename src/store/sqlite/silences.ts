import type { SilenceQuery, SilenceStore } from '../admin-ports.js';
import { SILENCE_COLUMNS as COLUMNS, prepareSilence, type SilenceRow, toSilence } from '../silence-rows.js';
import { epochMs, invalidInput, safeInteger } from '../validate.js';
import { readWith, type SqliteContext, writeWith } from './context.js';

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
