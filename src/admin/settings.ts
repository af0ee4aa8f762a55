import { isIP } from 'node:net';
import { AdminErrorCode } from './errors.js';

/** DEFAULT_ADMIN_HOST and DEFAULT_ADMIN_PORT are where the dashboard listens unless told otherwise. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
export const DEFAULT_ADMIN_PORT = 3001;

/** AdminSettings say where the admin listener binds and which token, if any, guards it. */
export interface AdminSettings {
  host: string;
  port: number;
  /** From HOOKRELAY_ADMIN_TOKEN; undefined: no authentication (loopback only). */
  token?: string;
}

/** AdminSettingsResult is the settings, `off`, or why the environment cannot be used. */
export type AdminSettingsResult =
  | { ok: true; settings: AdminSettings | undefined }
  | { ok: false; code: AdminErrorCode; message: string };

/** Shorter tokens are refused: the token is the only thing between the network and the relay's data. */
export const MIN_TOKEN_CHARS = 16;

/**
 * isLoopbackHost says whether a bind address only accepts connections from this machine. Names other
 * than `localhost` are not resolved here: they count as reachable from outside.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}

/**
 * adminSettingsFromEnv reads ADMIN_HOST, ADMIN_PORT and HOOKRELAY_ADMIN_TOKEN. It refuses a non-loopback
 * host without a token (the dashboard can replay, silence and reload: it must not be open to a network),
 * and never echoes the token.
 */
export function adminSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): AdminSettingsResult {
  const portText = (env['ADMIN_PORT'] ?? '').trim();
  if (portText.toLowerCase() === 'off') return { ok: true, settings: undefined };
  const port = portText === '' ? DEFAULT_ADMIN_PORT : Number(portText);
  if (!/^\d*$/.test(portText) || !Number.isInteger(port) || port < 0 || port > 65_535) {
    return {
      ok: false,
      code: AdminErrorCode.settingsInvalid,
      message: `ADMIN_PORT must be a port number from 0 to 65535, or "off", got "${portText}"`,
    };
  }
  const host = (env['ADMIN_HOST'] ?? '').trim() || DEFAULT_ADMIN_HOST;
  const tokenText = env['HOOKRELAY_ADMIN_TOKEN'];
  const token = tokenText === undefined || tokenText.trim() === '' ? undefined : tokenText.trim();
  if (token !== undefined && token.length < MIN_TOKEN_CHARS) {
    return {
      ok: false,
      code: AdminErrorCode.settingsInvalid,
      message: `HOOKRELAY_ADMIN_TOKEN must be at least ${MIN_TOKEN_CHARS} characters (e.g. openssl rand -hex 32)`,
    };
  }
  if (token === undefined && !isLoopbackHost(host)) {
    return {
      ok: false,
      code: AdminErrorCode.tokenRequired,
      message:
        `ADMIN_HOST=${host} would open the dashboard (replay, silence, reload) to the network without a ` +
        'password: set HOOKRELAY_ADMIN_TOKEN, or keep ADMIN_HOST=127.0.0.1 and reach it through an SSH tunnel',
    };
  }
  return { ok: true, settings: { host, port, ...(token === undefined ? {} : { token }) } };
}
