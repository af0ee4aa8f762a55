import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createResponder, type ScriptedResponse, writeResponse } from './http-receiver.js';

/** DiscordExecution is one execute-webhook request as the fake saw it. */
export interface DiscordExecution {
  webhookId: string;
  token: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** The JSON body, or `payload_json` of a multipart body. */
  payload: Record<string, unknown>;
  /** Files of a multipart body (`files[n]`). */
  files: { field: string; filename: string; bytes: Buffer; type: string }[];
}

/** DiscordEdit is one edit-webhook-message request (`PATCH …/messages/<id>`) as the fake saw it. */
export interface DiscordEdit {
  messageId: string;
  query: URLSearchParams;
  payload: Record<string, unknown>;
}

/** FakeDiscord is a local stand-in for Discord's execute-webhook endpoint (API v10). */
export interface FakeDiscord {
  /** REST base for `api`: `http://127.0.0.1:<port>/api`. */
  readonly apiUrl: string;
  /** A webhook URL served by the fake (`/api/webhooks/<id>/<token>`). */
  readonly webhookUrl: string;
  readonly webhookId: string;
  readonly webhookToken: string;
  readonly executions: DiscordExecution[];
  /** Edits of messages the webhook sent (`PATCH /webhooks/<id>/<token>/messages/<message id>`). */
  readonly edits: DiscordEdit[];
  /** Queue answers for the next executions; unscripted ones get 200 with a message object. */
  script(...responses: ScriptedResponse[]): void;
  /** Queue answers for the next edits; unscripted ones get 200 with the edited message. */
  scriptEdit(...responses: ScriptedResponse[]): void;
  /** Forget recorded executions and unused scripted answers. */
  reset(): void;
  close(): Promise<void>;
}

/** A 429 as Discord sends it: `retry_after` (float seconds) in the body plus the rate-limit headers. */
export function discordRateLimited(
  retryAfterSeconds: number,
  options: { header?: boolean; global?: boolean } = {},
): ScriptedResponse {
  const headers: Record<string, string> = {
    'x-ratelimit-limit': '5',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset-after': String(retryAfterSeconds),
    'x-ratelimit-bucket': 'fakebucket',
    'x-ratelimit-scope': options.global ? 'global' : 'user',
  };
  if (options.header !== false) headers['retry-after'] = String(Math.ceil(retryAfterSeconds));
  if (options.global) headers['x-ratelimit-global'] = 'true';
  return {
    status: 429,
    headers,
    body: {
      message: 'You are being rate limited.',
      retry_after: retryAfterSeconds,
      global: options.global ?? false,
    },
  };
}

/** An API error body as Discord sends it, e.g. `discordError(404, 10015, 'Unknown Webhook')`. */
export function discordError(status: number, code: number, message: string): ScriptedResponse {
  return { status, body: { message, code } };
}

/** Snowflake-shaped id so @discordjs/rest buckets requests as it does in production. */
const WEBHOOK_ID = '112233445566778899';
/** The channel the fake webhook posts to. */
export const CHANNEL_ID = '223344556677889900';
const WEBHOOK_TOKEN = `fakeDiscordWebhookToken_${'x'.repeat(44)}`;

/** startFakeDiscord starts a FakeDiscord on 127.0.0.1:0. */
export async function startFakeDiscord(): Promise<FakeDiscord> {
  const executions: DiscordExecution[] = [];
  const edits: DiscordEdit[] = [];
  const queue: ScriptedResponse[] = [];
  const editQueue: ScriptedResponse[] = [];
  const responder = createResponder();
  let messageCounter = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const edit = /^\/api\/v10\/webhooks\/(\d+)\/([^/]+)\/messages\/(\d+)$/.exec(url.pathname);
        if (req.method === 'PATCH' && edit) {
          const { payload } = await parseBody(
            Buffer.concat(chunks),
            String(req.headers['content-type'] ?? ''),
          );
          edits.push({ messageId: edit[3] ?? '', query: url.searchParams, payload });
          responder.respond(
            res,
            editQueue.shift() ?? {
              status: 200,
              body: {
                id: edit[3],
                type: 0,
                channel_id: url.searchParams.get('thread_id') ?? CHANNEL_ID,
                ...payload,
              },
            },
          );
          return;
        }
        const match = /^\/api\/v10\/webhooks\/(\d+)\/([^/]+)$/.exec(url.pathname);
        if (req.method !== 'POST' || !match) {
          writeResponse(res, { status: 404, body: { message: '404: Not Found', code: 0 } });
          return;
        }
        const { payload, files } = await parseBody(
          Buffer.concat(chunks),
          String(req.headers['content-type'] ?? ''),
        );
        executions.push({
          webhookId: match[1] ?? '',
          token: match[2] ?? '',
          query: url.searchParams,
          headers: req.headers,
          payload,
          files,
        });
        messageCounter += 1;
        const answer: ScriptedResponse = queue.shift() ?? {
          status: 200,
          headers: {
            'x-ratelimit-limit': '5',
            'x-ratelimit-remaining': '4',
            'x-ratelimit-reset-after': '1',
            'x-ratelimit-bucket': 'fakebucket',
          },
          body: {
            id: String(1_200_000_000_000_000_000n + BigInt(messageCounter)),
            type: 0,
            // A forum post (thread_name) is a new thread; thread_id posts into that thread.
            channel_id:
              url.searchParams.get('thread_id') ??
              (typeof payload.thread_name === 'string'
                ? String(3_300_000_000_000_000_000n + BigInt(messageCounter))
                : CHANNEL_ID),
            webhook_id: WEBHOOK_ID,
            content: payload.content ?? '',
            embeds: payload.embeds ?? [],
            attachments: files.map((file, index) => ({ id: String(index), filename: file.filename })),
          },
        };
        responder.respond(res, answer);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `${origin}/api`,
    webhookUrl: `${origin}/api/webhooks/${WEBHOOK_ID}/${WEBHOOK_TOKEN}`,
    webhookId: WEBHOOK_ID,
    webhookToken: WEBHOOK_TOKEN,
    executions,
    edits,
    script: (...responses) => queue.push(...responses),
    scriptEdit: (...responses) => editQueue.push(...responses),
    reset: () => {
      executions.length = 0;
      edits.length = 0;
      queue.length = 0;
      editQueue.length = 0;
    },
    close: async () => {
      responder.dropPending();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function parseBody(
  raw: Buffer,
  contentType: string,
): Promise<{ payload: Record<string, unknown>; files: DiscordExecution['files'] }> {
  const files: DiscordExecution['files'] = [];
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    let payload: Record<string, unknown> = {};
    for (const [field, value] of form) {
      if (typeof value === 'string') {
        if (field === 'payload_json') payload = JSON.parse(value) as Record<string, unknown>;
      } else {
        files.push({
          field,
          filename: value.name,
          bytes: Buffer.from(await value.arrayBuffer()),
          type: value.type,
        });
      }
    }
    return { payload, files };
  }
  const parsed: unknown = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : {};
  return { payload: parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {}, files };
}
