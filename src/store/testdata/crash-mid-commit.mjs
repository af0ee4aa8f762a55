// A second writer that dies in the middle of an evaluator step, for the crash test in
// src/store/sqlite/sqlite.test.ts. Usage: node crash-mid-commit.mjs <database file>
//
// It opens the hookrelay database as the store does (WAL, synchronous FULL), begins the same kind of
// transaction an evaluator commit runs (cursor, rule state, notifications), writes enough that SQLite has to
// spill uncommitted pages into the WAL file, reports the WAL size, and kills itself with SIGKILL before
// COMMIT: what a power cut or `kill -9` between evaluation and commit leaves on disk.
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: node crash-mid-commit.mjs <database file>\n');
  process.exit(2);
}
const db = new Database(path);
db.pragma('busy_timeout = 5000');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
// A tiny page cache: dirty pages of the open transaction are written to the WAL before COMMIT.
db.pragma('cache_size = 8');

db.exec('BEGIN IMMEDIATE');
db.prepare('UPDATE evaluator_cursor SET seq = seq + 1000 WHERE id = 1').run();
db.prepare(
  `INSERT INTO rule_state (key, value) VALUES ('cooldown:crash', '"half-written"')
   ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
).run();
const insert = db.prepare(
  `INSERT INTO notifications (id, destination, alert, created_at, due_at) VALUES (?, 'team-slack', ?, 0, 0)`,
);
const alert = JSON.stringify({ id: 'uncommitted', padding: 'x'.repeat(2_000) });
for (let i = 0; i < 2_000; i += 1) insert.run(`uncommitted-${i}`, alert);

const walBytes = statSync(`${path}-wal`).size;
process.stdout.write(`${JSON.stringify({ inTransaction: db.inTransaction, walBytes })}\n`, () => {
  process.kill(process.pid, 'SIGKILL');
});
