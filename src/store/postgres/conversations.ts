import {
  CONVERSATION_COLUMNS,
  type ConversationRow,
  type ConversationStore,
  fromConversationRow,
  prepareAcknowledge,
  prepareConversation,
  prepareConversationKey,
  readConversation,
} from '../conversation-port.js';
import { type PgContext, readWith, writeWith } from './context.js';

/** createPgConversationStore implements ConversationStore (the same contract as sqlite/conversations.ts). */
export function createPgConversationStore(context: PgContext): ConversationStore {
  return {
    async find(input) {
      const k = prepareConversationKey('conversations.find', input);
      const row = await readWith(context, 'conversations.find', async (db) => {
        const result = await db.query<ConversationRow>(
          `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE destination = $1 AND rule = $2 AND key = $3`,
          [k.destination, k.rule, k.key],
        );
        return result.rows[0];
      });
      return row && readConversation(fromConversationRow(row));
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
          `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE destination = $1 AND rule = $2 AND key = $3`,
          [c.destination, c.rule, c.key],
        );
        return result.rows[0];
      });
      return readConversation(row ? fromConversationRow(row) : c);
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
      const a = prepareAcknowledge(alert, by, at);
      return writeWith(context, what, async (client) => {
        const result = await client.query(
          `UPDATE conversations SET acked_by = $1, acked_at = $2
           WHERE rule = $3 AND key = $4 AND acked_at IS NULL`,
          [a.by, a.at, a.rule, a.key],
        );
        return result.rowCount ?? 0;
      });
    },
  };
}
