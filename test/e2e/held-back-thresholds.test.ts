import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { MAIN, startServer, writeTestFile } from '../helpers/server-process.js';
import { signedTrackpilotsHeaders } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Issue 9 §1, through the real process: a ratio threshold and a sum threshold on the same `if`; one
 * person sends twelve unproductive items timed three hours ago, and nothing after. The sum fires on
 * arrival; the ratio waits for its lateness allowance (the window, 1h), which has long passed, so the
 * evaluator's next tick sends it. `hookrelay test` on the same payload reports the same two alerts.
 */

const run = promisify(execFile);
const SECRET = 'held-back-e2e-secret';
const USER = '0d1f2c3e-4b5a-4c6d-8e7f-901a2b3c4d5e';

const RULES = `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: ["${SECRET}"] }
people:
  - { id: ${USER}, name: Ada Lovelace }
destinations:
  console: { type: log }
rules:
  - name: unproductive-share
    on: desktop.app_tracking.captured
    if: { app.productivityStatus: unproductive }
    threshold: { per: user, window: 1h, ratio: time.durationInSeconds, gte: 0.5 }
    to: [console]
  - name: unproductive-sum
    on: desktop.app_tracking.captured
    if: { app.productivityStatus: unproductive }
    threshold: { per: user, window: 1h, sum: time.durationInSeconds, gte: 200 }
    to: [console]
`;

/** twelveUnproductiveItems is one Trackpilots app batch: a minute each, timed 3h before `now`. */
function twelveUnproductiveItems(now: number): unknown {
  const start = now - 3 * 3_600_000;
  return {
    event: 'desktop.app_tracking.captured',
    version: 'v1',
    agent: 'desktop-agent',
    timestamp: now,
    data: Array.from({ length: 12 }, (_, i) => ({
      organisation: { organisationId: 'org-1' },
      team: { teamId: 'team-1' },
      user: { userId: USER },
      tracking: {
        trackingId: `held-back-${now}-${i}`,
        app: { name: 'Steam', type: 'application', productivityStatus: 'unproductive' },
        time: {
          startDate: new Date(start + i * 60_000).toISOString(),
          endDate: new Date(start + (i + 1) * 60_000).toISOString(),
          durationInSeconds: 60,
        },
        trackingMode: 'online',
        operatingSystem: 'macos',
      },
    })),
  };
}

interface LoggedAlert {
  id: string;
  rule: string;
  key: string;
}

describe('thresholds held back by lateness, in the running relay', () => {
  test('the ratio is sent once its allowance has passed, though the person sends nothing more; hookrelay test agrees', async () => {
    const server = await startServer({ rulesYaml: RULES });
    try {
      const payload = twelveUnproductiveItems(Date.now());
      const body = JSON.stringify(payload);
      const response = await fetch(`${server.url}/webhooks/trackpilots`, {
        method: 'POST',
        headers: signedTrackpilotsHeaders(body, SECRET),
        body,
      });
      expect(response.status).toBe(200);
      const alerts = () =>
        server.lines
          .filter((line) => line.startsWith('{"id"'))
          .map((line) => JSON.parse(line) as LoggedAlert);
      await waitFor('both alerts on stdout', () => alerts().length >= 2, {
        timeoutMs: 30_000,
        explain: () => server.lines.slice(-10).join('\n'),
      });
      const served = alerts()
        .map((alert) => `${alert.rule} ${alert.id}`)
        .sort();
      expect(served.map((line) => line.split(' ')[0])).toEqual(['unproductive-share', 'unproductive-sum']);

      // The same payload through `hookrelay test --event`: the same alerts, ids included.
      const file = writeTestFile(server.dir, 'payload.json', body);
      const tested = await run(process.execPath, [MAIN, 'test', 'rules.yaml', '--event', file], {
        cwd: server.dir,
        env: { PATH: process.env.PATH ?? '' },
      });
      const previewed = tested.stdout
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.startsWith('{"id"'))
        .map((line) => {
          const alert = JSON.parse(line) as LoggedAlert;
          return `${alert.rule} ${alert.id}`;
        })
        .sort();
      expect(previewed).toEqual(served);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
