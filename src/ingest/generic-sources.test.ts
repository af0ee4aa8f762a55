import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../lib/log.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store.js';

/*
 * The `hmac` and `standard-webhooks` sources as a user configures them: built from a rules file by the
 * real loader and app, and posted to over a real socket. Signatures are computed here with node:crypto,
 * never with the server's own code.
 */

const GITHUB_SECRET = 'gh-test-secret';
// Standard Webhooks secrets are `whsec_` + base64 of the key bytes.
const SW_KEY = Buffer.from('a standard webhooks key of 32 b!');
const SW_SECRET = `whsec_${SW_KEY.toString('base64')}`;

const RULES = `
version: 1
sources:
  gh:
    type: hmac
    header: x-hub-signature-256
    prefix: "sha256="
    secrets: [${GITHUB_SECRET}]
  actions:
    type: hmac
    header: x-signature
    encoding: base64
    eventField: action
    secrets: [${GITHUB_SECRET}]
  sw:
    type: standard-webhooks
    secrets: ["${SW_SECRET}"]
destinations:
  console: { type: log }
rules: []
`;

let dir: string;
let store: SqliteStore;
let app: App;
let url: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hookrelay-sources-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  const loaded = await loadConfig(join(dir, 'rules.yaml'), {});
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  store = await openSqliteStore(join(dir, 'hookrelay.db'));
  app = createApp({ config: loaded.config, store, logger: createLogger('silent') });
  url = await app.start({ port: 0, host: '127.0.0.1' });
});

afterEach(async () => {
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function post(source: string, body: string, headers: Record<string, string>) {
  const response = await fetch(`${url}/webhooks/${source}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function hexSignature(body: string): string {
  return `sha256=${createHmac('sha256', GITHUB_SECRET).update(body).digest('hex')}`;
}

async function storedTypes(source: string): Promise<string[]> {
  const events = await store.events.list({ source, limit: 100 });
  return events.map((event) => event.item.event).reverse();
}

describe('an hmac source', () => {
  it('takes the event type from `type`, else from `event`, when eventField is not set', async () => {
    for (const body of [
      JSON.stringify({ type: 'push', id: 'd-1' }),
      JSON.stringify({ event: 'release', id: 'd-2' }),
    ]) {
      const answer = await post('gh', body, { 'x-hub-signature-256': hexSignature(body) });
      expect(answer).toEqual({ status: 200, body: { ok: true, stored: 1, duplicates: 0 } });
    }
    expect(await storedTypes('gh')).toEqual(['push', 'release']);
  });

  it('refuses a body with neither, saying what it looked for, and a wrong signature with a bare 401', async () => {
    const body = JSON.stringify({ kind: 'push' });
    const missing = await post('gh', body, { 'x-hub-signature-256': hexSignature(body) });
    expect(missing.status).toBe(400);
    expect(missing.body['error']).toMatch(/event type \(type or event\)/);

    const forged = await post('gh', body, { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` });
    expect(forged).toEqual({ status: 401, body: { error: 'unauthorized' } });
    expect(await storedTypes('gh')).toEqual([]);
  });

  it('reads the event type where eventField points, with a base64 signature', async () => {
    const body = JSON.stringify({ action: 'opened', type: 'not-this-one', id: 'd-3' });
    const signature = createHmac('sha256', GITHUB_SECRET).update(body).digest('base64');
    const answer = await post('actions', body, { 'x-signature': signature });
    expect(answer.status).toBe(200);
    expect(await storedTypes('actions')).toEqual(['opened']);
  });
});

describe('a standard-webhooks source', () => {
  function signed(id: string, body: string, timestampSec = Math.floor(Date.now() / 1000)) {
    const signature = createHmac('sha256', SW_KEY).update(`${id}.${timestampSec}.${body}`).digest('base64');
    return {
      'webhook-id': id,
      'webhook-timestamp': String(timestampSec),
      'webhook-signature': `v1,${signature}`,
    };
  }

  it('stores a signed delivery once, however often it is retried', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'inv-1' } });
    const first = await post('sw', body, signed('msg_1', body));
    expect(first).toEqual({ status: 200, body: { ok: true, stored: 1, duplicates: 0 } });
    const retry = await post('sw', body, signed('msg_1', body));
    expect(retry).toEqual({ status: 200, body: { ok: true, stored: 0, duplicates: 1 } });
    expect(await storedTypes('sw')).toEqual(['invoice.paid']);
  });

  it('refuses a stale timestamp and a signature made with another key', async () => {
    const body = JSON.stringify({ type: 'invoice.paid' });
    const stale = await post('sw', body, signed('msg_2', body, Math.floor(Date.now() / 1000) - 3600));
    expect(stale.status).toBe(401);
    const other = createHmac('sha256', 'another key').update(
      `msg_3.${Math.floor(Date.now() / 1000)}.${body}`,
    );
    const forged = await post('sw', body, {
      ...signed('msg_3', body),
      'webhook-signature': `v1,${other.digest('base64')}`,
    });
    expect(forged).toEqual({ status: 401, body: { error: 'unauthorized' } });
    expect(await storedTypes('sw')).toEqual([]);
  });
});
