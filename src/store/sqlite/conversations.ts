import {
  CONVERSATION_COLUMNS,
  type ConversationRow,
  type ConversationStore,
  fromConversationRow,
  type PreparedConversation,
  prepareAcknowledge,
  prepareConversation,
  prepareConversationKey,
  readConversation,
} from '../conversation-port.js';
import { readWith, type SqliteContext, writeWith } from './context.js';

/**
 * createSqliteConversationStore implements ConversationStore on the store's main connection. Writes are
 * short IMMEDIATE transactions taken between two append batches (see writeWith).
 */
export function createSqliteConversationStore(context: SqliteContext): ConversationStore {
  const { db } = context;
  const select = db.prepare<[string, string, string], ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations
     WHERE destination = ? AND rule = ? AND key = ?`,
  );
  // The first message wins: a retried first send (or a second process) never moves the conversation.
  const insert = db.prepare<[string, string, string, string, number]>(
    `INSERT INTO conversations (destination, rule, key, ref, started_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (destination, rule, key) DO NOTHING`,
  );
  const remove = db.prepare<[string, string, string]>(
    'DELETE FROM conversations WHERE destination = ? AND rule = ? AND key = ?',
  );
  const ack = db.prepare<[string, number, string, string]>(
    'UPDATE conversations SET acked_by = ?, acked_at = ? WHERE rule = ? AND key = ? AND acked_at IS NULL',
  );
  const ackTx = db.transaction(
    (by: string, at: number, rule: string, key: string): number => ack.run(by, at, rule, key).changes,
  );
  const startTx = db.transaction((c: PreparedConversation): ConversationRow | undefined => {
    insert.run(c.destination, c.rule, c.key, c.refJson, c.startedAt);
    return select.get(c.destination, c.rule, c.key);
  });
  const endTx = db.transaction(
    (destination: string, rule: string, key: string): boolean =>
      remove.run(destination, rule, key).changes > 0,
  );

  return {
    async find(input) {
      const k = prepareConversationKey('conversations.find', input);
      const row = readWith(context, 'conversations.find', () => select.get(k.destination, k.rule, k.key));
      return row && readConversation(fromConversationRow(row));
    },
    async start(conversation) {
      const prepared = prepareConversation(conversation);
      const row = await writeWith(context, 'conversations.start', startTx, prepared);
      return readConversation(row ? fromConversationRow(row) : prepared);
    },
    async acknowledge(alert, by, at) {
      const a = prepareAcknowledge(alert, by, at);
      return writeWith(context, 'conversations.acknowledge', ackTx, a.by, a.at, a.rule, a.key);
    },
    async end(input) {
      const k = prepareConversationKey('conversations.end', input);
      return writeWith(context, 'conversations.end', endTx, k.destination, k.rule, k.key);
    },
  };
}
