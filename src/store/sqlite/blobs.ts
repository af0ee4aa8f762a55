import type { Blobs, StoredImage } from '../ports.js';
import { safeInteger } from '../validate.js';
import { readWith, type SqliteContext } from './context.js';

/**
 * createSqliteBlobs implements Blobs. Screenshot bytes stay in the event log's `image` column, beside the
 * item that carried them; they are read only when a notification attaches one.
 */
export function createSqliteBlobs(context: SqliteContext): Blobs {
  const imageOf = context.db.prepare<[number], { image: Buffer | null; mime: unknown }>(
    `SELECT image, json_extract(item, '$.screenshot.image.mime') AS mime FROM events WHERE seq = ?`,
  );
  return {
    async getImage(eventSeq: number): Promise<StoredImage | undefined> {
      context.assertOpen();
      safeInteger('getImage', 'eventSeq', eventSeq);
      const row = readWith(context, 'getImage', () => imageOf.get(eventSeq));
      if (!row?.image) return undefined;
      const mime = typeof row.mime === 'string' && row.mime !== '' ? row.mime : 'application/octet-stream';
      return { bytes: row.image, mime };
    },
  };
}
