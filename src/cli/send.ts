import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Agent, fetch } from 'undici';
import { signTrackpilots } from '../ingest/verify/trackpilots.js';
import type { CliIo } from './io.js';
import {
  resolveSampleKind,
  SAMPLE_KINDS,
  type SampleKind,
  sampleEvent,
  TRACKPILOTS_EVENTS,
} from './send-samples.js';

/**
 * DEFAULT_DEV_SECRET is the secret `hookrelay send` signs with when neither `--secret` nor
 * TRACKPILOTS_WEBHOOK_SECRET is set. It matches the default in rules.example.yaml so that
 * `npm start` in one terminal and `hookrelay send` in another work with no set-up.
 */
export const DEFAULT_DEV_SECRET = 'dev-secret-change-me';

/** TimestampUnit is the unit of the `x-webhook-timestamp` header (undocumented by Trackpilots; see §1). */
export type TimestampUnit = 's' | 'ms';

/** DEFAULT_SEND_TIMEOUT_MS bounds each request, so a stuck server never hangs the command. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

const MAX_COUNT = 1_000_000;
const MAX_BODY_ECHO_CHARS = 500;

/** formatTimestamp renders an epoch-ms instant as the header value in the chosen unit. */
export function formatTimestamp(nowMs: number, unit: TimestampUnit): string {
  return unit === 's' ? String(Math.floor(nowMs / 1000)) : String(Math.floor(nowMs));
}

/**
 * trackpilotsHeaders returns the headers of one signed delivery: content type, `x-webhook-timestamp`
 * (default milliseconds, now) and `x-webhook-signature` over that timestamp and the raw body.
 */
export function trackpilotsHeaders(
  rawBody: Uint8Array | string,
  secret: string,
  options: { unit?: TimestampUnit; nowMs?: number } = {},
): Record<string, string> {
  const timestamp = formatTimestamp(options.nowMs ?? Date.now(), options.unit ?? 'ms');
  return {
    'content-type': 'application/json',
    'x-webhook-timestamp': timestamp,
    'x-webhook-signature': signTrackpilots(rawBody, secret, timestamp),
  };
}

const USAGE = `Usage: hookrelay send [file.json] [options]

Sends signed Trackpilots webhooks to a relay: a fresh realistic sample each time, or the
exact bytes of file.json (re-signed for every send).

Options:
  --url URL              where to POST (default http://127.0.0.1:$PORT/webhooks/trackpilots, PORT=3000)
  --secret S             signing secret (default $TRACKPILOTS_WEBHOOK_SECRET, else ${DEFAULT_DEV_SECRET})
  --event NAME           ${SAMPLE_KINDS.join(' | ')} or a full event type (default app)
  --count N              how many requests, one after another (default 1)
  --simulation           mark samples "simulation": true, with a placeholder instead of image bytes
  --user ID              user id in the samples (default: a fresh UUID each time)
  --timestamp-unit U     ms | s for x-webhook-timestamp (default ms)
  --timeout-ms N         give up on a request after N ms (default ${DEFAULT_SEND_TIMEOUT_MS})
  --json                 one JSON line per request instead of text
  -h, --help             show this help

Exit status: 0 every response was 2xx, 1 some were not (or failed), 2 bad usage.
`;

/** UsageError is a mistake in the command line; it becomes exit 2 with its message. */
class UsageError extends Error {}

interface FilePayload {
  name: string;
  bytes: Buffer;
  event: string;
  items: number;
}

interface SendPlan {
  url: URL;
  secret: string;
  /** Where the secret came from, for the 401 hint (the secret itself is never printed). */
  secretFrom: 'the --secret given' | 'TRACKPILOTS_WEBHOOK_SECRET' | 'the built-in development secret';
  kind: SampleKind;
  file: FilePayload | undefined;
  count: number;
  simulation: boolean;
  userId: string | undefined;
  unit: TimestampUnit;
  timeoutMs: number;
  json: boolean;
}

/** One line of `--json` output. */
interface SendRecord {
  seq: number;
  event: string;
  items: number;
  requestBytes: number;
  status: number | null;
  ok: boolean;
  latencyMs: number;
  /** Items the relay stored and items it already had, from its 2xx answer. */
  stored?: number;
  duplicates?: number;
  body?: string;
  error?: string;
}

/** storedCounts reads `{"stored":N,"duplicates":M}` from a relay's answer; undefined for another body. */
function storedCounts(text: string): { stored: number; duplicates: number } | undefined {
  try {
    const body = JSON.parse(text) as { stored?: unknown; duplicates?: unknown };
    if (typeof body.stored === 'number' && typeof body.duplicates === 'number') {
      return { stored: body.stored, duplicates: body.duplicates };
    }
  } catch {
    // Not JSON: another server, or a proxy's page.
  }
  return undefined;
}

