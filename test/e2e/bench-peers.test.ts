import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ALERTMANAGER, findPeer, missingMessage, WEBHOOK, WRK } from '../../bench/peers/binaries.js';
import { compareIngest, PEER_INGEST_SCENARIOS } from '../../bench/peers/ingest.js';
import { startWebhook } from '../../bench/peers/processes.js';
import { BODY_SIGNATURE_HEADER, runWrk, writePool } from '../../bench/peers/wrk.js';
import type { ServerHandle } from '../../bench/servers.js';
import { createVerifier } from '../../src/ingest/verify/index.js';

/*
 * The peer comparison's load is only fair if both servers get the same valid requests: this drives the
 * real wrk with the real pool and Lua script at a receiver that checks both signatures, and the real
 * adnanh/webhook with the bench's hooks.json. Skipped where the Debian packages are not installed.
 */

const SECRET = 'bench-peers-secret';
const wrk = findPeer(WRK);
const webhook = findPeer(WEBHOOK);

let dir: string;
const started: ServerHandle[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookrelay-bench-peers-'));
});
afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe('bench peers', () => {
  test('a missing peer binary is named with the Debian package that installs it', () => {
    expect(findPeer(ALERTMANAGER, '/nonexistent')).toBeUndefined();
    expect(missingMessage(ALERTMANAGER, 'the alerts comparison')).toContain(
      'sudo apt-get install -y prometheus-alertmanager',
    );
  });

  test.skipIf(wrk === undefined)(
    'wrk sends the pooled requests, each valid for hookrelay and for adnanh/webhook',
    async () => {
      const verify = createVerifier({ type: 'trackpilots', secrets: [SECRET], toleranceMs: 300_000 });
      const seen = new Set<string>();
      let bad = 0;
      let duplicates = 0;
      const server: Server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          const ours = verify(req.headers, body, Date.now());
          const theirs = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
          const sent = Buffer.from(String(req.headers[BODY_SIGNATURE_HEADER] ?? ''));
          const ok = ours.ok && sent.length === theirs.length && timingSafeEqual(sent, theirs);
          if (!ok) bad++;
          const key = body.toString('utf8');
          if (seen.has(key)) duplicates++;
          seen.add(key);
          res.writeHead(ok ? 200 : 401).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const address = server.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        const poolFile = join(dir, 'pool.txt');
        await writePool(poolFile, 2_000, { kind: 'activity', secret: SECRET });
        const result = await runWrk({
          wrk: wrk as string,
          url: new URL(`http://127.0.0.1:${port}/webhooks/bench`),
          poolFile,
          workDir: dir,
          connections: 4,
          durationSec: 1,
        });
        expect(result.requests).toBeGreaterThan(0);
        expect(result.non2xx).toBe(0);
        expect(result.errors).toBe(0);
        expect(bad).toBe(0);
        // Repeats only once a thread ran through its share of the pool, and then the report says so.
        if (result.wraps === 0) expect(duplicates).toBe(0);
        else expect(duplicates).toBeGreaterThan(0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );

  test.skipIf(wrk === undefined || webhook === undefined)(
    "adnanh/webhook with the bench's hooks.json accepts the pooled requests and refuses a wrong signature",
    async () => {
      const eventType = 'desktop.activity_tracking.captured';
      const peer = await startWebhook(webhook as string, dir, SECRET, eventType);
      try {
        const poolFile = join(dir, 'pool-webhook.txt');
        await writePool(poolFile, 2_000, { kind: 'activity', secret: SECRET });
        const result = await runWrk({
          wrk: wrk as string,
          url: peer.url,
          poolFile,
          workDir: dir,
          connections: 4,
          durationSec: 1,
        });
        expect(result.requests).toBeGreaterThan(0);
        expect(result.non2xx).toBe(0);
        const body = JSON.stringify({ event: eventType, data: { user: { userId: 'u1' } } });
        const wrong = await fetch(peer.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [BODY_SIGNATURE_HEADER]: `sha256=${'0'.repeat(64)}`,
          },
          body,
        });
        expect(wrong.status).not.toBe(200);
        const right = await fetch(peer.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [BODY_SIGNATURE_HEADER]: `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
          },
          body,
        });
        expect(right.status).toBe(200);
      } finally {
        await peer.server.stop();
      }
    },
  );

  test.skipIf(wrk === undefined || webhook === undefined)(
    'the ingest comparison measures adnanh/webhook, the bare node:http baseline and hookrelay, all answering 2xx',
    async () => {
      const scenario = PEER_INGEST_SCENARIOS.find((s) => s.items === 1);
      if (scenario === undefined) throw new Error('no 1-item peer scenario');
      // Tiny: one round of 1 s after a 1 s warm-up, a small pool; the shape is checked, never the speed.
      const row = await compareIngest(
        { ...scenario, initialPoolRps: 2_000 },
        {
          wrk: wrk as string,
          webhook: webhook as string,
          workDir: dir,
          secret: SECRET,
          connections: 4,
          roundSeconds: 1,
          warmupSeconds: 1,
          rounds: 1,
          log: () => undefined,
          onServer: (server) => started.push(server),
        },
      );
      for (const [name, side] of [
        ['webhook', row.webhook],
        ['baseline', row.baseline],
        ['hookrelay', row.hookrelay],
      ] as const) {
        expect(side.rps, name).toBeGreaterThan(0);
        expect(side.non2xx, name).toBe(0);
        expect(side.errors, name).toBe(0);
        expect(side.roundRps, name).toHaveLength(1);
      }
      expect(row.baseline.command).toContain('baseline-server.js');
      expect(row.ratio).toBeCloseTo(row.hookrelay.rps / row.webhook.rps, 2);
      expect(row.baselineOverWebhook).toBeCloseTo(row.baseline.rps / row.webhook.rps, 2);
      expect(row.hookrelayOverBaseline).toBeCloseTo(row.hookrelay.rps / row.baseline.rps, 2);
    },
    60_000,
  );
});
