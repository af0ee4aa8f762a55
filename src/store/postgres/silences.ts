import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { NewSilence, SilenceQuery, SilenceStore, StoredSilence } from '../admin-ports.js';
import { epochMs, invalidInput, safeInteger } from '../validate.js';
import { type PgContext, readWith, writeWith } from './context.js';

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
/** The same limits as the SQLite engine (sqlite/silences.ts): labels, not documents. */
const MAX_TEXT_CHARS = 1_000;
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

const BUMP = `UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'silences_revision'`;

async function byId(
  client: pg.Pool | pg.ClientBase,
  id: string,
  lock = false,
): Promise<SilenceRow | undefined> {
  const rows = await client.query<SilenceRow>(
    `SELECT ${COLUMNS} FROM silences WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows.rows[0];
}

/**
 * createPgSilenceStore implements SilenceStore. Each write is one transaction that also bumps the
 * `silences_revision` row of `meta`, which every instance polls to know it must reload.
 */
export function createPgSilenceStore(context: PgContext): SilenceStore {
  return {
    async create(silence) {
      const row = prepareSilence(silence);
      await writeWith(context, 'silences.create', async (client) => {
        await client.query(`INSERT INTO silences (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
          row.id,
          row.matchers,
          row.starts_at,
          row.ends_at,
          row.comment,
          row.created_by,
          row.created_at,
          row.expired_at,
        ]);
        await client.query(BUMP);
      });
      return toSilence(row);
    },
    async get(id) {
      const row = await readWith(context, 'silences.get', (pool) => byId(pool, String(id)));
      return row && toSilence(row);
    },
    async list(query: SilenceQuery) {
      const limit = safeInteger('silences.list', 'limit', query.limit, 0);
      const endsAfter =
        query.endsAfter === undefined ? undefined : epochMs('silences.list', 'endsAfter', query.endsAfter);
      const rows = await readWith(context, 'silences.list', async (db) =>
        endsAfter === undefined
          ? (
              await db.query<SilenceRow>(
                `SELECT ${COLUMNS} FROM silences ORDER BY created_at DESC, id DESC LIMIT $1`,
                [limit],
              )
            ).rows
          : (
              await db.query<SilenceRow>(
                `SELECT ${COLUMNS} FROM silences WHERE expired_at IS NULL AND ends_at > $1
                 ORDER BY created_at DESC, id DESC LIMIT $2`,
                [endsAfter, limit],
              )
            ).rows,
      );
      return rows.map(toSilence);
    },
    async expire(id, at) {
      const when = epochMs('silences.expire', 'at', at);
      const row = await writeWith(context, 'silences.expire', async (client) => {
        const result = await client.query(
          'UPDATE silences SET expired_at = $1 WHERE id = $2 AND expired_at IS NULL',
          [when, String(id)],
        );
        if ((result.rowCount ?? 0) > 0) await client.query(BUMP);
        return byId(client, String(id));
      });
      return row && toSilence(row);
    },
    async extend(id, endsAt) {
      const when = epochMs('silences.extend', 'endsAt', endsAt);
      const row = await writeWith(context, 'silences.extend', async (client) => {
        const current = await byId(client, String(id), true);
        if (current === undefined || current.expired_at !== null) return current;
        if (current.starts_at !== null && when <= current.starts_at) {
          throw invalidInput('silences.extend', 'endsAt must be after startsAt');
        }
        await client.query('UPDATE silences SET ends_at = $1 WHERE id = $2', [when, String(id)]);
        await client.query(BUMP);
        return byId(client, String(id));
      });
      return row && toSilence(row);
    },
    async revision() {
      return readWith(context, 'silences.revision', async (db) => {
        const rows = await db.query<{ value: string }>(
          "SELECT value FROM meta WHERE key = 'silences_revision'",
        );
        return rows.rows[0]?.value ?? '0';
      });
    },
  };
}
