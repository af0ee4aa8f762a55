import { createHmac } from 'node:crypto';
import { decodeHex } from './encoding.js';
import { readHeader } from './headers.js';
import { createKeySet, verifySigned } from './hmac.js';
import { failure, type Verifier } from './result.js';

/** TrackpilotsVerifierConfig configures a `trackpilots` source; several secrets allow a rotation. */
export interface TrackpilotsVerifierConfig {
  type: 'trackpilots';
  secrets: readonly string[];
  toleranceMs: number;
}

/** TRACKPILOTS_SIGNATURE_HEADER carries the hex HMAC-SHA256 signature. */
export const TRACKPILOTS_SIGNATURE_HEADER = 'x-webhook-signature';
/** TRACKPILOTS_TIMESTAMP_HEADER carries the signed timestamp (seconds or milliseconds; undocumented). */
export const TRACKPILOTS_TIMESTAMP_HEADER = 'x-webhook-timestamp';

// Undocumented, so tolerated rather than required; compared case-insensitively like the hex itself.
const PREFIX = /^sha256=/i;

/**
 * createTrackpilotsVerifier checks `x-webhook-signature`: hex HMAC-SHA256, keyed with the secret's UTF-8
 * bytes, of `<x-webhook-timestamp as received>.<raw body>`. Hex of either case and a `sha256=` prefix are
 * accepted; the timestamp may be seconds or milliseconds (the unit is undocumented). Secrets are turned
 * into keys once, here.
 */
export function createTrackpilotsVerifier(config: TrackpilotsVerifierConfig): Verifier {
  const keySet = createKeySet({
    secrets: config.secrets,
    toKey: (secret) => Buffer.from(secret, 'utf8'),
    algorithm: 'sha256',
    toleranceMs: config.toleranceMs,
    scheme: 'trackpilots',
  });
  return (headers, rawBody, nowMs) => {
    const signature = readHeader(headers, TRACKPILOTS_SIGNATURE_HEADER);
    if (signature.kind === 'missing') return failure('HR_ERR_SIG_MISSING');
    const timestamp = readHeader(headers, TRACKPILOTS_TIMESTAMP_HEADER);
    if (timestamp.kind === 'missing') return failure('HR_ERR_SIG_TIMESTAMP_MISSING');
    if (signature.kind === 'repeated' || timestamp.kind === 'repeated')
      return failure('HR_ERR_SIG_MALFORMED');

    const candidate = decodeHex(signature.value.replace(PREFIX, ''));
    if (candidate === undefined) return failure('HR_ERR_SIG_MALFORMED');
    // The timestamp is signed exactly as it arrived: re-formatting the number would change the bytes.
    return verifySigned(
      {
        timestamp: { raw: timestamp.value, unit: 'auto' },
        content: [timestamp.value, '.', rawBody],
        candidates: [candidate],
      },
      keySet,
      nowMs,
    );
  };
}

/**
 * signTrackpilots returns the lower-case hex signature Trackpilots would send for `body` at `timestamp`
 * (the header string, used as is). For tests and tools; the verifier does not call it.
 */
export function signTrackpilots(body: Uint8Array | string, secret: string, timestamp: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.`).update(body).digest('hex');
}