/**
 * runSend is `hookrelay send`. It returns the exit status: 0 when every response was 2xx, 1 when any
 * was not or a request failed, 2 for bad usage. It prints short messages, never a stack.
 */
export async function runSend(args: string[], io: CliIo): Promise<number> {
  let plan: SendPlan | 'help';
  try {
    plan = await parseSendArgs(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`hookrelay send: ${error.message}\nRun \`hookrelay send --help\` for usage.\n`);
      return 2;
    }
    throw error;
  }
  if (plan === 'help') {
    io.stdout(USAGE);
    return 0;
  }

  // A private agent, destroyed at the end, so keep-alive sockets never hold the process open.
  const agent = new Agent({ keepAliveTimeout: 1_000 });
  let failed = 0;
  let unauthorized = false;
  const totals = { stored: 0, duplicates: 0, known: false };
  try {
    for (let seq = 1; seq <= plan.count; seq++) {
      const record = await sendOne(plan, seq, agent);
      if (!record.ok) failed++;
      if (record.status === 401) unauthorized = true;
      if (record.stored !== undefined && record.duplicates !== undefined) {
        totals.stored += record.stored;
        totals.duplicates += record.duplicates;
        totals.known = true;
      }
      io.stdout(plan.json ? `${JSON.stringify(record)}\n` : `${formatRecord(record, plan.count)}\n`);
    }
  } finally {
    await agent.destroy();
  }
  if (!plan.json && plan.count > 1) {
    const items = totals.known ? `; ${totals.stored} items stored, ${totals.duplicates} duplicates` : '';
    io.stdout(`${plan.count} sent: ${plan.count - failed} ok, ${failed} failed${items}\n`);
  }
  if (unauthorized) {
    io.stderr(
      `hookrelay send: 401 Unauthorized: the relay probably uses another secret than ${plan.secretFrom}; pass it with --secret, or set TRACKPILOTS_WEBHOOK_SECRET\n`,
    );
  }
  return failed === 0 ? 0 : 1;
}

async function sendOne(plan: SendPlan, seq: number, agent: Agent): Promise<SendRecord> {
  let bytes: Buffer;
  let event: string;
  let items: number;
  if (plan.file) {
    ({ bytes, event, items } = plan.file);
  } else {
    const payload = sampleEvent(plan.kind, { simulation: plan.simulation, userId: plan.userId });
    bytes = Buffer.from(JSON.stringify(payload));
    event = payload.event;
    items = Array.isArray(payload.data) ? payload.data.length : 1;
  }
  // Signed just before sending, so a long --count run never drifts outside the relay's tolerance.
  const headers = trackpilotsHeaders(bytes, plan.secret, { unit: plan.unit });
  const base = { seq, event, items, requestBytes: bytes.length };
  const started = performance.now();
  try {
    const response = await fetch(plan.url, {
      method: 'POST',
      headers: { ...headers, 'user-agent': 'hookrelay-send' },
      body: bytes,
      dispatcher: agent,
      signal: AbortSignal.timeout(plan.timeoutMs),
    });
    const text = await response.text();
    const latencyMs = round(performance.now() - started);
    const ok = response.status >= 200 && response.status < 300;
    if (!ok) return { ...base, status: response.status, ok, latencyMs, body: text };
    return { ...base, status: response.status, ok, latencyMs, ...storedCounts(text) };
  } catch (error) {
    const latencyMs = round(performance.now() - started);
    return { ...base, status: null, ok: false, latencyMs, error: describeFetchError(error, plan) };
  }
}

function formatRecord(record: SendRecord, count: number): string {
  const width = String(count).length;
  const seq = `#${String(record.seq).padStart(width, ' ')}`;
  const what = `${record.event}, ${record.items} item${record.items === 1 ? '' : 's'}, ${formatBytes(record.requestBytes)}`;
  const latency = `${record.latencyMs.toFixed(1)} ms`;
  if (record.status === null) return `${seq} failed  ${latency}  ${what}  error: ${record.error}`;
  const status = `${record.status} ${STATUS_CODES[record.status] ?? ''}`.trimEnd();
  if (record.ok) {
    if (record.stored === undefined) return `${seq} ${status}  ${latency}  ${what}`;
    const dup =
      record.duplicates === 0
        ? ''
        : `, ${record.duplicates} duplicate${record.duplicates === 1 ? '' : 's'} (already received)`;
    return `${seq} ${status}  ${latency}  ${what}  stored ${record.stored}${dup}`;
  }
  return `${seq} ${status}  ${latency}  ${what}  response: ${oneLine(record.body ?? '')}`;
}

