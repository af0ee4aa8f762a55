import { HookrelayError } from '../lib/errors.js';

/**
 * AdminErrorCode lists the codes of the admin listener and its clients (docs/errors.md). Codes are stable
 * and never reused. A request's error is answered as `{ error: { code, message } }` with the status.
 */
export const AdminErrorCode = {
  /** ADMIN_PORT or ADMIN_HOST cannot be used (not a port number, `off`, or a host). */
  settingsInvalid: 'HR_ERR_ADMIN_SETTINGS_INVALID',
  /** ADMIN_HOST is not a loopback address and HOOKRELAY_ADMIN_TOKEN is unset: the listener refuses to start. */
  tokenRequired: 'HR_ERR_ADMIN_TOKEN_REQUIRED',
  /** 401: no valid Bearer token or session cookie. */
  unauthorized: 'HR_ERR_ADMIN_UNAUTHORIZED',
  /** 403: a cookie session's mutating request without the right CSRF token. */
  csrf: 'HR_ERR_ADMIN_CSRF',
  /** 403: a mutating request from another origin (Origin/Referer do not name the admin listener). */
  origin: 'HR_ERR_ADMIN_ORIGIN',
  /** 421: the Host header names another host (DNS rebinding) while no token protects the listener. */
  host: 'HR_ERR_ADMIN_HOST',
  /** 400: a query or body that does not fit (which field, and why). */
  badRequest: 'HR_ERR_ADMIN_BAD_REQUEST',
  /** 404: no such event, alert, silence, destination or page. */
  notFound: 'HR_ERR_ADMIN_NOT_FOUND',
  /** 409: the action does not apply in the current state (extending an expired silence). */
  conflict: 'HR_ERR_ADMIN_CONFLICT',
  /** 422: the rules file was not reloaded; the running configuration stays (errors listed). */
  reloadRejected: 'HR_ERR_ADMIN_RELOAD_REJECTED',
  /** 500: a bug; the log has the details. */
  internal: 'HR_ERR_ADMIN_INTERNAL',
  /** CLI: the admin URL cannot be reached (refused, DNS, timeout). */
  unreachable: 'HR_ERR_ADMIN_UNREACHABLE',
  /** CLI: the admin listener answered something that is not its JSON API. */
  badResponse: 'HR_ERR_ADMIN_BAD_RESPONSE',
} as const;

export type AdminErrorCode = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];

/** adminError builds a HookrelayError with an admin code and the HTTP status it is answered with. */
export function adminError(code: AdminErrorCode, message: string, statusCode?: number): HookrelayError {
  return new HookrelayError(code, message, statusCode === undefined ? {} : { statusCode });
}
