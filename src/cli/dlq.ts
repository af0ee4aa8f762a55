import { parseArgs } from 'node:util';
import { suggest } from '../config/issues.js';
import { HookrelayError } from '../lib/errors.js';
import { defaultDatabaseUrl, openStore } from '../store/open.js';
import type { DeadLetter, PausedDestination } from '../store/ports.js';
import { type DlqTarget, localTarget, remoteTarget, takeUrlOption } from './dlq-target.js';
import type { CliIo } from './io.js';

/** SUBCOMMANDS holds each subcommand's synopsis and what it does, for the usage texts. */
const SUBCOMMANDS = {
  list: {
    synopsis: 'list [--json] [--destination D] [--limit N] [--url U]',
    does: 'dead letters, newest first (--json: one JSON object per line, every attempt)',
  },
  replay: {
    synopsis: 'replay <id...> | --all | --destination D [--url U]',
    does: 'send dead letters again, in their place in the queue; resumes their destinations; exit 1 when an id is not a dead letter',
  },
  paused: { synopsis: 'paused [--json] [--url U]', does: 'destinations paused as broken, and why' },
  resume: {
    synopsis: 'resume <destination> [--url U]',
    does: 'lift a pause; its pending notifications are sent; exit 1 when it is not paused',
  },
} as const;

const FOOTER = `The database is HOOKRELAY_DB (default sqlite:./data/hookrelay.db); it must exist (run \`hookrelay serve\`
first). A running hookrelay sees a change within a second. With --url ADMIN_URL (or HOOKRELAY_ADMIN_URL;
token from HOOKRELAY_ADMIN_TOKEN) every command works through a running relay's admin API instead, e.g.
a relay in a container or on PostgreSQL elsewhere. Exit status: 0 done, 1 failed or nothing to do,
2 bad usage.
`;

const USAGE = `usage: hookrelay dlq <command>

${Object.values(SUBCOMMANDS)
  .map((sub) => `  ${sub.synopsis}\n      ${sub.does}`)
  .join('\n')}

${FOOTER}`;

function subUsage(name: keyof typeof SUBCOMMANDS): string {
  const sub = SUBCOMMANDS[name];
  return `usage: hookrelay dlq ${sub.synopsis}\n\n${sub.does}.\n\n${FOOTER}`;
}

/** wantsHelp says whether `--help`/`-h` is among the options (before a `--`). */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** Longest reason shown in the `list` table; --json has the whole text. */
const MAX_REASON_CHARS = 72;
const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 10_000;

class UsageError extends Error {}

/**
 * runDlq is `hookrelay dlq`: look at dead letters and paused destinations, and send them again. Exit
 * codes: 0 done, 1 the store failed, 2 bad usage. It never touches a notification that is not dead.
 */
export async function runDlq(args: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? io.stderr : io.stdout)(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command in SUBCOMMANDS && wantsHelp(rest)) {
    io.stdout(subUsage(command as keyof typeof SUBCOMMANDS));
    return 0;
  }
  let run: (target: DlqTarget) => Promise<number>;
  let url: string | undefined;
  try {
    const taken = takeUrlOption(rest);
    url = taken.url;
    run = parseCommand(command, taken.args, io);
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    io.stderr(`hookrelay dlq: ${error.message}\n\n${USAGE}`);
    return 2;
  }

  let target: DlqTarget;
  // As `events`: --url or HOOKRELAY_ADMIN_URL means the admin API, never the database.
  if (url !== undefined || io.env['HOOKRELAY_ADMIN_URL']) {
    try {
      target = remoteTarget(url, io.env);
    } catch (error) {
      io.stderr(`hookrelay dlq: ${describeError(error)}\n`);
      return 1;
    }
  } else {
    try {
      target = localTarget(
        await openStore(defaultDatabaseUrl(io.env), { cwd: io.cwd, mustExist: true, wakeups: false }),
      );
    } catch (error) {
      io.stderr(`hookrelay dlq: cannot open the database: ${describeError(error)}\n`);
      return 1;
    }
  }
  try {
    return await run(target);
  } catch (error) {
    io.stderr(`hookrelay dlq ${command}: ${describeError(error)}\n`);
    return 1;
  } finally {
    await target.close();
  }
}

