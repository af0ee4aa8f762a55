import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/*
 * A private PostgreSQL cluster for one test file: initdb in a temp dir, a free port, started and
 * stopped with pg_ctl. It exists for tests that restart PostgreSQL itself (the chaos e2e), which the
 * shared server on 127.0.0.1:5432 must never be: every other test file runs against it in parallel.
 *
 * PostgreSQL refuses to run as root. As root (CI on this machine kind) the binaries run through
 * `runuser -u postgres --` on a directory chowned to postgres; as anyone else they run directly.
 */

/** PgCluster is a running private cluster; `url` names its `postgres` database. */
export interface PgCluster {
  url: string;
  port: number;
  dir: string;
  /**
   * restart stops the server with `-m immediate` (a crash: no checkpoint, sessions cut, WAL recovery at
   * start), runs `whileDown` (a test waits there on what the relay shows meanwhile), then starts it on the
   * same port. Immediate rather than fast: a crash is the harder case, and it proves that what was
   * acknowledged before it survives through WAL replay, not only through a clean checkpoint.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  /** stop stops the server (immediate) and removes the directory; safe to call twice or after a failure. */
  stop(): Promise<void>;
  /** The server log so far (for failure messages). */
  log(): string;
}

/** pgBinDir finds Debian's PostgreSQL binaries (the newest version), or explains what is missing. */
export function pgBinDir(): string {
  const fromEnv = process.env.HOOKRELAY_PG_BIN;
  if (fromEnv) {
    const missing = ['initdb', 'pg_ctl'].filter((tool) => !existsSync(join(fromEnv, tool)));
    if (missing.length > 0) {
      throw new Error(
        `HOOKRELAY_PG_BIN=${fromEnv} holds no ${missing.join(' or ')}: point it at PostgreSQL's bin directory`,
      );
    }
    return fromEnv;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(
      `no PostgreSQL server binaries under ${root}/<version>/bin (initdb, pg_ctl): install the postgresql ` +
        'package (Debian/Ubuntu) or set HOOKRELAY_PG_BIN to the directory holding initdb and pg_ctl',
    );
  }
  return join(root, newest, 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

/** startPgCluster initdbs and starts a private cluster; the caller must `stop()` it (afterAll). */
export async function startPgCluster(): Promise<PgCluster> {
  const bin = pgBinDir();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const exec = async (tool: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
      : [join(bin, tool), args];
    try {
      return await run(file, argv, { timeout: 90_000 });
    } catch (error) {
      const failed = error as { stderr?: string; stdout?: string; message?: string };
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      throw new Error(
        `${tool} ${args.join(' ')} failed: ${failed.message ?? ''}\n${failed.stdout ?? ''}${failed.stderr ?? ''}\n${log}`,
      );
    }
  };
  let stopped = false;
  const stopServer = async () => {
    if (existsSync(join(data, 'postmaster.pid')))
      await exec('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', data]);
  };
  try {
    mkdirSync(data, { mode: 0o700 });
    if (asRoot) {
      const { uid, gid } = await postgresIds();
      chownSync(dir, uid, gid);
      chownSync(data, uid, gid);
    }
    await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    const port = await freePort();
    // The socket lives in our own dir: /var/run/postgresql may not exist or be writable for us.
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir}`;
    const startServer = () =>
      exec('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', logFile, '-o', options]);
    await startServer();
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      dir,
      async restart(whileDown) {
        await stopServer();
        try {
          await whileDown?.();
        } finally {
          await startServer();
        }
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await stopServer();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    };
  } catch (error) {
    await stopServer().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
