import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { metricValue } from '../helpers/metrics.js';
import { bodyOf, connectRaw, statusOf, writeAll } from '../helpers/raw-http.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { postSigned, signedTrackpilotsHeaders } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Issue 15 §10: `allowFrom` per source, refused with 403 before the body is read and counted; the client
 * address is the peer's unless `server.trustProxyHops` says how many proxies in front to believe.
 */

const SECRET = 'e2e-allow-secret-0123456789';

const rules = (hops: number) => `
version: 1
sources:
  office:                       # the test connects from 127.0.0.1, outside this range
    type: trackpilots
    secrets: ["\${TP_SECRET}"]
    allowFrom: [10.0.0.0/8, "2001:db8::/32"]
  local:
    type: trackpilots
    secrets: ["\${TP_SECRET}"]
    allowFrom: [127.0.0.1]
  open:
    type: trackpilots
    secrets: ["\${TP_SECRET}"]
destinations:
  console: { type: log }
rules:
  - name: everything
    on: "*"
    to: [console]
server:
  trustProxyHops: ${hops}
`;

const send = (url: string, source: string, headers: Record<string, string> = {}) => {
  const body = JSON.stringify(sampleActivityEvent());
  return postSigned(`${url}/webhooks/${source}`, body, SECRET, headers);
};

describe('hookrelay serve: allowFrom', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({ rulesYaml: rules(0), env: { TP_SECRET: SECRET } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('a source accepts only its ranges; a source without allowFrom accepts anyone', async () => {
    const refused = await send(server.url, 'office');
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ error: 'forbidden' });
    expect((await send(server.url, 'local')).status).toBe(200);
    expect((await send(server.url, 'open')).status).toBe(200);
    expect(
      await metricValue(server.url, 'hookrelay_webhooks_received_total', {
        source: 'office',
        outcome: 'HR_ERR_INGEST_ADDRESS_REFUSED',
      }),
    ).toBe(1);
    await waitFor('the refusal in the log, with the address', () =>
      server.lines.some(
        (line) => line.includes('HR_ERR_INGEST_ADDRESS_REFUSED') && line.includes('127.0.0.1'),
      ),
    );
  });

  test('the refusal comes before the body is read: the client never has to send it', async () => {
    const connection = await connectRaw(server.url);
    const headers = signedTrackpilotsHeaders('{}', SECRET);
    await writeAll(
      connection.socket,
      `POST /webhooks/office HTTP/1.1\r\nHost: x\r\nContent-Type: ${headers['content-type']}\r\n` +
        `X-Webhook-Timestamp: ${headers['x-webhook-timestamp']}\r\nX-Webhook-Signature: ${headers['x-webhook-signature']}\r\n` +
        'Content-Length: 5000000\r\n\r\n',
    );
    await waitFor('the 403', () => bodyOf(connection.received()).includes('forbidden'), {
      timeoutMs: 10_000,
    });
    expect(statusOf(connection.received())).toBe(403);
    connection.socket.destroy();
  });

  test('with no trusted proxies, X-Forwarded-For is ignored: anyone could send it', async () => {
    expect((await send(server.url, 'office', { 'x-forwarded-for': '10.1.2.3' })).status).toBe(403);
  });

  test('a reload that trusts one proxy hop honours its X-Forwarded-For entry, and only that one', async () => {
    writeFileSync(join(server.dir, 'rules.yaml'), rules(1));
    server.child.kill('SIGHUP');
    await waitFor('the reload', () => server.lines.some((line) => line.includes('configuration reloaded')), {
      timeoutMs: 10_000,
    });
    expect((await send(server.url, 'office', { 'x-forwarded-for': '10.1.2.3' })).status).toBe(200);
    expect((await send(server.url, 'office', { 'x-forwarded-for': '2001:db8::7' })).status).toBe(200);
    // The balancer appends what it saw (here 198.51.100.9); a client's own entry on the left is ignored.
    expect((await send(server.url, 'office', { 'x-forwarded-for': '10.1.2.3, 198.51.100.9' })).status).toBe(
      403,
    );
    // No header: the peer is the client.
    expect((await send(server.url, 'office')).status).toBe(403);
    expect((await send(server.url, 'local')).status).toBe(200);
  });
});
