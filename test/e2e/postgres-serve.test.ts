// Issue 11 §1/§2: `hookrelay serve` on a PostgreSQL URL: a signed POST is stored, evaluated and delivered,
// and a retry of the same request to a second instance on the same database is a duplicate.
import { afterAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { TEST_PG_URL, TestSchemas } from '../../src/store/postgres/test-schema.js';
import { type HttpReceiver, startHttpReceiver } from '../helpers/http-receiver.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { postSigned } from '../helpers/sign.js';

const SECRET = 'e2e-postgres-secret-0123456789';
const q = (value: string) => JSON.stringify(value);
const schemas = new TestSchemas();
const servers: ServerProcess[] = [];
let receiver: HttpReceiver | undefined;

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await receiver?.close();
  await schemas.dropAll();
});

describe('hookrelay serve on PostgreSQL', () => {
  test('stores, evaluates and delivers; the same request sent to another instance is stored once', async () => {
    receiver = await startHttpReceiver();
    const schema = await schemas.create();
    const url = new URL(TEST_PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const rulesYaml = `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${q(SECRET)}], tolerance: 5m }
destinations:
  hook:
    type: webhook
    url: ${q(`${receiver.origin}/alerts`)}
    allowPrivateNetworks: true
rules:
  - name: work-mode
    on: desktop.activity_tracking.captured
    to: [hook]
`;
    const env = { HOOKRELAY_DB: url.toString() };
    const first = await startServer({ rulesYaml, env });
    servers.push(first);
    expect(first.lines.join('\n')).toContain('postgres (URL not shown)');

    const raw = JSON.stringify(sampleActivityEvent({ userId: 'user-pg' }));
    const answer = await postSigned(`${first.url}/webhooks/trackpilots`, raw, SECRET);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ ok: true, stored: 1, duplicates: 0 });
    await receiver.waitForRequests(1, 10_000);
    expect(receiver.requests[0]?.body.toString()).toContain('work-mode');

    // A load balancer retries the same request on another instance: a duplicate, nothing evaluated twice.
    const second = await startServer({ rulesYaml, env });
    servers.push(second);
    const retried = await postSigned(`${second.url}/webhooks/trackpilots`, raw, SECRET);
    expect(retried.status).toBe(200);
    expect(JSON.parse(retried.body)).toEqual({ ok: true, stored: 0, duplicates: 1 });
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
  });
});
