import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { nonceContract } from '../nonce-contract.js';
import { openSqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-nonces-'));
let files = 0;
const tempPath = () => join(dir, `nonces-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

nonceContract('sqlite (file)', () => openSqliteStore(tempPath()));
nonceContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));

it('remembers a claimed nonce across a restart (a replay after a restart is still refused)', async () => {
  const path = tempPath();
  const first = await openSqliteStore(path);
  expect(await first.nonces.claim('sig', 2_000, 1_000)).toBe(true);
  await first.close();
  const second = await openSqliteStore(path);
  try {
    expect(await second.nonces.claim('sig', 2_000, 1_500)).toBe(false);
  } finally {
    await second.close();
  }
});
