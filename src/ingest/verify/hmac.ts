import { createHmac, timingSafeEqual } from 'node:crypto';
import { HookrelayError } from '../../lib/errors.js';
import type { VerifyFailure, VerifyResult } from './result.js';

/** HmacAlgorithm names the hash functions a source may sign with. */
export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** DIGEST_BYTES is each algorithm's HMAC length; a candidate of any other length can never match. */
export const DIGEST_BYTES: Readonly<Record<HmacAlgorithm, number>> = { sha1: 20, sha256: 32, sha512: 64 };

/**
 * MAX_SIGNATURE_CANDIDATES caps how many signatures one request may offer. Senders offer one per active
 * secret (two during a rotation); a header with more is treated as malformed rather than compared.
 */
export const MAX_SIGNATURE_CANDIDATES = 16;

/** MS_THRESHOLD separates the timestamp units: an integer above it is milliseconds, otherwise seconds. */
export const MS_THRESHOLD = 1e12;

/**
 * SignedContent is the signed message as parts fed to the HMAC in order, so a large body is hashed in
 * place instead of being copied into one concatenated buffer. Strings are UTF-8.
 */
export type SignedContent = readonly (Buffer | string)[];

/** KeySet is a source's secrets as HMAC keys, decoded once when the verifier is built (never per request). */
export interface KeySet {
  readonly keys: readonly Buffer[];
  readonly algorithm: HmacAlgorithm;
  readonly toleranceMs: number;
}

/** HmacMatch says whether any candidate equalled the HMAC under any key, and under which key. */
export type HmacMatch = { matched: true; keyIndex: number } | { matched: false };

/** hmacDigest computes the HMAC of `content` under `key`. */
export function hmacDigest(key: Buffer, algorithm: HmacAlgorithm, content: SignedContent): Buffer {
  const hmac = createHmac(algorithm, key);
  for (const part of content) hmac.update(part);
  return hmac.digest();
}

/**
 * matchHmac is the one constant-time comparison. It computes the digest under every key and compares it
 * with every candidate of the digest's length using `timingSafeEqual`, without stopping at the first match,
 * so the time taken does not reveal which secret (or which candidate) matched. Only lengths, which the
 * algorithm makes public, decide which comparisons run.
 */
export function matchHmac(input: {
  content: SignedContent;
  candidates: readonly Buffer[];
  keys: readonly Buffer[];
  algorithm: HmacAlgorithm;
}): HmacMatch {
  let keyIndex = -1;
  for (let index = 0; index < input.keys.length; index++) {
    const digest = hmacDigest(input.keys[index]!, input.algorithm, input.content);
    for (const candidate of input.candidates) {
      if (candidate.length !== digest.length) continue;
      const equal = timingSafeEqual(candidate, digest);
      if (equal && keyIndex === -1) keyIndex = index;
    }
  }
  return keyIndex === -1 ? { matched: false } : { matched: true, keyIndex };
}

/** TimestampUnit says how to read a timestamp header: `auto` takes values above 1e12 as milliseconds. */
export type TimestampUnit = 'auto' | 'seconds';

/** TimestampCheck is the outcome of checkTimestamp. */
export type TimestampCheck =
  | { ok: true; timestampMs: number }
  | {
      ok: false;
      code: Extract<
        VerifyFailure,
        'HR_ERR_SIG_TIMESTAMP_INVALID' | 'HR_ERR_SIG_TIMESTAMP_TOO_OLD' | 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE'
      >;
    };

// Digits only: no sign, no fraction, no exponent, no whitespace. 16 digits hold any millisecond epoch.
const INTEGER = /^[0-9]{1,16}$/;

/**
 * checkTimestamp reads a timestamp header and checks it lies within `toleranceMs` of `nowMs`, on either
 * side. With unit `auto` an integer above 1e12 is epoch milliseconds and any other epoch seconds (the
 * Trackpilots header unit is undocumented); with `seconds` the value is always seconds. It never accepts a
 * non-integer, a sign or surrounding text.
 */
