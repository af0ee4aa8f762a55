import type pg from 'pg';
import type { SilenceQuery, SilenceStore } from '../admin-ports.js';
import { SILENCE_COLUMNS as COLUMNS, prepareSilence, type SilenceRow, toSilence } from '../silence-rows.js';
import { epochMs, invalidInput, safeInteger } from '../validate.js';
import { type PgContext, readWith, writeWith } from './context.js';

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
