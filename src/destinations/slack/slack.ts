import { type Block, ErrorCode, type KnownBlock, type WebClient } from '@slack/web-api';
import type { Notification } from '../../domain/alert.js';
import { createSafeRequest, findAddressRefused, headerValue } from '../../lib/safe-fetch.js';
import { forDisplay } from '../../render/display.js';
import { singleLine } from '../../render/escape.js';
import { screenshotFilename } from '../../render/screenshot.js';
import { truncate } from '../../render/truncate.js';
import {
  classifyHttpStatus,
  classifyThrown,
  createDeadline,
  createRedactor,
  cutNote,
  type Deadline,
  excerptOf,
  fail,
  parseRetryAfterMs,
  render,
  safeHost,
  urlSecrets,
} from '../shared.js';
import type { Destination, DestinationDeps, SendContext, SendFailure, SendResult } from '../types.js';
import { createSlackClient, slackLogger } from './client.js';
import type { SlackOptions } from './config.js';
import { slackModeOf } from './config.js';
import { renderSlackMessage, type SlackMessage, type SlackRenderOptions, type SlackState } from './render.js';

/**
 * Errors after which retrying later may work. fatal_error/internal_error "may have partially succeeded",
 * so a retry can post twice (at-least-once). https://docs.slack.dev/reference/methods/chat.postMessage#errors
 */
const TRANSIENT_ERRORS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);
const RATE_LIMIT_ERRORS = new Set(['ratelimited', 'rate_limited']);
/** Errors that mean the destination itself is unusable until a person fixes it (token, scopes, channel). */
const AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'no_permission',
  'ekm_access_denied',
  'org_login_required',
  'not_allowed_token_type',
  'access_denied',
]);
const CHANNEL_ERRORS = new Set(['channel_not_found', 'not_in_channel', 'is_archived']);
/** Errors about this one message: it can never succeed as rendered. */
const MESSAGE_ERRORS = new Set([
  'msg_too_long',
  'no_text',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_blocks_too_long',
  'too_many_attachments',
  'invalid_arguments',
  'invalid_arg_name',
  'invalid_form_data',
  'invalid_post_type',
  'invalid_attachments',
  'markdown_text_conflict',
]);

/**
 * Incoming-webhook error bodies (plain text, HTTP 4xx). `invalid_payload`/`too_many_attachments` are about
 * the message; the rest mean the hook is revoked, removed or pointed at a place it may not post.
 * https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks#handling_errors
 */
const WEBHOOK_MESSAGE_ERRORS = new Set(['invalid_payload', 'too_many_attachments']);
const WEBHOOK_DESTINATION_ERRORS = new Set([
  'user_not_found',
  'channel_not_found',
  'channel_is_archived',
  'action_prohibited',
  'posting_to_general_channel_denied',
  'no_service',
  'no_service_id',
  'no_team',
  'team_disabled',
  'invalid_token',
  'no_active_hooks',
]);

/**
 * classifySlackError maps a Web API error code (`{ ok: false, error }`) to a failure, per
 * destinations.md §1.5: rate limits and server trouble retry, token/scope/channel problems break the
 * destination, message problems dead-letter it. An unknown code dead-letters the message (replayable).
 */
export function classifySlackError(error: string, what: string, retryAfterMs?: number): SendFailure {
  const detail = `${what}: ${error}`;
  if (RATE_LIMIT_ERRORS.has(error)) return fail('retry', 'rateLimited', detail, retryAfterMs);
  if (TRANSIENT_ERRORS.has(error)) return fail('retry', 'serverError', detail, retryAfterMs);
  if (AUTH_ERRORS.has(error) || error.startsWith('restricted_action'))
    return fail('broken', 'authError', detail);
  if (CHANNEL_ERRORS.has(error)) {
    const hint =
      error === 'not_in_channel' ? ' (invite the app to the channel or add chat:write.public)' : '';
    return fail('broken', 'notFound', detail + hint);
  }
  if (MESSAGE_ERRORS.has(error)) return fail('dead', 'payloadRejected', detail);
  return fail('dead', 'clientError', `${detail} (unrecognised Slack error)`);
}

/** chat.update errors that mean the original cannot be edited any more (deleted, too old, not ours). */
const GONE_ORIGINAL_ERRORS = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']);

function isGoneOriginal(thrown: unknown): boolean {
  const err = thrown as SlackSdkError | undefined;
  return err?.code === ErrorCode.PlatformError && GONE_ORIGINAL_ERRORS.has(String(err.data?.error));
}

