import { spawn } from 'node:child_process';
import { MAIN } from './server-process.js';

/** ClosedPipeRun is how a CLI run ended whose stdout reader went away after the first line. */
export interface ClosedPipeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  firstLine: string;
  stderr: string;
}

/**
 * runIntoClosedPipe spawns the built CLI (`node dist/src/main.js …args`) with stdout on a real pipe and
 * destroys the reading end as soon as the first line arrives, as `| head -1` does; it resolves once the
 * process has exited (or rejects after `timeoutMs`, killing it: a process that hangs is a failure too).
 */
export function runIntoClosedPipe(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<ClosedPipeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let firstLine = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (firstLine !== '') return;
      out += chunk.toString('utf8');
      const end = out.indexOf('\n');
      if (end === -1) return;
      firstLine = out.slice(0, end);
      child.stdout.destroy();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hookrelay ${args.join(' ')} did not exit:\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, firstLine, stderr });
    });
  });
}