export function checkTimestamp(
  raw: string,
  nowMs: number,
  toleranceMs: number,
  unit: TimestampUnit = 'auto',
): TimestampCheck {
  if (!INTEGER.test(raw)) return { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' };
  const value = Number(raw);
  const timestampMs = unit === 'auto' && value > MS_THRESHOLD ? value : value * 1000;
  if (!Number.isSafeInteger(timestampMs)) return { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_INVALID' };
  if (nowMs - timestampMs > toleranceMs) return { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_TOO_OLD' };
  if (timestampMs - nowMs > toleranceMs) return { ok: false, code: 'HR_ERR_SIG_TIMESTAMP_IN_FUTURE' };
  return { ok: true, timestampMs };
}

/**
 * SignedRequest is what every adapter reduces a request to: the timestamp header as received (when the
 * scheme signs one), the signed content, and the decoded candidate signatures.
 */
export interface SignedRequest {
  timestamp?: { raw: string; unit: TimestampUnit };
  content: SignedContent;
  candidates: readonly Buffer[];
}

/**
 * verifySigned is the shared tail of every adapter: it rejects a request whose candidates could never
 * match (none of the digest's length, or too many), then checks the timestamp, then compares in constant
 * time. It never throws.
 */
export function verifySigned(request: SignedRequest, keySet: KeySet, nowMs: number): VerifyResult {
  const digestBytes = DIGEST_BYTES[keySet.algorithm];
  if (request.candidates.length > MAX_SIGNATURE_CANDIDATES)
    return { ok: false, code: 'HR_ERR_SIG_MALFORMED' };
  const candidates = request.candidates.filter((candidate) => candidate.length === digestBytes);
  if (candidates.length === 0) return { ok: false, code: 'HR_ERR_SIG_MALFORMED' };

  let timestampMs: number | undefined;
  if (request.timestamp !== undefined) {
    const checked = checkTimestamp(request.timestamp.raw, nowMs, keySet.toleranceMs, request.timestamp.unit);
    if (!checked.ok) return checked;
    timestampMs = checked.timestampMs;
  }

  const match = matchHmac({
    content: request.content,
    candidates,
    keys: keySet.keys,
    algorithm: keySet.algorithm,
  });
  if (!match.matched) return { ok: false, code: 'HR_ERR_SIG_MISMATCH' };
  return timestampMs === undefined
    ? { ok: true, secretIndex: match.keyIndex }
    : { ok: true, secretIndex: match.keyIndex, timestampMs };
}

/**
 * createKeySet turns a source's configured secrets into HMAC keys with `toKey`. It throws
 * HR_ERR_CONFIG_INVALID when there is no secret, a secret is empty or `toKey` rejects it; the message
 * names the secret's position, never its value.
 */
export function createKeySet(options: {
  secrets: readonly string[];
  toKey: (secret: string) => Buffer | undefined;
  algorithm: HmacAlgorithm;
  toleranceMs: number;
  scheme: string;
}): KeySet {
  if (options.secrets.length === 0) {
    throw new HookrelayError('HR_ERR_CONFIG_INVALID', `${options.scheme} source needs at least one secret`);
  }
  if (!(options.toleranceMs >= 0)) {
    throw new HookrelayError('HR_ERR_CONFIG_INVALID', `${options.scheme} source tolerance must be 0 or more`);
  }
  const keys = options.secrets.map((secret, index) => {
    const key = secret === '' ? undefined : options.toKey(secret);
    if (key === undefined || key.length === 0) {
      throw new HookrelayError(
        'HR_ERR_CONFIG_INVALID',
        `${options.scheme} source secrets[${index}] is empty or invalid`,
      );
    }
    return key;
  });
  return { keys, algorithm: options.algorithm, toleranceMs: options.toleranceMs };
}
