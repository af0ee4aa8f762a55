import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createResponder, type ScriptedResponse } from './http-receiver.js';

/** SlackCall is one Web API call, incoming-webhook post or file upload as the fake saw it. */
export interface SlackCall {
  /** Web API method (`chat.postMessage`), `webhook` for incoming-webhook posts, `upload` for upload URLs. */
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Form fields or JSON body members. Form values are strings (objects arrive JSON-encoded, as Slack gets them). */
  params: Record<string, unknown>;
  /** Files of a multipart body, by field name. */
  files: Record<string, { filename: string; bytes: Buffer; type: string }>;
  raw: Buffer;
}

/** FakeSlack is a local stand-in for the Slack Web API and incoming webhooks. */
export interface FakeSlack {
  /** Web API base for `slackApiUrl`: `http://127.0.0.1:<port>/api/`. */
  readonly apiUrl: string;
  /** An incoming-webhook URL served by the fake. */
  readonly webhookUrl: string;
  readonly calls: SlackCall[];
  /** callsTo lists the calls of one method, with `blocks` and other JSON-encoded form fields decoded. */
  callsTo(method: string): SlackCall[];
  /** topLevelPosts lists the chat.postMessage calls that started a message (no `thread_ts`). */
  topLevelPosts(): SlackCall[];
  /** threadReplies lists the chat.postMessage calls posted in the thread of `ts`. */
  threadReplies(ts: string): SlackCall[];
  /** Queue answers for the next calls of `method` (a Web API method, `webhook` or `upload`). */
  script(method: string, ...responses: ScriptedResponse[]): void;
  /** Forget recorded calls and unused scripted answers, and number message ts from 1 again. */
  reset(): void;
  close(): Promise<void>;
}

const WEBHOOK_PATH = '/services/T0000FAKE/B0000FAKE/fakeWebhookSecretXXXXXXXX';

/** startFakeSlack starts a FakeSlack on 127.0.0.1:0. Unscripted calls get Slack-shaped success answers. */
export async function startFakeSlack(): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  const scripts = new Map<string, ScriptedResponse[]>();
  const responder = createResponder();
  let origin = '';
  let fileCounter = 0;
  let tsCounter = 0;

  const defaults = (method: string, params: Record<string, unknown>): ScriptedResponse => {
    switch (method) {
      case 'chat.postMessage':
        tsCounter += 1;
        return {
          body: {
            ok: true,
            channel:
              typeof params.channel === 'string' && params.channel.startsWith('C')
                ? params.channel
                : 'C0FAKE',
            ts: `1700000000.${String(tsCounter).padStart(6, '0')}`,
            message: { text: params.text },
          },
        };
      case 'chat.update':
        // Slack answers with the channel and ts of the message it updated.
        return { body: { ok: true, channel: params.channel, ts: params.ts, text: params.text } };
      case 'files.getUploadURLExternal':
        fileCounter += 1;
        return {
          body: { ok: true, upload_url: `${origin}/upload/F${fileCounter}`, file_id: `F${fileCounter}` },
        };
      case 'files.completeUploadExternal':
        return { body: { ok: true, files: [{ id: `F${fileCounter}`, title: 'screenshot' }] } };
      case 'webhook':
        return { body: 'ok' };
      case 'upload':
        return { body: 'OK - uploaded' };
      default:
        return { body: { ok: false, error: 'unknown_method' } };
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        const path = (req.url ?? '').split('?')[0] ?? '';
        const method = path.startsWith('/api/')
          ? path.slice('/api/'.length)
          : path.startsWith('/services/')
            ? 'webhook'
            : path.startsWith('/upload/')
              ? 'upload'
              : path;
        const { params, files } = await parseBody(raw, String(req.headers['content-type'] ?? ''));
        calls.push({ method, path, headers: req.headers, params, files, raw });
        const answer = scripts.get(method)?.shift() ?? defaults(method, params);
        responder.respond(res, answer);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `${origin}/api/`,
    webhookUrl: `${origin}${WEBHOOK_PATH}`,
    calls,
    callsTo: (method) =>
      calls
        .filter((call) => call.method === method)
        .map((call) => ({ ...call, params: decodeJsonFields(call.params) })),
    topLevelPosts: () =>
      calls.filter((call) => call.method === 'chat.postMessage' && call.params.thread_ts === undefined),
    threadReplies: (ts) =>
      calls.filter((call) => call.method === 'chat.postMessage' && call.params.thread_ts === ts),
    script: (method, ...responses) => {
      const queue = scripts.get(method) ?? [];
      queue.push(...responses);
      scripts.set(method, queue);
    },
    reset: () => {
      calls.length = 0;
      scripts.clear();
      // Each test's first message is ts …000001 again.
      tsCounter = 0;
    },
    close: async () => {
      responder.dropPending();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** parseBody reads a form-encoded, JSON or multipart body the way Slack accepts them. */
async function parseBody(
  raw: Buffer,
  contentType: string,
): Promise<{ params: Record<string, unknown>; files: SlackCall['files'] }> {
  const params: Record<string, unknown> = {};
  const files: SlackCall['files'] = {};
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(raw.toString('utf8'))) params[key] = value;
  } else if (contentType.startsWith('application/json')) {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (parsed && typeof parsed === 'object') Object.assign(params, parsed);
  } else if (contentType.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    for (const [key, value] of form) {
      if (typeof value === 'string') params[key] = value;
      else
        files[key] = {
          filename: value.name,
          bytes: Buffer.from(await value.arrayBuffer()),
          type: value.type,
        };
    }
  }
  return { params, files };
}

/** decodeJsonFields JSON-decodes form fields that hold arrays or objects (`blocks`, `files`). */
function decodeJsonFields(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string' && /^[[{]/.test(value)) {
      try {
        out[key] = JSON.parse(value);
        continue;
      } catch {
        // Not JSON after all: keep the string.
      }
    }
    out[key] = value;
  }
  return out;
}
