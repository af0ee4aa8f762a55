/**
 * HookrelayError is the one error type the project throws on purpose. `code` is stable and never reused
 * (see docs/errors.md); `message` is for a person; `statusCode` is set where the error maps to HTTP.
 */
export class HookrelayError extends Error {
  readonly code: string;
  readonly statusCode: number | undefined;

  constructor(code: string, message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HookrelayError';
    this.code = code;
    this.statusCode = options.statusCode;
  }
}

/** coerceError turns anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : 'non-error thrown', { cause: thrown });
}
