import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeAdminReadsContract, describeSilenceContract } from '../admin-contract.js';
import { openSqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-admin-store-'));
let files = 0;
const tempPath = () => join(dir, `admin-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeSilenceContract('sqlite (file)', () => openSqliteStore(tempPath()));
describeSilenceContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));
describeAdminReadsContract('sqlite (file)', () => openSqliteStore(tempPath()));
describeAdminReadsContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));

it('keeps stored silences across a restart (the file is closed and opened again)', async () => {
  const path = tempPath();
  const first = await openSqliteStore(path);
  const created = await first.silences.create({
    matchers: { rule: 'went-quiet' },
    startsAt: 1_000,
    endsAt: 2_000,
    comment: 'maintenance',
    createdBy: 'ops',
    createdAt: 1_000,
  });
  const revision = await first.silences.revision();
  await first.close();
  const second = await openSqliteStore(path);
  try {
    expect(await second.silences.list({ limit: 10 })).toEqual([created]);
    expect(await second.silences.revision()).toBe(revision);
  } finally {
    await second.close();
  }
});
