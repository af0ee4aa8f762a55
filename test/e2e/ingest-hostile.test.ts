import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent, sampleAppEvent, sampleScreenshotEvent } from '../../src/cli/send-samples.js';
import { logEverythingRules } from '../helpers/rules-yaml.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';
import { hookrelay, waitFor } from '../helpers/wait.js';

/*
 * Issue 15 §2 and §3: one hostile but correctly signed request must be refused or tamed on its own, and
 * never cost the innocent requests that share its group commit.
 */

const SECRET = 'e2e-hostile-secret-0123456789';

const RULES = logEverythingRules();

/** HOSTILE_TIMES are the item times the issue found: each made SQLite refuse the whole group's commit. */
const HOSTILE_TIMES: Array<{ name: string; body: (user: string) => unknown }> = [
  {
    name: 'tracking.time.startDate',
    body: (user) => withApp(user, (time) => ({ ...time, startDate: 1e19 })),
  },
  {
    name: 'tracking.time.endDate (no startDate)',
    body: (user) => withApp(user, ({ startDate: _s, ...time }) => ({ ...time, endDate: 1e19 })),
  },
  {
    name: 'screenshot.time.capturedAt',
    body: (user) => {
      const event = sampleScreenshotEvent({ userId: user });
      const [item] = event.data;
      if (item) item.screenshot.time = { capturedAt: 1e19 } as unknown as typeof item.screenshot.time;
      return event;
    },
  },
  {
    name: 'workTime',
    body: (user) => {
      const event = sampleActivityEvent({ userId: user });
      return { ...event, data: { ...event.data, workTime: 1e19 } };
    },
  },
  {
    name: 'envelope timestamp',
    body: (user) => ({ ...sampleActivityEvent({ userId: user }), timestamp: 1e19 }),
  },
];

function withApp(user: string, time: (time: Record<string, unknown>) => Record<string, unknown>): unknown {
  const event = sampleAppEvent({ userId: user, items: 1 });
  const [item] = event.data;
  if (item) item.tracking.time = time(item.tracking.time) as unknown as typeof item.tracking.time;
  return event;
}

describe('hookrelay serve: a hostile signed request fails alone', () => {
  let server: ServerProcess;
  let hook: string;

  beforeAll(async () => {
    server = await startServer({ rulesYaml: RULES, env: { TP_SECRET: SECRET } });
    hook = `${server.url}/webhooks/trackpilots`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  test.each(HOSTILE_TIMES)(
    'an item time of 1e19 in $name: the 19 innocent concurrent requests get 200',
    async ({ name, body }) => {
      const tag = name.replace(/\W+/g, '-');
      const hostileUser = `hostile-${tag}`;
      const bodies = Array.from({ length: 20 }, (_, i) =>
        JSON.stringify(i === 7 ? body(hostileUser) : sampleActivityEvent({ userId: `innocent-${tag}-${i}` })),
      );
      // All at once, so they share group commits with the hostile one.
      const results = await Promise.all(bodies.map((b) => postSigned(hook, b, SECRET)));
      const innocent = results.filter((_, i) => i !== 7);
      expect(innocent.map((r) => r.status)).toEqual(innocent.map(() => 200));
      // The out-of-range time is treated as missing (a warning in the log), so the item itself is kept.
      expect(results[7]?.status).toBe(200);
      await waitFor('the warning about the out-of-range time', () =>
        server.lines.some(
          (line) => line.includes('webhook payload warning') && line.includes('out of range'),
        ),
      );
      const listed = await hookrelay(['events', '--json', '--limit', '200'], server.dbPath);
      const stored = listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { user?: string; at: number | string });
      const hostile = stored.find((event) => event.user === hostileUser);
      expect(hostile).toBeDefined();
      // The fallback (envelope or receive time) is a time of today, not the year 316 889 355.
      expect(Math.abs(new Date(hostile?.at ?? 0).getTime() - Date.now())).toBeLessThan(24 * 3_600_000);
    },
  );

  /** nested wraps `inner` in `levels` arrays (and objects, alternately): JSON nested that deep. */
  const nested = (levels: number, inner: string) => {
    let text = inner;
    for (let i = 0; i < levels; i++) text = i % 2 === 0 ? `[${text}]` : `{"k":${text}}`;
    return text;
  };
  const activityWith = (user: string, extra: string) => {
    const event = JSON.stringify(sampleActivityEvent({ userId: user }));
    // An extra field inside the item: `data` is one object in an activity event.
    return event.replace('"data":{', `"data":{"extra":${extra},`);
  };

  test.each([
    // Deep enough that canonicalJson (the content hash of an id-less item) overflowed the stack: a 500.
    { name: '5,000 levels', levels: 5_000 },
    // Accepted before, and then its alert could never be serialised.
    { name: '2,500 levels', levels: 2_500 },
    { name: 'just over the limit', levels: 63 },
  ])('an item nested $name deep is refused with a 400 that says why', async ({ levels }) => {
    const response = await postSigned(hook, activityWith('deep-user', nested(levels, '1')), SECRET);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'JSON nested deeper than 64 levels' });
  });

  test('nesting up to the limit is accepted, and brackets inside strings do not count', async () => {
    // The envelope and the item are two levels; 62 more make 64.
    const atLimit = await postSigned(hook, activityWith('depth-64', nested(62, '"x"')), SECRET);
    expect(atLimit.status).toBe(200);
    const inString = JSON.stringify(`${'['.repeat(5_000)}"\\"{`);
    const quoted = await postSigned(hook, activityWith('depth-in-string', inString), SECRET);
    expect(quoted.status).toBe(200);
  });
});