/** The fields of SDK errors we read; SDK errors are plain objects at runtime, so each is checked. */
interface SlackSdkError {
  code?: unknown;
  retryAfter?: unknown;
  data?: { error?: unknown; response_metadata?: { retryAfter?: unknown } };
  statusCode?: unknown;
  headers?: Record<string, string>;
  original?: unknown;
  message?: unknown;
}

/**
 * classifyWebApiThrown maps what `WebClient` throws to a failure: WebAPIRateLimitedError (retryAfter is
 * seconds), WebAPIPlatformError (`data.error`), WebAPIHTTPError (status) and WebAPIRequestError (network,
 * timeout, a refused address).
 */
function classifyWebApiThrown(
  thrown: unknown,
  what: string,
  deadline: Pick<Deadline, 'aborted' | 'timedOut'>,
): SendFailure {
  const refused = findAddressRefused(thrown) ?? findAddressRefused((thrown as SlackSdkError)?.original);
  if (refused) return fail('broken', 'refused', refused.message);
  if (deadline.timedOut()) return fail('retry', 'timeout', `${what}: no response in time`);
  if (deadline.aborted) return fail('retry', 'timeout', `${what}: attempt aborted by the caller`);
  const err = (typeof thrown === 'object' && thrown !== null ? thrown : {}) as SlackSdkError;
  switch (err.code) {
    case ErrorCode.RateLimitedError: {
      const seconds = typeof err.retryAfter === 'number' ? err.retryAfter : undefined;
      return fail(
        'retry',
        'rateLimited',
        `${what}: rate limited`,
        seconds === undefined ? undefined : Math.ceil(seconds * 1000),
      );
    }
    case ErrorCode.PlatformError: {
      const error = typeof err.data?.error === 'string' ? err.data.error : 'unknown_error';
      const seconds = err.data?.response_metadata?.retryAfter;
      return classifySlackError(error, what, typeof seconds === 'number' ? seconds * 1000 : undefined);
    }
    case ErrorCode.HTTPError: {
      const status = typeof err.statusCode === 'number' ? err.statusCode : 0;
      const retryAfterMs = parseRetryAfterMs(err.headers?.['retry-after']);
      return (
        classifyHttpStatus(status, retryAfterMs, what) ??
        fail('retry', 'serverError', `${what}: HTTP ${status}`)
      );
    }
    case ErrorCode.RequestError: {
      const original = err.original instanceof Error ? err.original : undefined;
      if (original?.name === 'TimeoutError' || original?.name === 'AbortError') {
        return fail('retry', 'timeout', `${what}: no response in time`);
      }
      return fail('retry', 'network', `${what}: ${networkCause(original)}`);
    }
    default: {
      // A 429 without a usable Retry-After makes the SDK throw a plain Error rather than a coded one.
      const message = typeof err.message === 'string' ? err.message : '';
      if (message.startsWith('Retry header did not contain a valid timeout')) {
        return fail('retry', 'rateLimited', `${what}: rate limited (no usable Retry-After)`);
      }
      return fail('retry', 'network', `${what}: ${message || 'unexpected error'}`);
    }
  }
}

function networkCause(original: Error | undefined): string {
  let current: unknown = original?.cause ?? original;
  let label = original?.message ?? 'network error';
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    label = typeof code === 'string' ? code : current.message;
    current = current.cause;
  }
  return label;
}

/** raceAbort settles with the caller's abort when it comes first (the SDK takes no per-call signal). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * createSlackDestination posts alerts to Slack: with a bot token through `chat.postMessage` (Block Kit +
 * text fallback, unfurls off, the screenshot uploaded into the message's thread), or with an incoming-webhook
 * URL through our own guarded request on a keep-alive pool (so a 429's Retry-After is seen; webhooks cannot
 * upload files). The SDK never retries or waits on a rate limit: the deliver stage decides.
 */
