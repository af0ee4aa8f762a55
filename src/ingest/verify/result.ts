/**
 * VerifyFailure names every way a webhook's signature check can fail. The codes are stable: they go to
 * logs and metric labels (never to the caller, who only sees a generic 401) and are listed in docs/errors.md.
 */
export type VerifyFailure =
  | 'HR_ERR_SIG_MISSING'
  | 'HR_ERR_SIG_ID_MISSING'
  | 'HR_ERR_SIG_TIMESTAMP_MISSING'
  | 'HR_ERR_SIG_TIMESTAMP_INVALID'
  | 'HR_ERR_SIG_TIMESTAMP_TOO_OLD'
  | 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE'
  | 'HR_ERR_SIG_MISMATCH'
  | 'HR_ERR_SIG_MALFORMED';

/**
 * VerifyResult is the outcome of one verification. `secretIndex` says which configured secret matched (for
 * a rotation metric); `timestampMs` is the signed timestamp, absent only for a generic HMAC source that
 * signs none.
 */
export type VerifyResult =
  | { ok: true; secretIndex: number; timestampMs?: number }
  | { ok: false; code: VerifyFailure };

/** HeaderMap is a request's headers as Node gives them: lower-case names, arrays for repeated headers. */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Verifier checks one request against a source's precomputed keys. It never throws and never parses the body. */
export type Verifier = (headers: HeaderMap, rawBody: Buffer, nowMs: number) => VerifyResult;

/** failure builds the failing VerifyResult for `code`. */
export function failure(code: VerifyFailure): VerifyResult {
  return { ok: false, code };
}
