import { type NonceStore, prepareNonce } from '../nonce-port.js';
import { type PgContext, writeWith } from './context.js';

/** createPgNonceStore implements NonceStore (the same contract as sqlite/nonces.ts) for every instance at once. */
export function createPgNonceStore(context: PgContext): NonceStore {
  return {
    async claim(nonce, expiresAt, now) {
      const c = prepareNonce(nonce, expiresAt, now);
      return writeWith(context, 'nonces.claim', async (client) => {
        // Pruning skips rows another claim holds, so two claims never wait on each other's deletes.
        await client.query(
          `DELETE FROM nonces WHERE nonce IN
             (SELECT nonce FROM nonces WHERE expires_at <= $1 LIMIT 100 FOR UPDATE SKIP LOCKED)`,
          [c.now],
        );
        // Two instances claiming at once: the primary key lets one write; the other waits for it to commit
        // and then writes nothing. An expired record (not pruned yet) is taken over.
        const inserted = await client.query(
          `INSERT INTO nonces (nonce, expires_at) VALUES ($1, $2)
           ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE nonces.expires_at <= $3`,
          [c.nonce, c.expiresAt, c.now],
        );
        return inserted.rowCount === 1;
      });
    },
  };
}
