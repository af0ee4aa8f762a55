import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  sampleActivityEvent,
  sampleAppEvent,
  sampleScreenshotEvent,
  type TrackpilotsEventType,
} from '../../src/cli/send-samples.js';
import { logEverythingRules } from '../helpers/rules-yaml.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { signedTrackpilotsHeaders } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Issue 15, "Tests and figures": a bounded, seeded fuzz over the real socket. Every case is a request a
 * hostile or broken sender could make; none may get a 5xx or a broken connection, the process must stay
 * up and log no error, and a genuine event must still alert afterwards. The seed fixes every mutation
 * (the samples' own ids are fresh each run, which changes nothing about the shapes).
 */

const SECRET = 'e2e-fuzz-secret-0123456789';
const SEED = 15;
const CASES = 2_500;
const IN_FLIGHT = 8;

const RULES = logEverythingRules(`  - name: busy-apps
    on: desktop.app_tracking.captured
    threshold: { per: user, window: 1h, sum: time.durationInSeconds, gte: 60 }
    to: [console]
  - name: idle-screens
    on: desktop.screenshot_tracking.captured
    if: { screenshot.isIdle: true }
    threshold: { per: user, window: 30m, count: 2 }
    to: [console]
`);

interface FuzzCase {
  kind: string;
  body: Buffer;
  signed: boolean;
  timestamp?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const samples: Array<() => Json> = [
  () => sampleAppEvent({ items: 3 }) as unknown as Json,
  () => sampleScreenshotEvent() as unknown as Json,
  () => sampleActivityEvent() as unknown as Json,
];
const sample = fc.integer({ min: 0, max: samples.length - 1 }).map((i) => (samples[i] as () => Json)());

/** pathsOf lists every path in a JSON value (objects and arrays included), root excluded. */
function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [];
  const entries: Array<[string | number, Json]> = Array.isArray(value)
    ? value.map((child, index) => [index, child])
    : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

function setPath(value: Json, path: Array<string | number>, replacement: Json): Json {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  if (Array.isArray(value)) {
    const copy = [...value];
    copy[head as number] = setPath(copy[head as number] ?? null, rest, replacement);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    return { ...value, [head]: setPath(value[head as string] ?? null, rest, replacement) };
  }
  return value;
}

/** atSomePath picks a path of a sample and puts a value there. */
function atSomePath(replacement: fc.Arbitrary<Json>): fc.Arbitrary<{ payload: Json; path: string }> {
  return fc.tuple(sample, fc.nat(), replacement).map(([payload, pick, value]) => {
    const paths = pathsOf(payload);
    const path = paths[pick % paths.length] ?? ['data'];
    return { payload: setPath(payload, path, value), path: path.join('.') };
  });
}

const HOSTILE_TEXT = [
  '<!channel> @everyone @here <script>alert(1)</script>',
  '\u202Eevil\u202C \u0000 \uD800 \uDFFF',
  'x'.repeat(20_000),
  '{{ secret }} {% raw %}',
  '../../../../etc/passwd',
  '__proto__',
  '',
  ' ',
];
const weirdValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(
    ...HOSTILE_TEXT,
    [],
    {},
    [[[]]],
    -1,
    0,
    1e19,
    -1e19,
    1e308,
    2 ** 53 + 2,
    0.5,
    true,
    null,
  ),
  fc.string({ unit: 'binary', maxLength: 50 }),
);

// Number literals JSON.stringify cannot write: put them into the text in place of a marker.
const HUGE_NUMBERS = [
  '1e19',
  '-1e19',
  '1e308',
  '1e400',
  '-1e400',
  '9007199254740993',
  '-0',
  '1e-400',
  '123456789012345678901234567890',
];
const MARKER = '"\u0000number\u0000"';

const signedJson = (kind: string, payload: Json | string): FuzzCase => ({
  kind,
  body: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  signed: true,
});

const nested = (levels: number, kinds: boolean[]) => {
  let text = '0';
  for (let i = 0; i < levels; i++) text = kinds[i % kinds.length] ? `[${text}]` : `{"k":${text}}`;
  return text;
};

const fuzzCase: fc.Arbitrary<FuzzCase> = fc.oneof(
  fc
    .tuple(fc.uint8Array({ maxLength: 600 }), fc.boolean())
    .map(([bytes, signed]) => ({ kind: 'random bytes', body: Buffer.from(bytes), signed })),
  fc.tuple(sample, fc.double({ min: 0, max: 1, noNaN: true })).map(([payload, cut]) => {
    const text = JSON.stringify(payload);
    return signedJson('truncated JSON', text.slice(0, Math.floor(text.length * cut)));
  }),
  fc
    .tuple(fc.integer({ min: 1, max: 6_000 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }))
    .map(([levels, kinds]) =>
      signedJson(
        `nested ${levels}`,
        `{"event":"desktop.activity_tracking.captured","data":{"x":${nested(levels, kinds)}}}`,
      ),
    ),
  fc
    .tuple(atSomePath(fc.constant(MARKER as Json)), fc.constantFrom(...HUGE_NUMBERS))
    .map(([{ payload, path }, literal]) =>
      signedJson(
        `huge number ${literal} at ${path}`,
        JSON.stringify(payload).replace(JSON.stringify(MARKER), literal),
      ),
    ),
  atSomePath(weirdValue).map(({ payload, path }) => signedJson(`wrong type at ${path}`, payload)),
  fc
    .tuple(
      fc.constantFrom<TrackpilotsEventType | Json>(
        'desktop.app_tracking.captured',
        'desktop.screenshot_tracking.captured',
        'desktop.activity_tracking.captured',
      ),
      fc.oneof(
        weirdValue,
        fc.array(weirdValue, { maxLength: 20 }),
        fc.constant<Json>(Array.from({ length: 500 }, () => ({}))),
        fc.constant<Json>([[{ tracking: { time: { startDate: 1e19 } } }]]),
      ),
    )
    .map(([event, data]) => signedJson('bizarre data', { event, timestamp: Date.now(), data })),
  fc
    .tuple(sample, weirdValue)
    .map(([payload, event]) => signedJson('bizarre event type', { ...(payload as object), event })),
  fc.constantFrom(
    signedJson(
      'prototype keys',
      '{"event":"x","data":{"__proto__":{"polluted":1},"constructor":{"prototype":{"p":1}}}}',
    ),
    signedJson('duplicate keys', '{"event":"a","event":"b","data":[{"user":1,"user":{"userId":"u"}}]}'),
    signedJson('BOM', '\uFEFF{"event":"x"}'),
    signedJson('top-level array', '[{"event":"x"}]'),
  ),
  fc
    .tuple(sample, fc.constantFrom('1e19', '-1', '99999999999999999999', '1.5', ' ', '0x10', '12e3'))
    .map(([payload, timestamp]) => ({ ...signedJson(`timestamp header ${timestamp}`, payload), timestamp })),
);

interface Outcome {
  kind: string;
  status: number;
  preview: string;
}

async function send(url: string, c: FuzzCase): Promise<Outcome> {
  const headers = c.signed
    ? signedTrackpilotsHeaders(c.body, SECRET, c.timestamp ?? String(Date.now()))
    : { 'content-type': 'application/json' };
  const status = await fetch(url, { method: 'POST', headers, body: c.body }).then(
    async (response) => {
      await response.arrayBuffer();
      return response.status;
    },
    () => 0,
  );
  return { kind: c.kind, status, preview: c.body.subarray(0, 80).toString('utf8') };
}

describe('hookrelay serve: a seeded fuzz over the real socket', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({ rulesYaml: RULES, env: { TP_SECRET: SECRET } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test(`${CASES} hostile requests: no 5xx, no broken connection, nothing logged as an error, and a genuine event still alerts`, async () => {
    const cases = fc.sample(fuzzCase, { seed: SEED, numRuns: CASES });
    const hook = `${server.url}/webhooks/trackpilots`;
    const outcomes: Outcome[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let c = cases[next++]; c !== undefined; c = cases[next++]) outcomes.push(await send(hook, c));
      }),
    );
    expect(outcomes).toHaveLength(CASES);
    const broken = outcomes.filter((o) => o.status === 0 || o.status >= 500);
    expect(broken.slice(0, 10)).toEqual([]);
    // Some of each: the fuzz reached the parser and the store, not only the signature check.
    const statuses = new Set(outcomes.map((o) => o.status));
    for (const status of [200, 400, 401]) expect(statuses).toContain(status);

    expect(server.child.exitCode).toBeNull();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const user = 'after-the-fuzz';
    const body = JSON.stringify(sampleActivityEvent({ userId: user }));
    const response = await fetch(hook, {
      method: 'POST',
      headers: signedTrackpilotsHeaders(body, SECRET),
      body,
    });
    expect(response.status).toBe(200);
    await waitFor(
      'the genuine event to alert',
      () => server.lines.some((line) => line.includes(`"${user}"`)),
      {
        timeoutMs: 30_000,
      },
    );
    const errors = server.lines.filter((line) => /"level":(50|60)/.test(line));
    expect(errors.slice(0, 5)).toEqual([]);
  }, 180_000);
});
