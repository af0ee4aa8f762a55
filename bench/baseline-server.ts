import { createServer } from 'node:http';

/*
 * The baseline: the least a Node HTTP server can do for a webhook, reading the whole body and
 * answering 200 `{}`. Any route answers, including GET /readyz for the harness. The bench reports the
 * relay's req/s as a ratio of this server's, measured in the same run on the same machine.
 */

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const server = createServer((req, res) => {
  // Hold the whole body in memory as any webhook handler must before it can verify a signature.
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    Buffer.concat(chunks);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
  });
});
// Same keep-alive window as Fastify's default, so neither server closes connections mid-run.
server.keepAliveTimeout = 72_000;
server.listen(port, host);

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
