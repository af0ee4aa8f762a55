import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

/*
 * A stand-in for `hookrelay serve` while the real server is not built: it does the stateless part of
 * ingest (HMAC over the raw bytes, JSON.parse) and stores nothing. Results against it say nothing about
 * hookrelay; the bench labels them "stub". It keeps the harness runnable end to end meanwhile.
 */

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const secret = process.env.BENCH_SECRET ?? 'bench-secret';

function verified(
  timestamp: string | string[] | undefined,
  signature: string | string[] | undefined,
  body: Buffer,
) {
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method === 'GET') {
      res.writeHead(req.url === '/readyz' || req.url === '/healthz' ? 200 : 404).end();
      return;
    }
    const body = Buffer.concat(chunks);
    if (!verified(req.headers['x-webhook-timestamp'], req.headers['x-webhook-signature'], body)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid JSON"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, host);

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
