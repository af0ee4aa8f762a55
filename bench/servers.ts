import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { type ProcessSample, sampleProcess } from './proc.js';

export { type ProcessSample, sampleProcess };

/** ServerHandle is a server child process that answered its readiness check. */
export interface ServerHandle {
  readonly name: string;
  readonly pid: number;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  sample(): ProcessSample | undefined;
  /** The last lines the process printed, for error messages. */
  outputTail(): string;
  /** How the process ended (`exit code 1`, `signal SIGKILL`), or undefined while it runs. */
  exitStatus(): string | undefined;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

/** ServerSpec says how to start one server. */
export interface ServerSpec {
  name: string;
  /** Arguments to `command` (for node, the script first). */
  args: string[];
  /** The executable; this Node by default. The peers (bench/peers/) are Go binaries. */
  command?: string;
  port: number;
  env: NodeJS.ProcessEnv;
  /** Path answering 200 once the server can take load. */
  readyPath: string;
  readyTimeoutMs: number;
}

const OUTPUT_TAIL_CHARS = 4_000;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * startServer spawns `node …args` (or `command …args`) and resolves when GET readyPath answers 200. It rejects with the
 * process's last output if the process exits first or is not ready in time. Every child is killed when
 * this process exits, so an interrupted bench leaves no server behind.
 */
export async function startServer(spec: ServerSpec): Promise<ServerHandle> {
  installExitHook();
  const child = spawn(spec.command ?? process.execPath, spec.args, {
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  // Always drain both pipes: a full pipe would block the server's logging and skew the figures.
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `exit code ${code}`;
      running.delete(child);
      resolve();
    });
  });
  child.once('error', (error) => {
    exited = `could not start: ${error.message}`;
  });

  const origin = `http://127.0.0.1:${spec.port}`;
  const handle: ServerHandle = {
    name: spec.name,
    pid: child.pid ?? -1,
    origin,
    sample: () => (child.pid === undefined ? undefined : sampleProcess(child.pid)),
    outputTail: () => tail.trim(),
    exitStatus: () => exited,
    stop: async () => {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exitedPromise.then(() => false), sleep(5_000).then(() => true)]);
      if (killed) {
        child.kill('SIGKILL');
        await exitedPromise;
      }
    },
  };

  const deadline = Date.now() + spec.readyTimeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(
        `${spec.name} exited before it was ready (${exited}). Its output:\n${indent(tail.trim())}`,
      );
    }
    try {
      const response = await request(`${origin}${spec.readyPath}`, {
        headersTimeout: 1_000,
        bodyTimeout: 1_000,
      });
      await response.body.dump();
      if (response.statusCode === 200) return handle;
      lastProblem = `GET ${spec.readyPath} answered ${response.statusCode}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  await handle.stop();
  throw new Error(
    `${spec.name} was not ready within ${spec.readyTimeoutMs} ms (${lastProblem}). Its output:\n${indent(tail.trim())}`,
  );
}

/** freePort asks the OS for a port that is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** indent prefixes every line of a server's output, for quoting it inside a message. */
export function indent(text: string): string {
  return text === '' ? '  (no output)' : text.replace(/^/gm, '  ');
}

/**
 * serveEnv is the environment every bench run of `hookrelay serve` gets: its port, rules and database,
 * warnings only (logging every request would measure pino, not the relay) and no dashboard (its fixed
 * port would collide with any other hookrelay on the machine). `extra` adds to it.
 */
export function serveEnv(
  port: number,
  rulesFile: string,
  database: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    HOOKRELAY_CONFIG: rulesFile,
    HOOKRELAY_DB: database,
    LOG_LEVEL: 'warn',
    ADMIN_PORT: 'off',
    ...extra,
  };
}

/** assertAlive stops a bench run with the server's last output when the server died under load. */
export function assertAlive(server: ServerHandle): void {
  const status = server.exitStatus();
  if (status !== undefined) {
    throw new Error(
      `${server.name} died during the run (${status}). Its last output:\n${indent(server.outputTail())}`,
    );
  }
}
