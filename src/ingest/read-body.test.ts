import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createByteBudget } from './body-budget.js';
import { readBody } from './read-body.js';

type Outcome = { body: Buffer } | { code: string | undefined; status: number | undefined };

/** A real server whose handler reads each body with readBody and reports what came of it. */
describe('readBody', () => {
  const budget = createByteBudget(1_000);
  const outcomes: Outcome[] = [];
  let waiting: Array<(outcome: Outcome) => void> = [];
  let server: Server;
  let port: number;

  const nextOutcome = () =>
    new Promise<Outcome>((resolve) => {
      const ready = outcomes.shift();
      if (ready) resolve(ready);
      else waiting.push(resolve);
    });

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      readBody(req, { maxBytes: 600, budget }, (error, body) => {
        const outcome: Outcome =
          error === null
            ? { body: body ?? Buffer.alloc(0) }
            : {
                code: (error as { code?: string }).code,
                status: (error as { statusCode?: number }).statusCode,
              };
        const waiter = waiting.shift();
        if (waiter) waiter(outcome);
        else outcomes.push(outcome);
        res.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    waiting = [];
  });

  const send = (chunks: Buffer[], headers: Record<string, string | number> = {}) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers });
    req.on('error', () => {});
    req.on('response', (res) => res.resume());
    for (const chunk of chunks) req.write(chunk);
    return req;
  };

  it('reads a body in several chunks into one buffer and gives its bytes back', async () => {
    const req = send([Buffer.from('abc'), Buffer.from('def')], { 'content-length': 6 });
    req.end();
    expect(await nextOutcome()).toEqual({ body: Buffer.from('abcdef') });
    expect(budget.inUse()).toBe(0);
  });

  it('stops at the size limit with a 413, chunked or not', async () => {
    send([Buffer.alloc(700)]).end();
    expect(await nextOutcome()).toEqual({ code: 'HR_ERR_INGEST_TOO_LARGE', status: 413 });
    expect(budget.inUse()).toBe(0);
  });

  it('refuses with a 503 when the shared budget would be passed, and frees it when a reader goes away', async () => {
    // 500 bytes held by a body that never completes ...
    const holding = send([Buffer.alloc(500)], { 'content-length': 600 });
    await waitUntil(() => budget.inUse() === 500);
    // ... leave no room for another 550.
    send([Buffer.alloc(550)], { 'content-length': 550 }).end();
    expect(await nextOutcome()).toEqual({ code: 'HR_ERR_INGEST_BUSY', status: 503 });
    holding.destroy();
    expect(await nextOutcome()).toEqual({ code: 'HR_ERR_INGEST_BAD_REQUEST', status: 400 });
    expect(budget.inUse()).toBe(0);
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}
