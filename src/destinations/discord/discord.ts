import {
  DiscordAPIError,
  HTTPError,
  RateLimitError,
  type RawFile,
  REST,
  type RESTOptions,
} from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { z } from 'zod';
import type { Notification } from '../../domain/alert.js';
import { HookrelayError } from '../../lib/errors.js';
import {
  createSafeFetch,
  findAddressRefused,
  type SafeFetch,
  type SafeFetchInit,
} from '../../lib/safe-fetch.js';
import { singleLine } from '../../render/escape.js';
import { screenshotFilename } from '../../render/screenshot.js';
import { truncate } from '../../render/truncate.js';
import {
  createDeadline,
  createRedactor,
  type Deadline,
  describeNetworkError,
  fail,
  render,
  safeHost,
} from '../shared.js';
import type { Destination, DestinationDeps, SendContext, SendFailure, SendResult } from '../types.js';
import { type DiscordOptions, discordTargetOf } from './config.js';
import { MAX_THREAD_NAME_CHARS, MAX_USERNAME_CHARS, renderDiscordPayload } from './render.js';

/** Discord's REST base. https://discord.com/developers/docs/reference#api-reference-base-url */
export const DEFAULT_DISCORD_API_URL = 'https://discord.com/api';

/**
 * JSON error codes that mean the webhook is gone or its token is wrong: stop sending at once, since
 * repeated 401/403/404s count toward Discord's invalid-request ban (10,000 per 10 minutes per IP).
 * https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes
 */
const UNKNOWN_WEBHOOK = 10015;
const INVALID_WEBHOOK_TOKEN = 50027;
const MISSING_PERMISSIONS = 50013;
/** Editing a message that was deleted. */
const UNKNOWN_MESSAGE = 10008;

/** The part of the saved message (`wait=true`) a conversation keeps. */
const savedMessageSchema = z.object({ id: z.string().min(1), channel_id: z.string().min(1) });

/** The longest excerpt of Discord's own error message put into a detail. */
const MAX_ERROR_MESSAGE_CHARS = 300;

/** Discord's 429 body. https://discord.com/developers/docs/topics/rate-limits#exceeding-a-rate-limit */
const rateLimitBodySchema = z.object({ retry_after: z.number().nonnegative() });

type MakeRequest = RESTOptions['makeRequest'];

/**
 * guardedMakeRequest is the REST client's transport: our guarded fetch (SSRF guard, no redirects) instead
 * of its own undici; a 3xx becomes an error (the client would take it for success). On a 429 it copies the body's precise `retry_after` (float seconds) into the
 * Retry-After header, which is the only place @discordjs/rest reads it from.
 */
function guardedMakeRequest(safeFetch: SafeFetch): MakeRequest {
  return async (url, init) => {
    const response = await safeFetch(url, {
      method: init.method ?? 'POST',
      headers: init.headers as SafeFetchInit['headers'],
      body: (init.body ?? undefined) as SafeFetchInit['body'],
      signal: (init.signal ?? undefined) as SafeFetchInit['signal'],
    });
    if (response.status >= 300 && response.status < 400) {
      // @discordjs/rest would treat a 3xx as success; a redirect is never followed, so it is an error here.
      await response.body?.cancel();
      throw new HookrelayError(
        'HR_ERR_FETCH_REDIRECT',
        `HTTP ${response.status} redirect not followed; check webhookUrl/apiUrl`,
      );
    }
    if (response.status !== 429) return response;
    const text = await response.text();
    const headers = new Headers(Object.fromEntries(response.headers.entries()));
    try {
      const parsed = rateLimitBodySchema.safeParse(JSON.parse(text));
      if (parsed.success) headers.set('retry-after', String(parsed.data.retry_after));
    } catch {
      // Not JSON: keep whatever Retry-After header came.
    }
    return new Response(text, { status: 429, statusText: response.statusText, headers });
  };
}

/**
 * classifyDiscordThrown maps what REST throws: RateLimitError (retryAfter in ms), DiscordAPIError (4xx with
 * a JSON code), HTTPError (5xx), an abort, a refused address, or a network error.
 */
