/** CliIo is what a subcommand may touch, passed in so tests run commands in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * untilStopped returns a signal that aborts when the command should stop on its own accord: the reader
   * of stdout went away (`| head -1`) or the user interrupted (Ctrl-C, SIGTERM). Only commands that run
   * until stopped (`events --follow`) call it; calling it is what takes over SIGINT and SIGTERM.
   */
  untilStopped?: () => AbortSignal;
}

/**
 * processIo is the real process's streams, environment and working directory. A closed stdout (a pipe
 * whose reader exited, as in `hookrelay events --json | head -1`) is not an error: what is left to print
 * is dropped, the command finishes what it was doing (`send` sends every request it was asked to) and
 * exits with its own status, without a stack trace.
 */
export function processIo(): CliIo {
  const closed = new AbortController();
  const streams = [process.stdout, process.stderr];
  const outputGone = new Set<NodeJS.WriteStream>();
  for (const stream of streams) {
    // EPIPE (the reader exited) is the usual case; any other error on a terminal or pipe leaves the
    // output just as unprintable, and nothing is gained by crashing over it.
    stream.on('error', () => {
      outputGone.add(stream);
      if (stream === process.stdout) closed.abort();
    });
  }
  const writer = (stream: NodeJS.WriteStream) => (text: string) => {
    if (outputGone.has(stream) || stream.destroyed) return;
    stream.write(text);
  };
  return {
    stdout: writer(process.stdout),
    stderr: writer(process.stderr),
    env: process.env,
    cwd: process.cwd(),
    untilStopped: () => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      closed.signal.addEventListener('abort', onSignal, { once: true });
      if (closed.signal.aborted) stop.abort();
      stop.signal.addEventListener('abort', () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      });
      return stop.signal;
    },
  };
}
