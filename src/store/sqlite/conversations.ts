import {
  type ConversationStore,
  type PreparedConversation,
  prepareConversation,
  prepareConversationKey,
  readConversation,
} from '../conversation-port.js';
import { epochMs, invalidInput } from '../validate.js';
import { readWith, type SqliteContext, writeWith } from './context.js';

interface ConversationRow {
  destination: string;
  rule: string;
  key: string;
  ref: string;
  started_at: number;
  acked_by: string | null;
  acked_at: number | null;
}

function fromRow(row: ConversationRow): PreparedConversation {
  return {
    destination: row.destination,
    rule: row.rule,
    key: row.key,
    refJson: row.ref,
    startedAt: row.started_at,
    ackedBy: row.acked_by,
    ackedAt: row.acked_at,
  };
}

/**
 * createSqliteConversationStore implements ConversationStore on the store's main connection. Writes are
 * short IMMEDIATE transactions taken between two append batches (see writeWith).
 */
export function createSqliteConversationStore(context: SqliteContext): ConversationStore {
  const { db } = context;
  const select = db.prepare<[string, string, string], ConversationRow>(
    `SELECT destination, rule, key, ref, started_at, acked_by, acked_at FROM conversations
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
      return row && readConversation(fromRow(row));
    },
    async start(conversation) {
      const prepared = prepareConversation(conversation);
      const row = await writeWith(context, 'conversations.start', startTx, prepared);
      return readConversation(row ? fromRow(row) : prepared);
    },
    async acknowledge(alert, by, at) {
      const what = 'conversations.acknowledge';
      const k = prepareConversationKey(what, { destination: '-', ...alert });
      if (typeof by !== 'string' || by === '' || by.length > 1_000) {
        throw invalidInput(what, 'by must be a non-empty string of at most 1000 characters');
      }
      return writeWith(context, what, ackTx, by, epochMs(what, 'at', at), k.rule, k.key);
    },
    async end(input) {
      const k = prepareConversationKey('conversations.end', input);
      return writeWith(context, 'conversations.end', endTx, k.destination, k.rule, k.key);
    },
  };
}
