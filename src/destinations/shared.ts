/**
 * Helpers shared by the adapters: failure values, Retry-After parsing, deadlines, HTTP status
 * classification and secret redaction for details. What a rendering shows lives in src/render/.
 */
import { EventEmitter } from 'node:events';
import { HookrelayError } from '../lib/errors.js';
import { findAddressRefused } from '../lib/safe-fetch.js';
import type { FailureOutcome, FailureReason, SendFailure } from './types.js';

/** fail builds a SendFailure (the only way adapters report a failed attempt). */
export function fail(
  outcome: FailureOutcome,
  reason: FailureReason,
  detail: string,
  retryAfterMs?: number,
): SendFailure {
  return retryAfterMs === undefined
    ? { ok: false, outcome, reason, detail }
    : { ok: false, outcome, reason, retryAfterMs, detail };
}

/** Rendered is a destination's rendering of one message, or the dead letter it is when it cannot be made. */
export type Rendered<T> = { ok: true; value: T } | { ok: false; failure: SendFailure };

/**
 * render runs a destination's rendering of one message. A message that cannot be rendered (a RangeError
 * from an item nested deeper than JSON.stringify can go, or any other throw) can never be sent as it is:
 * it is a dead letter at once (`unrenderable`), never a retry that holds the queue behind it. The detail
 * names the error's kind, never the message's text.
 */
export function render<T>(what: string, make: () => T): Rendered<T> {
  try {
    return { ok: true, value: make() };
  } catch (thrown) {
    const why = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : 'unknown error';
    return {
      ok: false,
      failure: fail('dead', 'unrenderable', `${what}: the message cannot be rendered (${why})`),
    };
  }
}

/**
 * parseRetryAfterMs reads a Retry-After value: delta-seconds (decimals accepted, as Discord sends them) or
 * an HTTP-date. Returns undefined when absent or unparseable; never negative.
 * https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
 */
