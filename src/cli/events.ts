import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { StoredEvent } from '../domain/event.js';
import { parseDurationMs } from '../lib/duration.js';
import { HookrelayError } from '../lib/errors.js';
import { defaultDatabaseUrl, openStore } from '../store/open.js';
import type { ListQuery, Store } from '../store/ports.js';
import { adminTargetOf, createAdminClient, describeFailure } from './admin-client.js';
import type { CliIo } from './io.js';

const USAGE = `usage: hookrelay events [--limit N] [--json] [filters] [--before SEQ | --after SEQ] [--follow]
       hookrelay events show <seq> [--json]

Lists stored events (one line per item), newest first, so you can see that a webhook arrived.

filters (all must hold):
  --source S        only this source
  --type T          an event type or a glob as in a rule's on: (desktop.*); repeat for several
  --user ID         only this user id
  --since WHEN      received within a duration (30m, 1h, 2d) or since an ISO time
paging:
  --limit N         at most N events (default 20, up to 10000)
  --before SEQ      the page before this seq (older); the command prints the next one to run
  --after SEQ       the page after this seq (newer)
  --follow          print the last N oldest first, then each new event as it is stored, until Ctrl-C
remote:
  --url ADMIN_URL   list through a running relay's admin API (or HOOKRELAY_ADMIN_URL; token from
                    HOOKRELAY_ADMIN_TOKEN) instead of opening HOOKRELAY_DB; --after and --follow are local only
output:
  --json            one JSON object per line (JSON Lines): {"seq":…, …the item}; nothing when none match

The database is HOOKRELAY_DB (default sqlite:./data/hookrelay.db); it is never created here.
Exit status: 0 listed (also when nothing matched), 1 no database or no such event, 2 bad usage.
`;

const MAX_LIMIT = 10_000;
/** How often --follow looks for new events: the relay runs in another process, so it is polled. */
const FOLLOW_POLL_MS = 500;

class UsageError extends Error {}

interface ListPlan {
  query: ListQuery;
  json: boolean;
  follow: boolean;
  /** The filters as typed, for "no events match …" and the next-page hint. */
  filterArgs: string[];
  /** --url: list through a relay's admin API instead of the database. */
  url: string | undefined;
}

function describeRow(event: StoredEvent): string {
  const { item } = event;
  const when = new Date(item.receivedAt).toISOString();
  const flags = item.simulation ? ' (simulation)' : '';
  return `${String(event.seq).padStart(6)}  ${when}  ${item.source}  ${item.event}  user=${item.user ?? '-'}  id=${item.id}${flags}`;
}

function jsonLine(event: StoredEvent): string {
  return `${JSON.stringify({ seq: event.seq, ...event.item })}\n`;
}

