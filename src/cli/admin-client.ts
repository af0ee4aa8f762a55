import { AdminErrorCode, adminError } from '../admin/errors.js';
import { HookrelayError } from '../lib/errors.js';

/*
 * The CLI's client of the admin JSON API, so commands work against a relay elsewhere (a container, a
 * server): `--url` or HOOKRELAY_ADMIN_URL names the admin listener, HOOKRELAY_ADMIN_TOKEN is sent as a
 * Bearer token (never printed). Errors are HookrelayErrors: the API's own code and message, or
 * HR_ERR_ADMIN_UNREACHABLE / HR_ERR_ADMIN_BAD_RESPONSE.
 */

/** DEFAULT_ADMIN_URL is where a relay on this machine answers (ADMIN_HOST/ADMIN_PORT defaults). */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:3001';
const TIMEOUT_MS = 30_000;

export interface AdminTarget {
  url: string;
  token?: string;
}

/** adminTargetOf picks the admin URL (flag, then HOOKRELAY_ADMIN_URL, then the local default) and token. */
export function adminTargetOf(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): AdminTarget {
  const url = (flag ?? env['HOOKRELAY_ADMIN_URL'] ?? '').trim() || DEFAULT_ADMIN_URL;
  const token = env['HOOKRELAY_ADMIN_TOKEN']?.trim();
  return { url: url.replace(/\/+$/, ''), ...(token ? { token } : {}) };
}

export interface AdminClient {
  get<T>(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
}

/** createAdminClient talks to one admin listener. */
export function createAdminClient(target: AdminTarget, fetchImpl: typeof fetch = fetch): AdminClient {
  let base: URL;
  try {
    base = new URL(target.url);
  } catch {
    throw adminError(AdminErrorCode.unreachable, `"${target.url}" is not a URL such as ${DEFAULT_ADMIN_URL}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw adminError(AdminErrorCode.unreachable, `the admin URL must be http(s), got ${base.protocol}`);
  }
  const headers = (json: boolean): Record<string, string> => ({
    accept: 'application/json',
    ...(json ? { 'content-type': 'application/json' } : {}),
    ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
  });
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const url = new URL(path, base);
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers: headers(body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw adminError(AdminErrorCode.unreachable, `cannot reach the admin API at ${base.origin} (${cause})`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw adminError(
        AdminErrorCode.badResponse,
        `${base.origin} answered ${response.status} with something that is not the admin API (is it the webhook port?)`,
      );
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      if (typeof error?.code === 'string' && typeof error.message === 'string') {
        throw new HookrelayError(error.code, error.message, { statusCode: response.status });
      }
      throw adminError(AdminErrorCode.badResponse, `${base.origin} answered ${response.status}`);
    }
    return parsed as T;
  };
  return {
    get: (path, query = {}) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query))
        if (value !== undefined) params.set(key, String(value));
      const search = params.toString();
      return call('GET', search ? `${path}?${search}` : path);
    },
    post: (path, body) => call('POST', path, body ?? {}),
  };
}

/** describeFailure renders an error of a remote command for stderr (code included), or rethrows a bug. */
export function describeFailure(command: string, error: unknown): string {
  if (error instanceof HookrelayError) return `hookrelay ${command}: ${error.message} (${error.code})\n`;
  throw error;
}
