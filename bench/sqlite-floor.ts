import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { normalizeTrackpilots } from '../src/ingest/normalize/trackpilots.js';
import { applyMigrations } from '../src/store/sqlite/migrations.js';
import { prepareAppend } from '../src/store/sqlite/prepare-append.js';
import { appendTransaction } from '../src/store/sqlite/write-steps.js';
import { createRequestStream } from './bodies.js';

/*
 * The SQLite floor of ingest: what the durable insert alone costs per request. The real schema (the
 * migrations), the store's own append transaction and rows made by the real normaliser and prepareAppend
 * from the bench's own request bodies, committed in batches with WAL and synchronous=FULL as the writer
 * thread commits them, and nothing else: no HTTP, no signature, no thread hand-off, no evaluator. Whatever
 * ingest does on this machine costs at least this much, which is what the ratio target is judged against.
 */

/** SqliteFloorRow is one payload kind's cost per append (one append = one webhook request). */
export interface SqliteFloorRow {
  kind: 'activity' | 'app';
  itemsPerAppend: number;
  appends: number;
  appendsPerCommit: number;
  /** Process CPU (user + system, fsync included) per append. */
  cpuUsPerAppend: number;
  wallUsPerAppend: number;
}

export interface SqliteFloorOptions {
  appends: number;
  appendsPerCommit: number;
}

/** measureSqliteFloor inserts `appends` requests of each kind into a fresh database file and times it. */
export function measureSqliteFloor(options: SqliteFloorOptions): SqliteFloorRow[] {
  const rows: SqliteFloorRow[] = [];
  for (const kind of ['activity', 'app'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-floor-'));
    const db = new Database(join(dir, 'floor.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      applyMigrations(db);
      // The store's own append statements (write-steps.js), which the writer thread runs in every batch.
      const commit = appendTransaction(db);

      // Prepared up front: the floor is the database's work, not the normaliser's.
      const stream = createRequestStream({ kind, secret: 'floor', ...(kind === 'app' ? { items: 12 } : {}) });
      const warmup = Math.min(2_000, options.appends);
      const prepared = Array.from({ length: warmup + options.appends }, () => {
        const body = stream.next().body;
        const normalised = normalizeTrackpilots(JSON.parse(body.toString('utf8')), {
          source: 'bench',
          receivedAt: Date.now(),
        });
        if (!normalised.ok) throw new Error(`bench body refused: ${normalised.reason}`);
        return prepareAppend({
          request: { source: 'bench', event: normalised.event, receivedAt: Date.now(), body },
          events: normalised.events,
        });
      });
      const run = (from: number, to: number) => {
        for (let start = from; start < to; start += options.appendsPerCommit) {
          commit.immediate(prepared.slice(start, Math.min(to, start + options.appendsPerCommit)));
        }
      };
      run(0, warmup);
      const cpuBefore = process.cpuUsage();
      const wallBefore = performance.now();
      run(warmup, prepared.length);
      const wallUs = (performance.now() - wallBefore) * 1000;
      const cpu = process.cpuUsage(cpuBefore);
      rows.push({
        kind,
        itemsPerAppend: prepared[0]?.events.length ?? 0,
        appends: options.appends,
        appendsPerCommit: options.appendsPerCommit,
        cpuUsPerAppend: Math.round((cpu.user + cpu.system) / options.appends),
        wallUsPerAppend: Math.round(wallUs / options.appends),
      });
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}