function parseSeq(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag} must be a seq (a whole number, as listed), got "${text}"`);
  }
  return Number(text);
}

/** parseSince reads `--since`: a duration back from now, or an ISO time. */
function parseSince(text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms !== undefined) return now - ms;
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (Number.isFinite(iso)) return iso;
  throw new UsageError(`--since takes a duration such as 30m, 1h or 2d, or an ISO time, got "${text}"`);
}

function parseListArgs(args: string[]): ListPlan | 'help' {
  let parsed: ReturnType<typeof parseListOptions>;
  try {
    parsed = parseListOptions(args);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  const beforeSeq = parseSeq('--before', values.before);
  const afterSeq = parseSeq('--after', values.after);
  if (values.follow && beforeSeq !== undefined) {
    throw new UsageError('--follow shows what comes next; it cannot be combined with --before');
  }
  const query: ListQuery = { limit };
  const filterArgs: string[] = [];
  if (values.source !== undefined) {
    query.source = values.source;
    filterArgs.push('--source', values.source);
  }
  if (values.type !== undefined && values.type.length > 0) {
    query.type = values.type;
    for (const type of values.type) filterArgs.push('--type', type);
  }
  if (values.user !== undefined) {
    query.user = values.user;
    filterArgs.push('--user', values.user);
  }
  const since = parseSince(values.since, Date.now());
  if (since !== undefined && values.since !== undefined) {
    query.receivedSince = since;
    filterArgs.push('--since', values.since);
  }
  if (beforeSeq !== undefined) query.beforeSeq = beforeSeq;
  if (afterSeq !== undefined) query.afterSeq = afterSeq;
  return {
    query,
    json: values.json ?? false,
    follow: values.follow ?? false,
    filterArgs,
    url: values.url,
  };
}

function parseListOptions(args: string[]) {
  return parseArgs({
    args,
    options: {
      limit: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
      source: { type: 'string' },
      type: { type: 'string', multiple: true },
      user: { type: 'string' },
      since: { type: 'string' },
      before: { type: 'string' },
      after: { type: 'string' },
      follow: { type: 'boolean', default: false },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
}

/** shellWord quotes an argument for a command line a person may paste back (globs stay unexpanded). */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** selection is what was asked for, as command-line words: the filters, then the cursors. */
function selection(plan: ListPlan): string[] {
  const words = plan.filterArgs.map(shellWord);
  if (plan.query.beforeSeq !== undefined) words.push('--before', String(plan.query.beforeSeq));
  if (plan.query.afterSeq !== undefined) words.push('--after', String(plan.query.afterSeq));
  return words;
}

async function openExisting(io: CliIo): Promise<Store | undefined> {
  try {
    return await openStore(defaultDatabaseUrl(io.env), { cwd: io.cwd, mustExist: true, wakeups: false });
  } catch (error) {
    const message = error instanceof HookrelayError ? `${error.message} (${error.code})` : String(error);
    io.stderr(`hookrelay events: cannot open the event log: ${message}\n`);
    return undefined;
  }
}

async function list(plan: ListPlan, store: Store, io: CliIo): Promise<number> {
  const events = await store.events.list(plan.query);
  if (events.length === 0) {
    const newest = (await store.events.list({ limit: 1 }))[0];
    const message =
      newest === undefined
        ? 'no events stored yet: send one with `hookrelay send`'
        : `no events match ${selection(plan).join(' ')} (the newest stored event is seq ${newest.seq})`;
    // stdout stays machine-readable under --json: the note goes to stderr.
    (plan.json ? io.stderr : io.stdout)(`${message}\n`);
    return 0;
  }
  for (const event of events) io.stdout(plan.json ? jsonLine(event) : `${describeRow(event)}\n`);
  if (events.length === plan.query.limit) {
    const oldest = events[events.length - 1]?.seq;
    const again = [...plan.filterArgs.map(shellWord), '--limit', String(plan.query.limit)];
    if (plan.query.afterSeq !== undefined) again.push('--after', String(plan.query.afterSeq));
    if (plan.json) again.push('--json');
    io.stderr(`more: hookrelay events ${again.join(' ')} --before ${oldest}\n`);
  }
  return 0;
}

async function follow(plan: ListPlan, store: Store, io: CliIo): Promise<number> {
  const stopped = io.untilStopped?.() ?? new AbortController().signal;
  const print = (event: StoredEvent) => io.stdout(plan.json ? jsonLine(event) : `${describeRow(event)}\n`);
  const first = await store.events.list(plan.query);
  for (const event of [...first].reverse()) print(event);
  let last = first[0]?.seq ?? plan.query.afterSeq ?? (await store.events.list({ limit: 1 }))[0]?.seq ?? 0;
  while (!stopped.aborted) {
    await sleep(FOLLOW_POLL_MS, undefined, { signal: stopped }).catch(() => undefined);
    if (stopped.aborted) break;
    // Filters still apply; the limit only bounds one poll (the rest follows at the next).
    const next = await store.events.list({
      ...plan.query,
      beforeSeq: undefined,
      afterSeq: last,
      limit: MAX_LIMIT,
    });
    for (const event of [...next].reverse()) print(event);
    last = next[0]?.seq ?? last;
  }
  return 0;
}

async function show(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout(
      'usage: hookrelay events show <seq> [--json]\n\nPrints one stored event in full: its seq, request id, dedupe key and item (raw included).\n',
    );
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('show takes exactly one seq');
  const seq = parseSeq('show', positionals[0]) as number;
  const store = await openExisting(io);
  if (store === undefined) return 1;
  try {
    const event = await store.events.get(seq);
    if (event === undefined) {
      io.stderr(`hookrelay events: no event with seq ${seq} (never stored, or pruned by retention)\n`);
      return 1;
    }
    const record = {
      seq: event.seq,
      requestId: event.requestId,
      dedupeKey: event.dedupeKey,
      item: event.item,
    };
    io.stdout(values.json ? `${JSON.stringify(record)}\n` : `${JSON.stringify(record, null, 2)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * runEvents is `hookrelay events`: lists stored events (filters, cursor paging, --follow) or shows one.
 * It never creates the database. Exit codes: 0 done, 1 no database or no such event, 2 bad usage.
 */
export async function runEvents(args: string[], io: CliIo): Promise<number> {
  try {
    if (args[0] === 'show') return await show(args.slice(1), io);
    const parsed = parseListArgs(args);
    if (parsed === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    if (parsed.url !== undefined || io.env.HOOKRELAY_ADMIN_URL) return await remoteEvents(parsed, io);
    const store = await openExisting(io);
    if (store === undefined) return 1;
    try {
      return parsed.follow ? await follow(parsed, store, io) : await list(parsed, store, io);
    } finally {
      await store.close();
    }
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    io.stderr(`hookrelay events: ${error.message}\n${USAGE}`);
    return 2;
  }
}

/**
 * remoteEvents is `events --url`: the same listing through a relay's admin API (a relay in a container or
 * on PostgreSQL elsewhere). The API pages backwards only, so --after and --follow stay local.
 */
async function remoteEvents(plan: ListPlan, io: CliIo): Promise<number> {
  const { query } = plan;
  if (plan.follow || query.afterSeq !== undefined) {
    throw new UsageError('--after and --follow read the database; with --url use --before to page');
  }
  const types = query.type === undefined ? [] : Array.isArray(query.type) ? query.type : [query.type];
  if (types.length > 1) throw new UsageError('with --url, give at most one --type');
  try {
    const client = createAdminClient(adminTargetOf(plan.url, io.env));
    const { events } = await client.get<{ events: Array<Omit<StoredEvent, 'image'>> }>('/api/v1/events', {
      limit: Math.min(query.limit, 500),
      source: query.source,
      type: types[0],
      user: query.user,
      since: query.receivedSince === undefined ? undefined : new Date(query.receivedSince).toISOString(),
      before: query.beforeSeq,
    });
    if (plan.json) for (const event of events) io.stdout(jsonLine(event as StoredEvent));
    else if (events.length === 0) {
      const message = plan.filterArgs.length
        ? `no events match ${selection(plan).join(' ')}`
        : 'no events stored yet';
      (plan.json ? io.stderr : io.stdout)(`${message}\n`);
    } else for (const event of events) io.stdout(`${describeRow(event as StoredEvent)}\n`);
    return 0;
  } catch (error) {
    io.stderr(describeFailure('events', error));
    return 1;
  }
}
