import { parseArgs } from 'node:util';
import type { StoredEvent } from '../domain/event.js';
import { HookrelayError } from '../lib/errors.js';
import { defaultDatabaseUrl, openStore } from '../store/open.js';
import { adminTargetOf, createAdminClient, describeFailure } from './admin-client.js';
import type { CliIo } from './io.js';

const USAGE =
  'usage: hookrelay events [--limit N] [--json] [--source S] [--type T] [--url ADMIN_URL]\n' +
  '  with --url (or HOOKRELAY_ADMIN_URL): from a running relay through its admin API, else from HOOKRELAY_DB\n';

function describeRow(event: StoredEvent): string {
  const { item } = event;
  const when = new Date(item.receivedAt).toISOString();
  const flags = item.simulation ? ' (simulation)' : '';
  return `${String(event.seq).padStart(6)}  ${when}  ${item.source}  ${item.event}  user=${item.user ?? '-'}  id=${item.id}${flags}`;
}

/** runEvents lists stored events, newest first, so a person can see that their webhook arrived. */
export async function runEvents(args: string[], io: CliIo): Promise<number> {
  let values: {
    limit?: string;
    json?: boolean;
    source?: string;
    type?: string;
    url?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        limit: { type: 'string', default: '20' },
        json: { type: 'boolean', default: false },
        source: { type: 'string' },
        type: { type: 'string' },
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr(`hookrelay events: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    io.stderr(`hookrelay events: --limit must be a whole number from 1 to 10000\n${USAGE}`);
    return 2;
  }

  if (values.url !== undefined || io.env.HOOKRELAY_ADMIN_URL) {
    return remoteEvents(io, {
      url: values.url,
      limit,
      source: values.source,
      type: values.type,
      json: values.json,
    });
  }
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(defaultDatabaseUrl(io.env), { cwd: io.cwd });
  } catch (error) {
    const message = error instanceof HookrelayError ? `${error.message} (${error.code})` : String(error);
    io.stderr(`hookrelay events: cannot open the event log: ${message}\n`);
    return 1;
  }
  try {
    const events = await store.events.list({ limit, source: values.source, type: values.type });
    if (values.json) {
      for (const event of events) io.stdout(`${JSON.stringify({ seq: event.seq, ...event.item })}\n`);
    } else if (events.length === 0) {
      io.stdout('no events stored yet: send one with `hookrelay send`\n');
    } else {
      for (const event of events) io.stdout(`${describeRow(event)}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** remoteEvents is `events --url`: the same listing through a relay's admin API. */
async function remoteEvents(
  io: CliIo,
  options: { url: string | undefined; limit: number; source?: string; type?: string; json?: boolean },
): Promise<number> {
  try {
    const client = createAdminClient(adminTargetOf(options.url, io.env));
    const { events } = await client.get<{ events: Array<Omit<StoredEvent, 'image'>> }>('/api/v1/events', {
      limit: Math.min(options.limit, 500),
      source: options.source,
      type: options.type,
    });
    if (options.json)
      for (const event of events) io.stdout(`${JSON.stringify({ seq: event.seq, ...event.item })}\n`);
    else if (events.length === 0) io.stdout('no events match\n');
    else for (const event of events) io.stdout(`${describeRow(event)}\n`);
    return 0;
  } catch (error) {
    io.stderr(describeFailure('events', error));
    return 1;
  }
}
