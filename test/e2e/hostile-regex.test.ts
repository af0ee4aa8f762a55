// Issue 15 §1: a rule's regex must never let one payload hang the relay.
import { describe, expect, test } from 'vitest';
import { sampleAppEvent } from '../../src/cli/send-samples.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { signedTrackpilotsHeaders } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'hostile-regex-secret';

// The pattern backtracks catastrophically in a backtracking engine: 27 characters already took 4.7 s.
const RULES = `
version: 1
sources:
  trackpilots:
    type: trackpilots
    secrets: ["${SECRET}"]
destinations:
  console: { type: log }
rules:
  - name: all-a
    on: desktop.app_tracking.captured
    if: { app.name: { regex: "(a+)+$" } }
    per: user
    to: [console]
`;

function appEvent(userId: string, appName: string) {
  const payload = sampleAppEvent({ userId, items: 1 });
  const [item] = payload.data;
  if (item === undefined) throw new Error('the sample has no item');
  item.tracking.app.name = appName;
  return payload;
}

async function post(server: ServerProcess, payload: unknown): Promise<number> {
  const body = JSON.stringify(payload);
  const response = await fetch(`${server.url}/webhooks/trackpilots`, {
    method: 'POST',
    headers: signedTrackpilotsHeaders(body, SECRET),
    body,
    signal: AbortSignal.timeout(20_000),
  });
  return response.status;
}

/** healthz answers true when the server responds at all within a generous bound (a hung loop never does). */
async function healthz(server: ServerProcess): Promise<boolean> {
  return fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(20_000) }).then(
    (r) => r.ok,
    () => false,
  );
}

/** stopOrKill stops a server, and kills it when it does not stop (a spinning loop ignores SIGTERM). */
async function stopOrKill(server: ServerProcess | undefined): Promise<void> {
  if (server === undefined) return;
  const stopped = await Promise.race([
    server.stop().then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000)),
  ]);
  if (!stopped) await server.stop('SIGKILL');
}

function alertKeys(server: ServerProcess): string[] {
  return server.lines
    .filter((line) => line.startsWith('{"id"'))
    .map((line) => (JSON.parse(line) as { key: string }).key);
}

describe('a hostile payload against a backtracking-prone regex', () => {
  test('the relay keeps answering, still alerts on a genuine event, and restarts', async () => {
    const server = await startServer({ rulesYaml: RULES });
    let restarted: ServerProcess | undefined;
    try {
      expect(await post(server, appEvent('hostile', `${'a'.repeat(5_000)}!`))).toBe(200);
      expect(await healthz(server)).toBe(true);
      expect(await post(server, appEvent('genuine', 'aaaa'))).toBe(200);
      await waitFor('the genuine alert', () => alertKeys(server).includes('genuine'), {
        timeoutMs: 15_000,
        explain: () => server.lines.join('\n'),
      });
      expect(alertKeys(server)).not.toContain('hostile');
      expect(await healthz(server)).toBe(true);

      // The poisoned event stays in the log; a restart evaluates from the cursor and must still listen.
      expect(await server.stop()).toBe(0);
      restarted = await startServer({ rulesYaml: RULES, dir: server.dir });
      expect(await healthz(restarted)).toBe(true);
    } finally {
      await stopOrKill(server);
      await stopOrKill(restarted);
    }
  }, 90_000);
});
