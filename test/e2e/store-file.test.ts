import { rmSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/* What `hookrelay serve` does when its database file is not what it should be (issue 15 §6, §9). */

const SECRET = 'e2e-store-file-secret';
const RULES = `
version: 1
sources:
  trackpilots:
    type: trackpilots
    secrets: ["${SECRET}"]
destinations:
  console: { type: log }
rules: []
`;

let server: ServerProcess | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const send = (url: string, user: string) =>
  postSigned(`${url}/webhooks/trackpilots`, JSON.stringify(sampleActivityEvent({ userId: user })), SECRET);

describe('the database file deleted under a running relay', () => {
  test('stops acknowledging: every POST is 503, /readyz is 503, and the log says what happened', async () => {
    server = await startServer({ rulesYaml: RULES });
    const { url, dbPath } = server;
    expect((await send(url, 'before')).status).toBe(200);

    rmSync(dbPath);
    rmSync(`${dbPath}-wal`, { force: true });
    rmSync(`${dbPath}-shm`, { force: true });

    // Nothing sent now can be kept: the file those commits go to is gone at the next start.
    for (let i = 0; i < 5; i += 1) expect((await send(url, `after-${i}`)).status).toBe(503);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // The store says what happened, once (not once per refused request).
    const said = () =>
      (server?.lines ?? [])
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as { component?: string; code?: string; msg: string }];
          } catch {
            return [];
          }
        })
        .filter((line) => line.component === 'store' && line.code === 'HR_ERR_STORE_FILE_LOST');
    await waitFor('the log line about the deleted database', () => said().length > 0);
    expect(said()).toHaveLength(1);
    expect(said()[0]?.msg).toContain(`the database file ${dbPath} was deleted while hookrelay was running`);
  });
});