function classifyDiscordThrown(
  thrown: unknown,
  what: string,
  deadline: Pick<Deadline, 'aborted' | 'timedOut'>,
): SendFailure {
  const refused = findAddressRefused(thrown);
  if (refused) return fail('broken', 'refused', refused.message);
  if (thrown instanceof RateLimitError) {
    const scope = thrown.global ? 'global' : thrown.scope;
    return fail(
      'retry',
      'rateLimited',
      `${what}: rate limited (${scope})`,
      Math.max(0, Math.ceil(thrown.retryAfter)),
    );
  }
  if (thrown instanceof DiscordAPIError) {
    const message = truncate(thrown.message, MAX_ERROR_MESSAGE_CHARS);
    const detail = `${what}: HTTP ${thrown.status} ${thrown.code}: ${message}`;
    if (thrown.code === UNKNOWN_WEBHOOK || thrown.status === 404) return fail('broken', 'notFound', detail);
    if (thrown.code === INVALID_WEBHOOK_TOKEN || thrown.code === MISSING_PERMISSIONS) {
      return fail('broken', 'authError', detail);
    }
    if (thrown.status === 401 || thrown.status === 403) return fail('broken', 'authError', detail);
    if (thrown.status === 429) return fail('retry', 'rateLimited', detail);
    if (thrown.status === 408) return fail('retry', 'timeout', detail);
    if (thrown.status === 400 || thrown.status === 413) return fail('dead', 'payloadRejected', detail);
    return fail('dead', 'clientError', detail);
  }
  if (thrown instanceof HookrelayError && thrown.code === 'HR_ERR_FETCH_REDIRECT') {
    return fail('broken', 'clientError', `${what}: ${thrown.message}`);
  }
  if (thrown instanceof HTTPError) {
    return fail('retry', 'serverError', `${what}: HTTP ${thrown.status}`);
  }
  if (deadline.timedOut()) return fail('retry', 'timeout', `${what}: no response in time`);
  if (deadline.aborted) return fail('retry', 'timeout', `${what}: attempt aborted by the caller`);
  if (thrown instanceof Error && (thrown.name === 'AbortError' || thrown.name === 'TimeoutError')) {
    return fail('retry', 'timeout', `${what}: no response in time`);
  }
  return fail('retry', 'network', `${what}: ${describeNetworkError(thrown)}`);
}

/**
 * createDiscordDestination executes a Discord webhook per alert through @discordjs/rest with `?wait=true`
 * (so a message Discord did not save is an error, not a silent 204), `allowed_mentions: { parse: [] }`
 * always, and the screenshot as a file attachment shown as the embed image. The client never retries and
 * never waits on a rate limit: a 429, or a bucket it knows is exhausted, comes back as `retryAfterMs`.
 */
