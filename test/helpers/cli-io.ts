import type { CliIo } from '../../src/cli/io.js';

/** CapturedIo is a CliIo whose output is kept, for a test to read. */
export type CapturedIo = CliIo & { out: () => string; err: () => string };

/** captureIo runs a CLI command in-process: stdout and stderr are collected, env and cwd are as given. */
export function captureIo(options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    env: options.env ?? {},
    cwd: options.cwd ?? '/',
    out: () => out,
    err: () => err,
  };
}
