import { createServer, type RequestListener, type Server, type ServerOptions, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Metrics } from '../lib/metrics.js';

/**
 * HttpLimits bound what one client can hold on the public listener (issue 15 §4); times in ms. They are
 * the `server:` section's keys, and a reload applies them to the running listener.
 */
export interface HttpLimits {
  /** Headers not complete within this: 408 and closed (also a connection that sends nothing). */
  headersTimeout: number;
  /** Headers and body not complete within this: 408 and closed. */
  requestTimeout: number;
  keepAliveTimeout: number;
  /** Open connections at most; the next is closed at once (and counted). */
  maxConnections: number;
}

/** TlsCredentials are the PEM certificate chain and private key the listener serves HTTPS with. */
export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
}

// How often Node checks for requests past their timeouts. Its default, 30 s, would let a 30 s timeout run
// to a minute; walking the list of requests in progress once a second is cheap.
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** HttpServerOptions say how to build the listener: its limits, HTTPS or not, and where to count. */
export interface HttpServerOptions {
  limits: HttpLimits;
  tls?: TlsCredentials;
  metrics: Metrics;
}

/**
 * createHttpServer builds the public listener (HTTP, or HTTPS when `tls` is given) with its timeouts and
 * connection cap set, for Fastify's `serverFactory`. A connection over the cap is closed by Node before a
 * byte is read, so descriptors stay bounded whatever clients do.
 */
export function createHttpServer(handler: RequestListener, options: HttpServerOptions): Server | HttpsServer {
  const { limits, tls, metrics } = options;
  const serverOptions: ServerOptions = {
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
  const server =
    tls === undefined
      ? createServer(serverOptions, handler)
      : createHttpsServer({ ...serverOptions, cert: tls.cert, key: tls.key }, handler);
  applyHttpLimits(server, limits);
  server.on('drop', () => metrics.httpConnectionsDropped.inc());
  return server;
}

/** applyHttpLimits sets the limits on a running listener; requests and connections already open keep going. */
export function applyHttpLimits(server: Server | HttpsServer, limits: HttpLimits): void {
  server.headersTimeout = limits.headersTimeout;
  server.requestTimeout = limits.requestTimeout;
  server.keepAliveTimeout = limits.keepAliveTimeout;
  server.maxConnections = limits.maxConnections;
}

const ANSWERS = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'timeout', error: 'request timeout' },
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'headers_too_large', error: 'headers too large' },
} as const;
const MALFORMED = { status: 400, reason: 'malformed', error: 'bad request' } as const;

/** A socket's response in progress; Node keeps it there, and its own error path reads it the same way. */
interface SocketWithResponse extends Socket {
  _httpMessage?: { headersSent?: boolean } | null;
}

/**
 * clientErrorHandler answers what Node refuses before a route sees it — a request past its timeout (408),
 * headers too large (431), bytes that are not HTTP (400) — in the shape of every other refusal, counts
 * it, and closes the connection. Nothing is written when a response has already begun on it.
 */
export function clientErrorHandler(
  metrics: Metrics,
): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const answer =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'HPE_HEADER_OVERFLOW'
        ? ANSWERS[error.code]
        : MALFORMED;
    metrics.httpClientErrors.inc({ reason: answer.reason });
    if (socket.writable && !(socket as SocketWithResponse)._httpMessage?.headersSent) {
      const body = JSON.stringify({ error: answer.error });
      socket.write(
        `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nConnection: close\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    // After the answer is flushed, not before: destroying at once could drop it.
    socket.destroySoon();
  };
}