export function createDiscordDestination(
  name: string,
  options: DiscordOptions,
  _deps: DestinationDeps,
): Destination {
  const target = discordTargetOf(name, options);
  const safeFetch = createSafeFetch({
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    timeoutMs: options.timeoutMs,
  });
  const rest = new REST({
    api: options.apiUrl ?? target.api,
    version: '10',
    retries: 0,
    timeout: options.timeoutMs,
    rejectOnRateLimit: () => true,
    makeRequest: guardedMakeRequest(safeFetch),
  });
  const what = `discord webhook ${safeHost(options.webhookUrl)}`;
  const redact = createRedactor([options.webhookUrl, target.token]);
  /** The query of an execution: wait=true always, and the thread it goes to, when there is one. */
  const queryFor = (threadId: string | undefined) =>
    new URLSearchParams({ wait: 'true', ...(threadId ? { thread_id: threadId } : {}) });
  const renderOptions = options.mention ? { mention: options.mention } : {};

  async function send(notification: Notification, context: SendContext): Promise<SendResult> {
    const image = context.image;
    const imageName = image ? screenshotFilename(image.mime, 'png') : undefined;
    const rendered = render(what, () => renderDiscordPayload(notification.alert, imageName, renderOptions));
    if (!rendered.ok) return rendered.failure;
    const payload = rendered.value;
    if (options.username !== undefined) payload.username = truncate(options.username, MAX_USERNAME_CHARS);
    if (options.avatarUrl !== undefined) payload.avatar_url = options.avatarUrl;
    const files: RawFile[] = [];
    if (image && imageName) {
      payload.attachments = [{ id: 0, filename: imageName, description: 'Screenshot attached to the alert' }];
      files.push({ name: imageName, data: image.bytes, contentType: image.mime, key: 'files[0]' });
    }
    const original = context.conversation?.messageId === undefined ? undefined : context.conversation;
    // A forum channel needs a thread for every message: the first one starts the alert's post.
    if (options.forum && !original) {
      payload.thread_name = truncate(
        singleLine(notification.alert.title).trim() || notification.alert.rule,
        MAX_THREAD_NAME_CHARS,
      );
    }
    const threadId = original ? (original.threadId ?? target.threadId) : target.threadId;
    // One deadline for the whole attempt: the REST client's own timeout ends when the headers arrive,
    // and with wait=true the body (the saved message) is read after that.
    const deadline = createDeadline(context.signal, options.timeoutMs);
    let note: string | undefined;
    try {
      if (original?.messageId !== undefined && notification.alert.status === 'resolved') {
        // Edited first: an edit is idempotent, so a failed post after it is retried harmlessly.
        const edited = await editOriginal(notification, original.messageId, original.threadId, deadline);
        if (!edited.ok) return edited;
        note = edited.detail;
      }
      const posted = await rest.post(Routes.webhook(target.id, target.token), {
        auth: false,
        query: queryFor(threadId),
        body: payload,
        ...(files.length > 0 ? { files } : {}),
        signal: deadline.signal,
      });
      const result: SendResult = note === undefined ? { ok: true } : { ok: true, detail: note };
      if (original) return result;
      const message = savedMessageSchema.safeParse(posted);
      if (!message.success) return result;
      const inThread = options.forum ? message.data.channel_id : target.threadId;
      return {
        ...result,
        conversation: { messageId: message.data.id, ...(inThread ? { threadId: inThread } : {}) },
      };
    } catch (thrown) {
      const failure = classifyDiscordThrown(thrown, what, deadline);
      return { ...failure, detail: redact(failure.detail) };
    } finally {
      deadline.dispose();
    }
  }

  /** editOriginal edits the alert's first message to show it resolved (PATCH …/messages/<id>). */
  async function editOriginal(
    notification: Notification,
    messageId: string,
    threadId: string | undefined,
    deadline: Deadline,
  ): Promise<SendResult> {
    const at = notification.alert.at;
    const rendered = render(`${what} (edit)`, () =>
      renderDiscordPayload(notification.alert, undefined, { state: { label: 'Resolved', at } }),
    );
    if (!rendered.ok) return rendered.failure;
    const { content, embeds } = rendered.value;
    try {
      await rest.patch(Routes.webhookMessage(target.id, target.token, messageId), {
        auth: false,
        ...(threadId ? { query: new URLSearchParams({ thread_id: threadId }) } : {}),
        // An edit never pings: nothing is allowed.
        body: { content, embeds, allowed_mentions: { parse: [] } },
        signal: deadline.signal,
      });
      return { ok: true };
    } catch (thrown) {
      const failure = classifyDiscordThrown(thrown, `${what} (edit)`, deadline);
      // The original was deleted: the follow-up still says it resolved.
      if (thrown instanceof DiscordAPIError && thrown.code === UNKNOWN_MESSAGE) {
        return { ok: true, detail: redact(`original message not updated: ${failure.detail}`) };
      }
      return { ...failure, detail: redact(failure.detail) };
    }
  }

  return {
    name,
    type: 'discord',
    threads: true,
    send,
    close: async () => {
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
      await safeFetch.close();
    },
  };
}
