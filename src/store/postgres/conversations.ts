import {
  type ConversationStore,
  type PreparedConversation,
  prepareConversation,
  prepareConversationKey,
  readConversation,
} from '../conversation-port.js';
import { epochMs, invalidInput } from '../validate.js';
import { type PgContext, readWith, writeWith } from './context.js';

interface ConversationRow {
  destination: string;
  rule: string;
  key: string;
  ref: string;
  started_at: number;
  acked_by: string | null;
  acked_at: number | null;
}

const COLUMNS = 'destination, rule, key, ref, started_at, acked_by, acked_at';

function fromRow(row: ConversationRow): PreparedConversation {
  return {
    destination: row.destination,
    rule: row.rule,
    key: row.key,
    refJson: row.ref,
    startedAt: Number(row.started_at),
    ackedBy: row.acked_by,
    ackedAt: row.acked_at === null ? null : Number(row.acked_at),
  };
}

/** createPgConversationStore implements ConversationStore (the same contract as sqlite/conversations.ts). */
export function createPgConversationStore(context: PgContext): ConversationStore {
  return {
    async find(input) {
      const k = prepareConversationKey('conversations.find', input);
      const row = await readWith(context, 'conversations.find', async (db) => {
        const result = await db.query<ConversationRow>(
          `SELECT ${COLUMNS} FROM conversations WHERE destination = $1 AND rule = $2 AND key = $3`,
          [k.destination, k.rule, k.key],
        );
        return result.rows[0];
      });
      return row && readConversation(fromRow(row));
    },
    async start(conversation) {
      const c = prepareConversation(conversation);
      const row = await writeWith(context, 'conversations.start', async (client) => {
        // The first message wins: a retried first send (or another instance) never moves it.
        await client.query(
          `INSERT INTO conversations (destination, rule, key, ref, started_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (destination, rule, key) DO NOTHING`,
          [c.destination, c.rule, c.key, c.refJson, c.startedAt],
        );
        const result = await client.query<ConversationRow>(
          `SELECT ${COLUMNS} FROM conversations WHERE destination = $1 AND rule = $2 AND key = $3`,
          [c.destination, c.rule, c.key],
        );
        return result.rows[0];
      });
      return readConversation(row ? fromRow(row) : c);
    },
    async end(input) {
      const k = prepareConversationKey('conversations.end', input);
      return writeWith(context, 'conversations.end', async (client) => {
        const result = await client.query(
          'DELETE FROM conversations WHERE destination = $1 AND rule = $2 AND key = $3',
          [k.destination, k.rule, k.key],
        );
        return (result.rowCount ?? 0) > 0;
      });
    },
    async acknowledge(alert, by, at) {
      const what = 'conversations.acknowledge';
      const k = prepareConversationKey(what, { destination: '-', ...alert });
      if (typeof by !== 'string' || by === '' || by.length > 1_000) {
        throw invalidInput(what, 'by must be a non-empty string of at most 1000 characters');
      }
      const when = epochMs(what, 'at', at);
      return writeWith(context, what, async (client) => {
        const result = await client.query(
          `UPDATE conversations SET acked_by = $1, acked_at = $2
           WHERE rule = $3 AND key = $4 AND acked_at IS NULL`,
          [by, when, k.rule, k.key],
        );
        return result.rowCount ?? 0;
      });
    },
  };
}
