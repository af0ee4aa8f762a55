import { spawn } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { MAIN, type ServerProcess, startServer, tempDir } from '../helpers/server-process.js';
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

/**
 * serveAsUnprivileged runs `hookrelay serve` to its exit and returns its exit code and stderr. Root
 * writes through any file mode, so when the suite runs as root the child runs as `nobody`, for whom a
 * mode of 0444 means what it means for the service account of a real deployment.
 */
function serveAsUnprivileged(dir: string, dbPath: string): Promise<{ code: number | null; stderr: string }> {
  const asRoot = process.getuid?.() === 0;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'serve'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOOKRELAY_CONFIG: join(dir, 'rules.yaml'),
        HOOKRELAY_DB: `sqlite:${dbPath}`,
        PORT: '0',
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    // A relay that starts anyway listens forever: stop it, and let the assertions say what went wrong.
    const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('a read-only database at start', () => {
  // A database from an earlier run, then made read-only: the file alone (its directory writable, so SQLite
  // opens it read-only without a word), or its directory too.
  test.each([
    ['the file', 0o777],
    ['the file and its directory', 0o555],
  ])(
    '%s: refused with a message that says the database is read-only (not "cannot listen")',
    async (_, dirMode) => {
      const dir = tempDir();
      try {
        writeFileSync(join(dir, 'rules.yaml'), RULES);
        const dbPath = join(dir, 'hookrelay.db');
        await (await openSqliteStore(dbPath)).close();
        chmodSync(dbPath, 0o444);
        chmodSync(dir, dirMode);
        const { code, stderr } = await serveAsUnprivileged(dir, dbPath);
        expect(code).toBe(1);
        expect(stderr).toContain(`the SQLite database at ${dbPath} is read-only`);
        expect(stderr).toContain('HR_ERR_STORE_READ_ONLY');
        expect(stderr).not.toContain('cannot listen');
      } finally {
        chmodSync(dir, 0o755);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