export function parseRetryAfterMs(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  // An HTTP-date always has a weekday and month name; without that Date.parse would read "-5" as a year.
  if (!/[A-Za-z]{3}/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Deadline is the one bound of one attempt, from the first byte to the last (connecting, sending, the
 * answer and its whole body): the caller's signal (the lease) or the destination's `timeout`, whichever
 * ends first, remembering which one did.
 */
export interface Deadline {
  /** The deadline as an AbortSignal, for the SDKs (made on first use: an AbortSignal costs ~10 µs). */
  readonly signal: AbortSignal;
  /**
   * The deadline as an abort emitter (`aborted`, `reason`, an `abort` event), which undici's
   * Dispatcher.request takes as its signal at a hundredth of an AbortSignal's cost.
   */
  readonly emitter: AbortEmitter;
  /** True once either the timeout or the caller ended the attempt. */
  readonly aborted: boolean;
  /** True when the timeout (not the caller) ended the attempt. */
  timedOut(): boolean;
  dispose(): void;
}

/** AbortEmitter is an EventEmitter that fires `abort` once, as undici's `signal` option accepts. */
export class AbortEmitter extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/** createDeadline starts the deadline of one attempt: `callerSignal` or `timeoutMs`, whichever is first. */
export function createDeadline(callerSignal: AbortSignal, timeoutMs: number): Deadline {
  const emitter = new AbortEmitter();
  let controller: AbortController | undefined;
  let timedOut = false;
  const end = (reason: unknown) => {
    emitter.abort(reason);
    controller?.abort(reason);
  };
  // One timer per attempt: Node keeps timers of one duration in one list, so this is O(1) to arm and clear.
  const timer = setTimeout(() => {
    timedOut = true;
    end(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  const onAbort = () => end(callerSignal.reason);
  if (callerSignal.aborted) onAbort();
  else callerSignal.addEventListener('abort', onAbort, { once: true });
  return {
    get signal() {
      if (controller === undefined) {
        controller = new AbortController();
        if (emitter.aborted) controller.abort(emitter.reason);
      }
      return controller.signal;
    },
    emitter,
    get aborted() {
      return emitter.aborted;
    },
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      callerSignal.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * cutNote is the note of a delivery whose 2xx answer came but whose body did not end before the deadline:
 * the status is the answer on a status-only protocol (webhooks, Slack incoming webhooks), so it counts
 * as delivered, and the connection was closed.
 */
export function cutNote(
  what: string,
  status: number,
  deadline: Pick<Deadline, 'timedOut'>,
  timeoutMs: number,
): string {
  const when = deadline.timedOut() ? `within ${timeoutMs} ms` : 'before the attempt was aborted';
  return `${what}: HTTP ${status}, but the body did not end ${when}; the connection was closed`;
}

/**
 * classifyThrown turns an exception from a fetch-like call into a failure: a refused address is `broken`,
 * a deadline is `retry/timeout`, anything else on the wire is `retry/network`. `what` names the peer
 * (host only) for the detail.
 */
export function classifyThrown(
  thrown: unknown,
  deadline: Pick<Deadline, 'aborted' | 'timedOut'>,
  what: string,
): SendFailure {
  const refused = findAddressRefused(thrown);
  if (refused) return fail('broken', 'refused', refused.message);
  if (isInvalidUrl(thrown))
    return fail('broken', 'clientError', `${what}: invalid URL (${(thrown as Error).message})`);
  if (deadline.timedOut() || isTransportTimeout(thrown))
    return fail('retry', 'timeout', `${what}: no response in time`);
  if (deadline.aborted) return fail('retry', 'timeout', `${what}: attempt aborted by the caller`);
  return fail('retry', 'network', `${what}: ${describeNetworkError(thrown)}`);
}

/** The codes undici gives its own connect, headers and body timeouts (the Agent's options). */
const TRANSPORT_TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** isTransportTimeout tells whether undici's connection pool gave up waiting (anywhere in the cause chain). */
function isTransportTimeout(thrown: unknown): boolean {
  let current: unknown = thrown;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string' && TRANSPORT_TIMEOUT_CODES.has(code)) return true;
    current = current.cause;
  }
  return false;
}

/** isInvalidUrl tells whether a fetch failed before sending because the configured URL is unusable. */
function isInvalidUrl(thrown: unknown): boolean {
  if (thrown instanceof HookrelayError) return thrown.code === 'HR_ERR_FETCH_URL_INVALID';
  return thrown instanceof TypeError && (thrown as TypeError & { code?: unknown }).code === 'ERR_INVALID_URL';
}

/** describeNetworkError names the innermost cause of a fetch failure (`ECONNREFUSED`, `UND_ERR_SOCKET`, …). */
export function describeNetworkError(thrown: unknown): string {
  const parts: string[] = [];
  let current: unknown = thrown;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${code}` : current.message);
    current = current.cause;
  }
  const last = parts.filter((part) => part !== 'fetch failed').at(-1);
  return last ?? 'network error';
}

/**
 * classifyHttpStatus is the shared policy for plain HTTP peers (outbound webhooks, Slack incoming
 * webhooks): 408/425/429/5xx retry (with the peer's Retry-After), 3xx are redirects that are never
 * followed and mean the URL is wrong (broken), 401/403 broken (credentials), 404/410 broken (gone),
 * 400/413/422 dead (this payload), any other 4xx dead. Returns undefined for 2xx.
 */
export function classifyHttpStatus(
  status: number,
  retryAfterMs: number | undefined,
  what: string,
): SendFailure | undefined {
  if (status >= 200 && status < 300) return undefined;
  const detail = `${what}: HTTP ${status}`;
  if (status === 429) return fail('retry', 'rateLimited', detail, retryAfterMs);
  if (status === 408) return fail('retry', 'timeout', detail, retryAfterMs);
  if (status === 425) return fail('retry', 'clientError', detail, retryAfterMs);
  if (status >= 500) return fail('retry', 'serverError', detail, retryAfterMs);
  if (status >= 300 && status < 400) {
    return fail(
      'broken',
      'clientError',
      `${detail} (redirect not followed; point the destination at the final URL)`,
    );
  }
  if (status === 401 || status === 403) return fail('broken', 'authError', detail);
  if (status === 404 || status === 410) return fail('broken', 'notFound', detail);
  if (status === 400 || status === 413 || status === 422) return fail('dead', 'payloadRejected', detail);
  if (status >= 400 && status < 500) return fail('dead', 'clientError', detail);
  return fail('retry', 'serverError', `${what}: unexpected HTTP ${status}`);
}

/** Secrets shorter than this are not redacted (replacing "a" everywhere would make details unreadable). */
const MIN_REDACTED_LENGTH = 6;

/**
 * createRedactor returns a function that replaces every occurrence of the given secrets (and their
 * URL-encoded forms) with `<secret>`. Details are built from our own words; this is the second line of
 * defence for text that came from a library or a peer.
 */
export function createRedactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret === undefined || secret.length < MIN_REDACTED_LENGTH) continue;
    needles.add(secret);
    needles.add(encodeURIComponent(secret));
  }
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const needle of ordered) out = out.split(needle).join('<secret>');
    return out;
  };
}

/** urlSecrets lists the parts of a credential-bearing URL that must never appear in a detail. */
export function urlSecrets(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const out = [raw];
  try {
    const url = new URL(raw);
    out.push(url.pathname + url.search, url.search.slice(1), url.password, url.username);
    for (const segment of url.pathname.split('/')) out.push(segment.length >= 16 ? segment : '');
  } catch {
    // Not a URL: the raw string is all there is to hide.
  }
  return out.filter((part) => part.length > 0);
}

/** safeHost returns "host[:port]" of a URL for details, or a placeholder when it does not parse. */
export function safeHost(raw: string): string {
  try {
    return new URL(raw).host;
  } catch {
    return '<invalid URL>';
  }
}

/** Longest peer response excerpt put into a detail. */
const MAX_BODY_EXCERPT_CHARS = 200;

/**
 * excerptOf turns the first bytes of a response body (SafeResponse.bodyPrefix, at most a few KiB) into a
 * one-line excerpt for a detail.
 */
export function excerptOf(bytes: Buffer): string {
  if (bytes.byteLength === 0) return '';
  const text = bytes.toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > MAX_BODY_EXCERPT_CHARS ? `${text.slice(0, MAX_BODY_EXCERPT_CHARS)}…` : text;
}
