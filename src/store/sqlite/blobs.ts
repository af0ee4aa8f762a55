import type { Blobs, StoredImage } from '../ports.js';
import { safeInteger } from '../validate.js';
import { readWith, type SqliteContext } from './context.js';

/**
 * createSqliteBlobs implements Blobs. Screenshot bytes stay in the event log's `image` column, beside the
 * item that carried them; they are read only when a notification attaches one.
 */
export function createSqliteBlobs(context: SqliteContext): Blobs {
  // SQLite's JSON refuses an item nested deeper than it parses (an older relay could store one): such a
  // row's type is read by JavaScript's parser instead, never an error that would block its delivery.
  const imageOf = context.db.prepare<[number], { image: Buffer | null; mime: unknown; item: string | null }>(
    `SELECT image,
            CASE WHEN json_valid(item) THEN json_extract(item, '$.screenshot.image.mime') END AS mime,
            CASE WHEN json_valid(item) THEN NULL ELSE item END AS item
       FROM events WHERE seq = ?`,
  );
  return {
    async getImage(eventSeq: number): Promise<StoredImage | undefined> {
      context.assertOpen();
      safeInteger('getImage', 'eventSeq', eventSeq);
      const row = readWith(context, 'getImage', () => imageOf.get(eventSeq));
      if (!row?.image) return undefined;
      const said = row.item === null ? row.mime : mimeOf(row.item);
      const mime = typeof said === 'string' && said !== '' ? said : 'application/octet-stream';
      return { bytes: row.image, mime };
    },
  };
}

/** mimeOf reads `screenshot.image.mime` from an item's JSON text; undefined when it is not there. */
function mimeOf(itemJson: string): unknown {
  try {
    const item = JSON.parse(itemJson) as { screenshot?: { image?: { mime?: unknown } } } | null;
    return item?.screenshot?.image?.mime;
  } catch {
    return undefined;
  }
}
