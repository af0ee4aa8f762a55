import type { CliIo } from './io.js';
import { packageVersion } from './version.js';

type Command = (args: string[], io: CliIo) => Promise<number | undefined>;

/* Each command is imported on demand so `hookrelay validate` does not load the server or the database. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: {
    summary: 'receive webhooks, evaluate rules, deliver alerts',
    load: async () => (await import('./serve.js')).runServe,
  },
  validate: {
    summary: 'check a rules file and list every error',
    load: async () => (await import('./validate.js')).runValidate,
  },
  schema: {
    summary: 'print the JSON Schema of the rules file',
    load: async () => (await import('./schema.js')).runSchema,
  },
  test: {
    summary: 'prove rules: run the tests: of a rules file, or explain given events',
    load: async () => (await import('./test-rules.js')).runTest,
  },
  send: {
    summary: 'send signed sample webhooks (local simulator)',
    load: async () => (await import('./send.js')).runSend,
  },
  dlq: {
    summary: 'dead letters and paused destinations: list, replay, resume',
    load: async () => (await import('./dlq.js')).runDlq,
  },
  events: {
    summary: 'list stored events, newest first; show one; follow new ones',
    load: async () => (await import('./events.js')).runEvents,
  },
  alerts: {
    summary: 'recent alerts with their delivery status (admin API, --url)',
    load: async () => (await import('./alerts.js')).runAlerts,
  },
  silence: {
    summary: 'stored silences: add, list, expire (admin API, --url)',
    load: async () => (await import('./silence.js')).runSilence,
  },
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return (
    'usage: hookrelay <command> [options]\n\n' +
    `commands:\n${lines.join('\n')}\n\n` +
    '  hookrelay help <command>     the options of a command (also: hookrelay <command> --help)\n' +
    '  hookrelay --version          the version\n'
  );
}

/**
 * runCommand dispatches argv to a subcommand and returns its exit code (undefined: still running). Exit
 * status 2 is bad usage, for every command.
 */
export async function runCommand(argv: string[], io: CliIo): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(usage());
    return 2;
  }
  if (name === '--help' || name === '-h') {
    io.stdout(usage());
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(`hookrelay ${packageVersion()}\n`);
    return 0;
  }
  if (name === 'help') {
    const [topic, ...sub] = rest;
    if (topic === undefined) {
      io.stdout(usage());
      return 0;
    }
    // `help dlq list` is `dlq list --help`: each command prints its own usage.
    return runCommand([topic, ...sub, '--help'], io);
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`hookrelay: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return (await command.load())(rest, io);
}
