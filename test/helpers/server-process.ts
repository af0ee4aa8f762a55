import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = join(ROOT, 'dist/src/main.js');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Every stdout/stderr line so far (JSON log lines and anything else). */
  lines: string[];
  dir: string;
  dbPath: string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface StartOptions {
  rulesYaml: string;
  env?: Record<string, string>;
  /** Reuse a directory (and its database) from an earlier process. */
  dir?: string;
  /** Says whether the server is ready; default: GET /readyz answers 2xx (plain fetch, so HTTP only). */
  ready?: (url: string) => Promise<boolean>;
}

/** tempDir makes a fresh directory for one test's rules file and database. */
export function tempDir(prefix = 'hookrelay-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * startServer spawns the real `hookrelay serve` on an ephemeral port and resolves once it has logged its
 * address and answers /readyz.
 */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const dir = options.dir ?? tempDir();
  const rulesPath = join(dir, 'rules.yaml');
  writeFileSync(rulesPath, options.rulesYaml);
  const dbPath = join(dir, 'hookrelay.db');
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOOKRELAY_CONFIG: rulesPath,
      HOOKRELAY_DB: `sqlite:${dbPath}`,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // An ephemeral port, so parallel servers never compete for the admin listener's default 3001.
      ADMIN_PORT: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  let resolveUrl: (url: string) => void;
  const urlPromise = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      lines.push(line);
      if (line.includes('hookrelay listening')) {
        const parsed = JSON.parse(line) as { address: string };
        resolveUrl(parsed.address);
      }
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const url = await Promise.race([
    urlPromise,
    exited.then((code) => {
      throw new Error(`hookrelay serve exited (${code}) before listening:\n${lines.join('\n')}`);
    }),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no listen line:\n${lines.join('\n')}`)), 15_000),
    ),
  ]);
  for (let i = 0; i < 50; i++) {
    const ready = await (options.ready ?? defaultReady)(url).catch(() => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    lines,
    dir,
    dbPath,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

function defaultReady(url: string): Promise<boolean> {
  return fetch(`${url}/readyz`).then((r) => r.ok);
}

/** writeFile is a small convenience for tests that add fixture files next to the rules file. */
export function writeTestFile(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
