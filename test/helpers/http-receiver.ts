import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** RecordedRequest is one request as the receiver saw it, raw body included. */
export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  receivedAt: number;
}

/** ScriptedResponse is one answer; objects are sent as JSON. */
export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer | Record<string, unknown>;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
  /** Answer only once this settles (a peer that is slow for as long as the test wants). */
  hold?: Promise<unknown>;
  /**
   * Send the status and headers at once, then the body one `chunk` every `everyMs`, without end, until the
   * client hangs up (a peer that trickles its body).
   */
  trickle?: { chunk: string; everyMs: number };
}

/** HttpReceiver is a plain HTTP server on 127.0.0.1 that records requests and answers from a script. */
export interface HttpReceiver {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Queue answers for the next requests, in order; when the queue is empty the default answer is used. */
  script(...responses: ScriptedResponse[]): void;
  /** Resolves once at least `count` requests have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Clients that closed the connection before the answer had ended (e.g. gave up on a trickled body). */
  readonly hangUps: number;
  /** Resolves once at least `count` clients have hung up before their answer ended. */
  waitForHangUps(count: number, timeoutMs?: number): Promise<void>;
  /** Forget recorded requests and unused scripted answers. */
  reset(): void;
  close(): Promise<void>;
}

/** HttpReceiverOptions configure startHttpReceiver. */
export interface HttpReceiverOptions {
  /** Listen on this port (e.g. to bring a closed receiver back at the same URL); default 0 (ephemeral). */
  port?: number;
}

/** startHttpReceiver starts an HttpReceiver on 127.0.0.1 (default answer: 200 `ok`, default port: ephemeral). */
export async function startHttpReceiver(
  defaultResponse: ScriptedResponse = { status: 200, body: 'ok' },
  options: HttpReceiverOptions = {},
): Promise<HttpReceiver> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedResponse[] = [];
  const responder = createResponder();
  const waiters = new Set<() => void>();
  let hangUps = 0;
  const waitUntil = (what: () => string, done: () => boolean, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(what()));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const server = http.createServer((req, res) => {
    res.on('close', () => {
      if (res.writableFinished) return;
      hangUps += 1;
      for (const wake of waiters) wake();
    });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        receivedAt: Date.now(),
      });
      for (const wake of waiters) wake();
      responder.respond(res, queue.shift() ?? defaultResponse);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    script: (...responses) => queue.push(...responses),
    waitForRequests: (count, timeoutMs = 5_000) =>
      waitUntil(
        () => `expected ${count} requests, got ${requests.length}`,
        () => requests.length >= count,
        timeoutMs,
      ),
    get hangUps() {
      return hangUps;
    },
    waitForHangUps: (count, timeoutMs = 5_000) =>
      waitUntil(
        () => `expected ${count} clients to hang up, saw ${hangUps}`,
        () => hangUps >= count,
        timeoutMs,
      ),
    reset: () => {
      requests.length = 0;
      queue.length = 0;
    },
    close: async () => {
      responder.dropPending();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Responder answers requests with scripted answers, each after its `delayMs` when it has one (a slow
 * peer); `dropPending` forgets the answers still waiting, for a server that is closing. Shared with the
 * Slack and Discord fakes.
 */
export interface Responder {
  respond(res: http.ServerResponse, answer: ScriptedResponse): void;
  dropPending(): void;
}

export function createResponder(): Responder {
  const timers = new Set<NodeJS.Timeout>();
  let dropped = false;
  const write = (res: http.ServerResponse, answer: ScriptedResponse) => {
    if (answer.trickle) trickleResponse(res, answer, answer.trickle, timers);
    else writeResponse(res, answer);
  };
  return {
    respond(res, answer) {
      if (answer.hold) {
        const { hold, ...rest } = answer;
        void hold.finally(() => {
          if (!dropped) this.respond(res, rest);
        });
        return;
      }
      if (!answer.delayMs) {
        write(res, answer);
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        write(res, answer);
      }, answer.delayMs);
      timers.add(timer);
    },
    dropPending() {
      dropped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** trickleResponse sends the head at once and then one chunk per interval until the client hangs up. */
function trickleResponse(
  res: http.ServerResponse,
  answer: ScriptedResponse,
  trickle: { chunk: string; everyMs: number },
  timers: Set<NodeJS.Timeout>,
): void {
  if (res.destroyed) return;
  res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
  res.flushHeaders();
  const timer = setInterval(() => {
    if (res.destroyed) {
      clearInterval(timer);
      timers.delete(timer);
      return;
    }
    res.write(trickle.chunk);
  }, trickle.everyMs);
  timers.add(timer);
  res.on('close', () => {
    clearInterval(timer);
    timers.delete(timer);
  });
}

/** writeResponse sends a scripted answer (objects as JSON). Shared with the Slack and Discord fakes. */
export function writeResponse(res: http.ServerResponse, answer: ScriptedResponse): void {
  if (res.destroyed) return;
  const isObject =
    answer.body !== undefined && typeof answer.body === 'object' && !Buffer.isBuffer(answer.body);
  const payload = isObject ? JSON.stringify(answer.body) : (answer.body ?? '');
  const headers: Record<string, string> = {
    'content-type': isObject ? 'application/json' : 'text/plain',
    ...answer.headers,
  };
  res.writeHead(answer.status ?? 200, headers);
  res.end(payload);
}

/** TRICKLE is a body that never ends, one byte every 50 ms: a peer that answers and then trickles. */
export const TRICKLE = { chunk: ' ', everyMs: 50 } as const;

/**
 * settles resolves with what `attempt` resolves to, or rejects saying `what` when it is still open after
 * `boundMs`: for attempts that a per-attempt timeout far below the bound must end (the bound is only the
 * failure path, never a measurement).
 */
export function settles<T>(attempt: Promise<T>, what: string, boundMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still open after ${boundMs} ms`)), boundMs);
  });
  return Promise.race([attempt, bound]).finally(() => clearTimeout(timer));
}