/** parseCommand checks the arguments (throwing UsageError or parseArgs' TypeError) before the store opens. */
function parseCommand(command: string, args: string[], io: CliIo): (target: DlqTarget) => Promise<number> {
  switch (command) {
    case 'list': {
      const { values, positionals } = parseArgs({
        args,
        options: {
          json: { type: 'boolean', default: false },
          destination: { type: 'string' },
          limit: { type: 'string', default: String(DEFAULT_LIST_LIMIT) },
        },
        allowPositionals: true,
      });
      noPositionals('list', positionals);
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
        throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
      }
      const destination = nonEmptyOption('--destination', values.destination);
      return async (target) => {
        const letters = await target.listDead({ limit, ...(destination ? { destination } : {}) });
        if (letters.length === 0) {
          // Under --json stdout stays JSON Lines (here: none); the note goes to stderr.
          (values.json ? io.stderr : io.stdout)(
            destination ? `no dead letters for "${destination}"\n` : 'no dead letters\n',
          );
        } else if (values.json) {
          for (const letter of letters) io.stdout(`${JSON.stringify(letterJson(letter))}\n`);
        } else {
          io.stdout(deadTable(letters));
        }
        return 0;
      };
    }
    case 'replay': {
      const { values, positionals } = parseArgs({
        args,
        options: { all: { type: 'boolean', default: false }, destination: { type: 'string' } },
        allowPositionals: true,
      });
      const destination = nonEmptyOption('--destination', values.destination);
      const chosen = [positionals.length > 0, values.all, destination !== undefined].filter(Boolean).length;
      if (chosen !== 1) throw new UsageError('replay takes ids, or --all, or --destination D (exactly one)');
      return async (target) => {
        const before = new Set((await target.listPaused()).map((p) => p.destination));
        let replayed = 0;
        const notDead: string[] = [];
        if (positionals.length > 0) {
          // One id at a time, so the ids that were not dead letters can be named.
          for (const id of positionals) {
            const one = await target.replay({ ids: [id] });
            replayed += one;
            if (one === 0) notDead.push(id);
          }
        } else {
          replayed = await target.replay(
            values.all || destination === undefined ? { all: true } : { destination },
          );
        }
        const after = new Set((await target.listPaused()).map((p) => p.destination));
        const resumed = [...before].filter((name) => !after.has(name));
        const noun = replayed === 1 ? 'dead letter' : 'dead letters';
        const also = resumed.length > 0 ? `; resumed ${resumed.join(', ')}` : '';
        io.stdout(`requeued ${replayed} ${noun}${also}\n`);
        if (notDead.length > 0) {
          io.stderr(`not a dead letter (unknown id, or not dead): ${notDead.join(', ')}\n`);
          return 1;
        }
        return 0;
      };
    }
    case 'paused': {
      const { values, positionals } = parseArgs({
        args,
        options: { json: { type: 'boolean', default: false } },
        allowPositionals: true,
      });
      noPositionals('paused', positionals);
      return async (target) => {
        const paused = await target.listPaused();
        if (paused.length === 0) {
          (values.json ? io.stderr : io.stdout)('no destination is paused\n');
        } else if (values.json) {
          for (const p of paused) io.stdout(`${JSON.stringify({ ...p, pausedAt: iso(p.pausedAt) })}\n`);
        } else {
          io.stdout(pausedTable(paused));
        }
        return 0;
      };
    }
    case 'resume': {
      const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
      const [name, ...extra] = positionals;
      if (name === undefined || name === '' || extra.length > 0) {
        throw new UsageError('resume takes exactly one destination name');
      }
      return async (target) => {
        if (await target.resume(name)) {
          const pending = await target.pending(name);
          io.stdout(`resumed ${name}; ${pending} pending notification(s) will be sent\n`);
          return 0;
        }
        // Nothing was done: a typo must not look like success.
        const paused = (await target.listPaused()).map((p) => p.destination);
        const close = suggest(name, paused);
        const hint =
          close !== undefined
            ? ` (did you mean "${close}"?)`
            : paused.length === 0
              ? '; no destination is paused'
              : ` (paused: ${paused.join(', ')})`;
        io.stderr(`hookrelay dlq resume: "${name}" is not paused${hint}\n`);
        return 1;
      };
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`${command}: unexpected argument "${positionals[0]}"`);
}

function nonEmptyOption(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`${name} needs a name`);
  return value;
}

function describeError(error: unknown): string {
  if (error instanceof HookrelayError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** letterJson is a dead letter for `--json`: the whole record, times as ISO strings. */
function letterJson(letter: DeadLetter): Record<string, unknown> {
  const { notification } = letter;
  return {
    id: notification.id,
    destination: notification.destination,
    rule: notification.alert.rule,
    reason: letter.reason,
    deadAt: iso(letter.deadAt),
    createdAt: iso(notification.createdAt),
    ...(notification.requestId === undefined ? {} : { requestId: notification.requestId }),
    ...(letter.eventSeq === undefined ? {} : { eventSeq: letter.eventSeq }),
    alert: notification.alert,
    attempts: letter.attempts.map((attempt) => ({ ...attempt, at: iso(attempt.at) })),
  };
}

function cut(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** table aligns columns with two spaces between them; the last column is never padded. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

function deadTable(letters: DeadLetter[]): string {
  return table(
    ['ID', 'DESTINATION', 'RULE', 'ATTEMPTS', 'DEAD AT', 'REASON'],
    letters.map((letter) => [
      letter.notification.id,
      letter.notification.destination,
      letter.notification.alert.rule,
      String(letter.attempts.length),
      iso(letter.deadAt),
      cut(letter.reason, MAX_REASON_CHARS),
    ]),
  );
}

function pausedTable(paused: PausedDestination[]): string {
  return table(
    ['DESTINATION', 'PAUSED AT', 'REASON'],
    paused.map((p) => [p.destination, iso(p.pausedAt), p.reason]),
  );
}