export function createSlackDestination(
  name: string,
  options: SlackOptions,
  deps: DestinationDeps,
): Destination {
  const guard = { allowPrivateNetworks: options.allowPrivateNetworks ?? false, timeoutMs: options.timeoutMs };
  const redact = createRedactor([options.token, options.signingSecret, ...urlSecrets(options.webhookUrl)]);
  const finish = (result: SendResult): SendResult =>
    result.ok ? result : { ...result, detail: redact(result.detail) };

  const mode = slackModeOf(name, options);
  if (mode.via === 'token') {
    const channel = mode.channel;
    const { client, close } = createSlackClient(mode.token, options, guard, slackLogger(deps.logger, name));
    const what = 'slack chat.postMessage';
    const renderOptions = (state?: SlackState): SlackRenderOptions => ({
      ...(options.mention ? { mention: options.mention } : {}),
      ...(state ? { state } : {}),
      // Buttons only when their clicks can be verified: the interactions route needs the signing secret.
      ...(options.signingSecret === undefined ? {} : { buttonsFor: name }),
    });
    const post = (message: SlackMessage, threadTs?: string) =>
      client.chat.postMessage({
        channel,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
        unfurl_media: false,
        ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.iconEmoji === undefined ? {} : { icon_emoji: options.iconEmoji }),
      });

    const send = async (notification: Notification, context: SendContext): Promise<SendResult> => {
      const rendered = render(what, () => renderSlackMessage(notification.alert, renderOptions()));
      if (!rendered.ok) return rendered.failure;
      const message = rendered.value;
      // One deadline for the whole attempt, the screenshot upload included: raceAbort ends our wait at
      // it, and the SDK's own timeout (the same length) ends its request.
      const deadline = createDeadline(context.signal, options.timeoutMs);
      try {
        const original = context.conversation;
        if (original?.channel !== undefined && original.ts !== undefined) {
          return await followUp(
            message,
            notification,
            { channel: original.channel, ts: original.ts },
            deadline,
          );
        }
        return await postWithScreenshot(message, notification, context, deadline);
      } finally {
        deadline.dispose();
      }
    };

    /**
     * followUp posts in the thread of the alert's first message; a resolve first updates that message to
     * show it. The update comes first because it is idempotent: when the reply then fails, the retry
     * updates again and posts the reply once it goes through.
     */
    const followUp = async (
      message: SlackMessage,
      notification: Notification,
      original: { channel: string; ts: string },
      deadline: Deadline,
    ): Promise<SendResult> => {
      let note: string | undefined;
      if (notification.alert.status === 'resolved') {
        const state: SlackState = { kind: 'resolved', label: 'Resolved', at: notification.alert.at };
        const updated = render('slack chat.update', () => renderSlackMessage(notification.alert, { state }));
        if (!updated.ok) return updated.failure;
        try {
          await raceAbort(
            client.chat.update({
              channel: original.channel,
              ts: original.ts,
              text: updated.value.text,
              blocks: updated.value.blocks,
            }),
            deadline.signal,
          );
        } catch (thrown) {
          const failure = classifyWebApiThrown(thrown, 'slack chat.update', deadline);
          // The original is gone or may no longer be edited: the reply still says it resolved.
          if (!isGoneOriginal(thrown)) return finish(failure);
          note = `original message not updated: ${failure.detail}`;
        }
      }
      try {
        await raceAbort(post(message, original.ts), deadline.signal);
      } catch (thrown) {
        return finish(classifyWebApiThrown(thrown, `${what} (thread reply)`, deadline));
      }
      return note === undefined ? { ok: true } : { ok: true, detail: redact(note) };
    };

    const postWithScreenshot = async (
      message: SlackMessage,
      notification: Notification,
      context: SendContext,
      deadline: Deadline,
    ): Promise<SendResult> => {
      let posted: { channel?: string; ts?: string };
      try {
        posted = await raceAbort(post(message), deadline.signal);
      } catch (thrown) {
        return finish(classifyWebApiThrown(thrown, what, deadline));
      }
      // Where the message went: follow-ups of this alert go in its thread and update it.
      const conversation =
        posted.ts === undefined ? undefined : { channel: posted.channel ?? channel, ts: posted.ts };
      const started = conversation ? { conversation } : {};
      if (!context.image) return { ok: true, ...started };
      // The message is out; a failed upload must not make the queue post it again, so it is a note.
      const upload = await uploadScreenshot(client, posted, context, notification, deadline.signal).catch(
        (thrown: unknown) => classifyWebApiThrown(thrown, 'slack file upload', deadline),
      );
      return upload.ok
        ? { ...upload, ...started }
        : {
            ok: true,
            detail: redact(`message posted; screenshot not attached: ${upload.detail}`),
            ...started,
          };
    };
    return { name, type: 'slack', threads: true, send, close };
  }

  const webhookUrl = mode.webhookUrl;
  const what = `slack incoming webhook ${safeHost(webhookUrl)}`;
  const now = deps.now ?? Date.now;
  const safeRequest = createSafeRequest(guard);

  const send = async (notification: Notification, context: SendContext): Promise<SendResult> => {
    const rendered = render(what, () =>
      JSON.stringify(
        webhookBody(
          renderSlackMessage(notification.alert, options.mention ? { mention: options.mention } : {}),
          options,
        ),
      ),
    );
    if (!rendered.ok) return rendered.failure;
    const deadline = createDeadline(context.signal, options.timeoutMs);
    try {
      const response = await safeRequest(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'hookrelay' },
        body: rendered.value,
        signal: deadline.emitter,
      });
      if (response.status === 200) {
        // The status is the answer (the body only says `ok`): a body cut at the deadline is still delivered.
        const notes = [
          ...(response.bodyCut ? [cutNote(what, 200, deadline, options.timeoutMs)] : []),
          ...(context.image
            ? ['screenshot not attached: Slack incoming webhooks cannot upload files (use a bot token)']
            : []),
        ];
        return notes.length === 0 ? { ok: true } : { ok: true, detail: redact(notes.join('; ')) };
      }
      const retryAfterMs = parseRetryAfterMs(headerValue(response, 'retry-after'), now());
      const excerpt = excerptOf(response.bodyPrefix);
      const code = excerpt.trim();
      if (response.status === 429)
        return finish(fail('retry', 'rateLimited', `${what}: HTTP 429`, retryAfterMs));
      if (response.status < 500 && WEBHOOK_MESSAGE_ERRORS.has(code)) {
        return finish(fail('dead', 'payloadRejected', `${what}: HTTP ${response.status} ${code}`));
      }
      if (response.status < 500 && WEBHOOK_DESTINATION_ERRORS.has(code)) {
        const reason = code === 'invalid_token' || code === 'action_prohibited' ? 'authError' : 'notFound';
        return finish(fail('broken', reason, `${what}: HTTP ${response.status} ${code}`));
      }
      const failure =
        classifyHttpStatus(response.status, retryAfterMs, what) ?? fail('retry', 'serverError', what);
      return finish({ ...failure, detail: excerpt ? `${failure.detail}: ${excerpt}` : failure.detail });
    } catch (thrown) {
      return finish(classifyThrown(thrown, deadline, what));
    } finally {
      deadline.dispose();
    }
  };
  return { name, type: 'slack', send, close: () => safeRequest.close() };
}

