import { LogLevel, type Logger as SlackLogger, WebClient } from '@slack/web-api';
import type { Logger } from '../../lib/log.js';
import { createSafeFetch } from '../../lib/safe-fetch.js';
import type { SlackOptions } from './config.js';

/*
 * The Slack Web API client as every call of a bot-mode destination uses it (a send, and the update of an
 * original after a button click): our address guard on every request, no SDK retries or rate-limit
 * waiting (the deliver stage decides those), and the SDK's logging folded into ours.
 */

/** Slack's Web API base; `apiUrl` overrides it (Enterprise Grid, tests). https://docs.slack.dev/apis/web-api/ */
export const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';

/**
 * createSlackClient builds a WebClient for `token` whose requests go through the address guard; `close`
 * releases the guard's connections.
 */
export function createSlackClient(
  token: string,
  options: Pick<SlackOptions, 'apiUrl' | 'timeoutMs'>,
  guard: { allowPrivateNetworks: boolean; timeoutMs: number },
  logger: SlackLogger,
): { client: WebClient; close: () => Promise<void> } {
  const safeFetch = createSafeFetch(guard);
  const client = new WebClient(token, {
    slackApiUrl: options.apiUrl ?? DEFAULT_SLACK_API_URL,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs,
    allowAbsoluteUrls: false,
    logger,
    fetch: (url, init) =>
      safeFetch(url, {
        method: init?.method ?? 'POST',
        headers: init?.headers ?? {},
        ...(init?.body === undefined ? {} : { body: init.body }),
        ...(init?.signal ? { signal: init.signal } : {}),
      }),
  });
  return { client, close: () => safeFetch.close() };
}

/** slackLogger forwards the SDK's warnings and errors to our logger (never its debug output, which dumps bodies). */
export function slackLogger(logger: Logger, destination: string): SlackLogger {
  const child = logger.child({ destination, component: 'slack-web-api' });
  const text = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : String(part))).join(' ');
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...parts: unknown[]) => child.warn(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.WARN,
    setName: () => undefined,
  };
}
