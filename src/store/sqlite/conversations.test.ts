import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { conversationContract } from '../conversation-contract.js';
import { openSqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-conversations-'));
let files = 0;
const tempPath = () => join(dir, `conversations-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

conversationContract('sqlite (file)', () => openSqliteStore(tempPath()));
conversationContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));

it('keeps a conversation across a restart (the file is closed and opened again)', async () => {
  const path = tempPath();
  const conversation = {
    destination: 'team-slack',
    rule: 'r',
    key: 'k',
    ref: { channel: 'C1', ts: '1.000001' },
    startedAt: 1_000,
  };
  const first = await openSqliteStore(path);
  await first.conversations.start(conversation);
  await first.close();
  const second = await openSqliteStore(path);
  try {
    expect(await second.conversations.find(conversation)).toEqual(conversation);
  } finally {
    await second.close();
  }
});
