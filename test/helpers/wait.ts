import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MAIN } from './server-process.js';

const run = promisify(execFile);

/**
 * waitFor polls `check` every 20 ms until it returns true, and throws with `what` (and whatever `explain`
 * returns, e.g. what the fake saw so far) when `timeoutMs` passes first. Never a blind sleep.
 */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; explain?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  while (!(await check())) {
    if (Date.now() > deadline) {
      const more = options.explain ? `\n${options.explain()}` : '';
      throw new Error(`timed out waiting for ${what}${more}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * hookrelay runs the built CLI (`node dist/src/main.js …`) against a database and returns its output:
 * `db` is a SQLite file path (a server's `dbPath`) or a database URL (`postgres://…`).
 */
export async function hookrelay(
  args: string[],
  db: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const url = /^(postgres|postgresql|sqlite):/.test(db) ? db : `sqlite:${db}`;
  const env = { PATH: process.env.PATH ?? '', HOOKRELAY_DB: url };
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { env, timeout: 15_000 });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: unknown };
    return {
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
      code: typeof failed.code === 'number' ? failed.code : 1,
    };
  }
}