async function parseSendArgs(args: string[], io: CliIo): Promise<SendPlan | 'help'> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(args);
  } catch (error) {
    // parseArgs explains unknown flags and missing values well; only its message is shown.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 1)
    throw new UsageError(`expected at most one JSON file, got ${positionals.length}`);

  const url = values.url
    ? parseUrl(values.url, '')
    : parseUrl(
        `http://127.0.0.1:${io.env.PORT || '3000'}/webhooks/trackpilots`,
        ' (built from PORT; pass --url)',
      );
  if (values.secret === '') throw new UsageError('--secret must not be empty');
  const secret = values.secret ?? (io.env.TRACKPILOTS_WEBHOOK_SECRET || DEFAULT_DEV_SECRET);
  const secretFrom: SendPlan['secretFrom'] =
    values.secret !== undefined
      ? 'the --secret given'
      : io.env.TRACKPILOTS_WEBHOOK_SECRET
        ? 'TRACKPILOTS_WEBHOOK_SECRET'
        : 'the built-in development secret';

  const eventName = values.event ?? 'app';
  const kind = resolveSampleKind(eventName);
  if (!kind) {
    const fullNames = Object.values(TRACKPILOTS_EVENTS).join(', ');
    throw new UsageError(
      `unknown --event "${eventName}": use ${SAMPLE_KINDS.join(', ')} or one of ${fullNames} (to send another event type, put it in a JSON file)`,
    );
  }

  const unit = values['timestamp-unit'] ?? 'ms';
  if (unit !== 'ms' && unit !== 's') throw new UsageError(`--timestamp-unit must be ms or s, got "${unit}"`);

  const count = parseInteger('--count', values.count ?? '1', 1, MAX_COUNT);
  const timeoutMs = parseInteger(
    '--timeout-ms',
    values['timeout-ms'] ?? String(DEFAULT_SEND_TIMEOUT_MS),
    1,
    600_000,
  );

  const fileArg = positionals[0];
  let file: FilePayload | undefined;
  if (fileArg !== undefined) {
    // These flags shape generated samples; silently ignoring them with a file would mislead.
    const sampleOnly = (['event', 'simulation', 'user'] as const).filter(
      (flag) => values[flag] !== undefined,
    );
    if (sampleOnly.length > 0) {
      throw new UsageError(
        `${sampleOnly.map((flag) => `--${flag}`).join(', ')} only applies to generated samples; a file is sent exactly as it is`,
      );
    }
    file = await readPayloadFile(fileArg, io.cwd);
  }

  return {
    url,
    secret,
    secretFrom,
    kind,
    file,
    count,
    simulation: values.simulation ?? false,
    userId: values.user,
    unit,
    timeoutMs,
    json: values.json ?? false,
  };
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      event: { type: 'string' },
      count: { type: 'string' },
      simulation: { type: 'boolean' },
      user: { type: 'string' },
      'timestamp-unit': { type: 'string' },
      'timeout-ms': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function parseUrl(text: string, hint: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`not a valid URL: "${text}"${hint}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`the URL must be http or https, got "${url.protocol}"`);
  }
  return url;
}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

async function readPayloadFile(name: string, cwd: string): Promise<FilePayload> {
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(cwd, name));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (code ?? 'unreadable');
    throw new UsageError(`cannot read ${name}: ${reason}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new UsageError(
      `${name} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const envelope = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const event = typeof envelope.event === 'string' ? envelope.event : '(no event field)';
  const items = Array.isArray(envelope.data) ? envelope.data.length : envelope.data === undefined ? 0 : 1;
  return { name, bytes, event, items };
}

function describeFetchError(error: unknown, plan: SendPlan): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no response within ${plan.timeoutMs} ms`;
  }
  // undici's fetch wraps the socket error as `cause` of a generic "fetch failed".
  const cause = error instanceof Error ? error.cause : undefined;
  const code =
    typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
  if (code === 'ECONNREFUSED')
    return `connection refused by ${plan.url.host} (is \`hookrelay serve\` running?)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve host ${plan.url.hostname}`;
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `connection reset by ${plan.url.host}`;
  if (cause instanceof Error) return code ? `${cause.message} (${code})` : cause.message;
  return error instanceof Error ? error.message : String(error);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(empty body)';
  return flat.length > MAX_BODY_ECHO_CHARS ? `${flat.slice(0, MAX_BODY_ECHO_CHARS)}…` : flat;
}

function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
