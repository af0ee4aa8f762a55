import { type NonceStore, prepareNonce } from '../nonce-port.js';
import { type SqliteContext, writeWith } from './context.js';

/**
 * createSqliteNonceStore implements NonceStore on the store's main connection: one short IMMEDIATE
 * transaction per claim, taken between two append batches (see writeWith).
 */
export function createSqliteNonceStore(context: SqliteContext): NonceStore {
  const { db } = context;
  const prune = db.prepare<[number]>('DELETE FROM nonces WHERE expires_at <= ?');
  const insert = db.prepare<[string, number]>(
    'INSERT INTO nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING',
  );
  const claimTx = db.transaction((nonce: string, expiresAt: number, now: number): boolean => {
    prune.run(now);
    return insert.run(nonce, expiresAt).changes === 1;
  });
  return {
    async claim(nonce, expiresAt, now) {
      const c = prepareNonce(nonce, expiresAt, now);
      return writeWith(context, 'nonces.claim', claimTx, c.nonce, c.expiresAt, c.now);
    },
  };
}
