import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../domain/alert.js';
import type { Item } from '../../domain/item.js';
import { applyMigrations, MIGRATIONS, readUserVersion } from './migrations.js';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';

/*
 * The dashboard's lookups of a notification by alert id and by rule (migration 0003) must not depend on
 * SQLite reading the alert's JSON: SQLite refuses JSON nested deeper than 1,000 levels, and an older relay
 * (before ingest bounded depth) could store such an alert. Such a row must neither stop a database from
 * migrating nor stop later inserts.
 */

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-migrations-'));
let files = 0;
const tempPath = () => join(dir, `db-${++files}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opened: SqliteStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});
async function open(path: string): Promise<SqliteStore> {
  const store = await openSqliteStore(path);
  opened.push(store);
  return store;
}

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
/** A JSON text nested `depth` levels deep (SQLite's JSON functions refuse more than 1,000). */
const deepJson = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

function alertOf(id: string, rule: string): Alert {
  return {
    id,
    rule,
    status: 'firing',
    severity: 'warning',
    title: id,
    text: 'text',
    key: 'u-1',
    at: T0,
    simulation: false,
  };
}

/** The released 0003 as databases in the field ran it: with the JSON expression indexes. */
const RELEASED_0003_INDEXES = `
  CREATE INDEX notifications_alert_id ON notifications (json_extract(alert, '$.id'));
  CREATE INDEX notifications_rule ON notifications (json_extract(alert, '$.rule'), created_at);
`;

/** plantNotification writes a row as an older relay's evaluator stored it; `alertJson` verbatim. */
function plantNotification(db: Database.Database, seq: number, alertJson: string): void {
  db.prepare(
    `INSERT INTO notifications (seq, id, destination, alert, created_at, due_at, status, delivered_at)
     VALUES (?, ?, 'out', ?, ?, ?, 'delivered', ?)`,
  ).run(seq, `n${seq}`, alertJson, T0 + seq, T0 + seq, T0 + seq);
}

const plainAlert = JSON.stringify(alertOf('a-plain', 'plain-rule'));
const deepAlert = `${JSON.stringify(alertOf('a-deep', 'deep-rule')).slice(0, -1)},"item":${deepJson(2_000)}}`;

async function expectBothFound(store: SqliteStore): Promise<void> {
  const byId = async (alertId: string) =>
    (await store.admin.listNotifications({ limit: 10, alertId })).map((n) => n.id);
  expect(await byId('a-plain')).toEqual(['n1']);
  expect(await byId('a-deep')).toEqual(['n2']);
  expect((await store.admin.listNotifications({ limit: 10, rule: 'deep-rule' })).map((n) => n.id)).toEqual([
    'n2',
  ]);
  expect(await store.admin.ruleActivity()).toEqual(
    expect.arrayContaining([
      { rule: 'plain-rule', alerts: 1, lastAt: T0 + 1 },
      { rule: 'deep-rule', alerts: 1, lastAt: T0 + 2 },
    ]),
  );
}

describe('SQLite migrations and rows SQLite cannot read as JSON', () => {
  it('a version-2 database holding a deeply nested alert migrates, and the dashboard finds that alert', async () => {
    const path = tempPath();
    const raw = new Database(path);
    expect(applyMigrations(raw, MIGRATIONS.slice(0, 2))).toBe(2);
    plantNotification(raw, 1, plainAlert);
    plantNotification(raw, 2, deepAlert);
    raw.close();

    const store = await open(path);
    expect(store.settings.schemaVersion).toBe(MIGRATIONS.length);
    await expectBothFound(store);
  });

  it('a database that ran the released 0003 loses its JSON expression indexes and keeps its rows findable', async () => {
    const path = tempPath();
    const raw = new Database(path);
    expect(applyMigrations(raw, MIGRATIONS.slice(0, 3))).toBe(3);
    raw.exec(RELEASED_0003_INDEXES);
    plantNotification(raw, 1, plainAlert);
    raw.close();

    const store = await open(path);
    expect(store.settings.schemaVersion).toBe(MIGRATIONS.length);
    const check = new Database(path, { readonly: true });
    try {
      const jsonIndexes = check
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%json_extract%'")
        .pluck()
        .all();
      expect(jsonIndexes).toEqual([]);
      expect(readUserVersion(check)).toBe(MIGRATIONS.length);
    } finally {
      check.close();
    }
    expect((await store.admin.listNotifications({ limit: 10, alertId: 'a-plain' })).map((n) => n.id)).toEqual(
      ['n1'],
    );
  });

  it('the evaluator can commit an alert nested deeper than SQLite reads, and it is found by id and rule', async () => {
    const store = await open(tempPath());
    let nested: Record<string, unknown> = { leaf: true };
    for (let level = 0; level < 1_500; level += 1) nested = { a: nested };
    const alert = { ...alertOf('a-deep', 'deep-rule'), facts: nested } as Alert;
    await store.evaluator.commit({
      fromCursor: 0,
      cursor: 0,
      upserts: [],
      deletes: [],
      notifications: [{ id: 'n-deep', destination: 'out', alert, createdAt: T0, dueAt: T0 }],
    });
    expect((await store.admin.listNotifications({ limit: 10, alertId: 'a-deep' })).map((n) => n.id)).toEqual([
      'n-deep',
    ]);
    expect(await store.admin.ruleActivity()).toEqual([{ rule: 'deep-rule', alerts: 1, lastAt: T0 }]);
  });

  it('the screenshot of an item nested deeper than SQLite reads is served with its type', async () => {
    const store = await open(tempPath());
    let raw: Record<string, unknown> = { leaf: true };
    for (let level = 0; level < 1_500; level += 1) raw = { a: raw };
    const item: Item = {
      source: 'trackpilots',
      event: 'desktop.screenshot_tracking.captured',
      id: 'shot-deep',
      at: T0,
      receivedAt: T0,
      simulation: false,
      screenshot: { id: 'shot-deep', image: { kind: 'bytes', mime: 'image/png', size: 4 } },
      raw,
    };
    await store.events.append({
      request: { source: 'trackpilots', event: item.event, receivedAt: T0, body: Buffer.from('{}') },
      events: [{ dedupeKey: item.id, item, image: Buffer.from([0x89, 0x50, 0x4e, 0x47]) }],
    });
    const [stored] = await store.events.readAfter(0, 1, { images: false });
    expect(await store.blobs.getImage(stored?.seq as number)).toEqual({
      bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      mime: 'image/png',
    });
  });
});
