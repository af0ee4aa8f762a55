import { parseArgs } from 'node:util';
import { HookrelayError } from '../lib/errors.js';
import { defaultDatabaseUrl, openStore } from '../store/open.js';
import type { DeadLetter, PausedDestination, Store } from '../store/ports.js';
import type { CliIo } from './io.js';

const USAGE = `usage: hookrelay dlq <command>

  list [--json] [--destination D] [--limit N]   dead letters, newest first (--json: every attempt)
  replay <id...> | --all | --destination D      send dead letters again, in their place in the queue;
                                                resumes their destinations
  paused [--json]                               destinations paused as broken, and why
  resume <destination>                          lift a pause; its pending notifications are sent

The database is HOOKRELAY_DB (default sqlite:./data/hookrelay.db). A running hookrelay sees the change
within a second.
`;

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
  let run: (store: Store) => Promise<number>;
  try {
    run = parseCommand(command, rest, io);
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    io.stderr(`hookrelay dlq: ${error.message}\n\n${USAGE}`);
    return 2;
  }

  let store: Store;
  try {
    store = await openStore(defaultDatabaseUrl(io.env), { cwd: io.cwd });
  } catch (error) {
    io.stderr(`hookrelay dlq: cannot open the database: ${describeError(error)}\n`);
    return 1;
  }
  try {
    return await run(store);
  } catch (error) {
    io.stderr(`hookrelay dlq ${command}: ${describeError(error)}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

/** parseCommand checks the arguments (throwing UsageError or parseArgs' TypeError) before the store opens. */
function parseCommand(command: string, args: string[], io: CliIo): (store: Store) => Promise<number> {
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
      return async (store) => {
        const letters = await store.deadLetters.listDead({ limit, ...(destination ? { destination } : {}) });
        if (values.json) {
          for (const letter of letters) io.stdout(`${JSON.stringify(letterJson(letter))}\n`);
        } else if (letters.length === 0) {
          io.stdout(destination ? `no dead letters for "${destination}"\n` : 'no dead letters\n');
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
      return async (store) => {
        const now = Date.now();
        const before = new Set((await store.deadLetters.listPausedDestinations()).map((p) => p.destination));
        const replayed = await store.deadLetters.replayDead(
          values.all
            ? { all: true, now }
            : destination !== undefined
              ? { destination, now }
              : { ids: positionals, now },
        );
        const after = new Set((await store.deadLetters.listPausedDestinations()).map((p) => p.destination));
        const resumed = [...before].filter((name) => !after.has(name));
        const noun = replayed === 1 ? 'dead letter' : 'dead letters';
        const also = resumed.length > 0 ? `; resumed ${resumed.join(', ')}` : '';
        io.stdout(`requeued ${replayed} ${noun}${also}\n`);
        if (positionals.length > replayed) {
          io.stderr(
            `${positionals.length - replayed} of the ids given are not dead letters (unknown, or not dead)\n`,
          );
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
      return async (store) => {
        const paused = await store.deadLetters.listPausedDestinations();
        if (values.json) {
          for (const p of paused) io.stdout(`${JSON.stringify({ ...p, pausedAt: iso(p.pausedAt) })}\n`);
        } else if (paused.length === 0) {
          io.stdout('no destination is paused\n');
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
      return async (store) => {
        if (await store.deadLetters.resumeDestination(name)) {
          const pending = (await store.outbox.pendingCounts())[name] ?? 0;
          io.stdout(`resumed ${name}; ${pending} pending notification(s) will be sent\n`);
        } else {
          io.stdout(`${name} is not paused; nothing to do\n`);
        }
        return 0;
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