/** webhookBody is the incoming-webhook JSON (legacy hooks honour username/icon_emoji; app hooks ignore them). */
function webhookBody(message: SlackMessage, options: SlackOptions): Record<string, unknown> {
  return {
    text: message.text,
    blocks: message.blocks,
    unfurl_links: false,
    unfurl_media: false,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.iconEmoji === undefined ? {} : { icon_emoji: options.iconEmoji }),
  };
}

/** A file title is kept short; Slack shows it above the image (limit undocumented, 255 is the usual cap). */
const MAX_FILE_TITLE_CHARS = 200;

/**
 * uploadScreenshot uploads the image into the thread of the posted message with the external upload flow
 * (files.getUploadURLExternal → POST bytes → files.completeUploadExternal), against the same API base.
 * Needs the `files:write` scope.
 */
async function uploadScreenshot(
  client: WebClient,
  posted: { channel?: string; ts?: string },
  context: SendContext,
  notification: Notification,
  signal: AbortSignal,
): Promise<SendResult> {
  const image = context.image;
  if (!image) return { ok: true };
  if (!posted.channel || !posted.ts) {
    return fail('dead', 'clientError', 'slack file upload: chat.postMessage returned no channel/ts');
  }
  await raceAbort(
    client.filesUploadV2({
      channel_id: posted.channel,
      thread_ts: posted.ts,
      file: image.bytes,
      filename: screenshotFilename(image.mime, 'bin'),
      title: truncate(
        singleLine(`Screenshot: ${forDisplay(notification.alert).title}`),
        MAX_FILE_TITLE_CHARS,
      ),
      alt_text: 'Screenshot attached to the alert',
    }),
    signal,
  );
  return { ok: true };
}

/**
 * updateSlackMessage replaces a message a bot-mode destination posted (chat.update), for the interactions
 * route ("Silenced for 1h by Ada"). It resolves with a problem (token, scope, message gone), never rejects.
 */
export async function updateSlackMessage(
  name: string,
  options: SlackOptions,
  deps: DestinationDeps,
  message: { channel: string; ts: string; text: string; blocks: unknown[] },
): Promise<string | undefined> {
  const mode = slackModeOf(name, options);
  if (mode.via !== 'token') return 'an incoming webhook cannot update messages';
  const guard = { allowPrivateNetworks: options.allowPrivateNetworks ?? false, timeoutMs: options.timeoutMs };
  const redact = createRedactor([options.token, options.signingSecret]);
  const { client, close } = createSlackClient(mode.token, options, guard, slackLogger(deps.logger, name));
  const deadline = createDeadline(new AbortController().signal, options.timeoutMs);
  try {
    await raceAbort(
      client.chat.update({
        channel: message.channel,
        ts: message.ts,
        text: message.text,
        blocks: message.blocks as (KnownBlock | Block)[],
      }),
      deadline.signal,
    );
    return undefined;
  } catch (thrown) {
    return redact(classifyWebApiThrown(thrown, 'slack chat.update', deadline).detail);
  } finally {
    deadline.dispose();
    await close();
  }
}
