import { HookrelayError } from '../../lib/errors.js';
import { standardWebhookSignature } from '../../lib/standard-webhooks.js';
import { decodeBase64 } from './encoding.js';
import { readHeader } from './headers.js';
import { createKeySet, verifySigned } from './hmac.js';
import { failure, type Verifier } from './result.js';

/** StandardWebhooksVerifierConfig configures a `standard-webhooks` source; secrets are `whsec_…` strings. */
export interface StandardWebhooksVerifierConfig {
  type: 'standard-webhooks';
  secrets: readonly string[];
  toleranceMs: number;
}

/** STANDARD_WEBHOOKS_ID_HEADER carries the message id, the same on every retry (the receiver's idempotency key). */
export const STANDARD_WEBHOOKS_ID_HEADER = 'webhook-id';
/** STANDARD_WEBHOOKS_TIMESTAMP_HEADER carries the attempt's time, integer epoch seconds. */
export const STANDARD_WEBHOOKS_TIMESTAMP_HEADER = 'webhook-timestamp';
/** STANDARD_WEBHOOKS_SIGNATURE_HEADER carries the space-separated `v1,<base64>` signatures. */
export const STANDARD_WEBHOOKS_SIGNATURE_HEADER = 'webhook-signature';

const SECRET_PREFIX = 'whsec_';

/**
 * standardWebhookKey returns the HMAC key of a Standard Webhooks secret: the base64-decoded bytes after an
 * optional `whsec_` prefix (as the reference library does), or undefined when that is not base64.
 */
export function standardWebhookKey(secret: string): Buffer | undefined {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return decodeBase64(encoded);
}

/**
 * createStandardWebhooksVerifier checks `webhook-signature`, a space-separated list of `v1,<base64>`
 * entries (several during a sender's key rotation), against HMAC-SHA256 of
 * `<webhook-id>.<webhook-timestamp>.<raw body>`. The timestamp is integer seconds as the spec says.
 * Entries of other versions (such as the asymmetric `v1a`) are ignored; a header with no usable `v1`
 * entry is malformed.
 */
export function createStandardWebhooksVerifier(config: StandardWebhooksVerifierConfig): Verifier {
  const keySet = createKeySet({
    secrets: config.secrets,
    toKey: standardWebhookKey,
    algorithm: 'sha256',
    toleranceMs: config.toleranceMs,
    scheme: 'standard-webhooks',
  });
  return (headers, rawBody, nowMs) => {
    const signature = readHeader(headers, STANDARD_WEBHOOKS_SIGNATURE_HEADER);
    if (signature.kind === 'missing') return failure('HR_ERR_SIG_MISSING');
    const id = readHeader(headers, STANDARD_WEBHOOKS_ID_HEADER);
    if (id.kind === 'missing') return failure('HR_ERR_SIG_ID_MISSING');
    const timestamp = readHeader(headers, STANDARD_WEBHOOKS_TIMESTAMP_HEADER);
    if (timestamp.kind === 'missing') return failure('HR_ERR_SIG_TIMESTAMP_MISSING');
    if (signature.kind === 'repeated' || id.kind === 'repeated' || timestamp.kind === 'repeated') {
      return failure('HR_ERR_SIG_MALFORMED');
    }

    const candidates: Buffer[] = [];
    for (const entry of signature.value.split(' ')) {
      if (!entry.startsWith('v1,')) continue;
      const decoded = decodeBase64(entry.slice(3));
      if (decoded !== undefined) candidates.push(decoded);
    }
    return verifySigned(
      {
        timestamp: { raw: timestamp.value, unit: 'seconds' },
        content: [id.value, '.', timestamp.value, '.', rawBody],
        candidates,
      },
      keySet,
      nowMs,
    );
  };
}

/**
 * signStandardWebhook returns the `v1,<base64>` signature for one message, for the `webhook-signature`
 * header. `timestamp` is epoch seconds; the body is signed as the exact bytes that will be sent. It throws
 * HR_ERR_CONFIG_INVALID when the secret is not base64 rather than sign with a key no receiver holds.
 */
export function signStandardWebhook(message: {
  id: string;
  timestamp: number | string;
  body: Buffer | string;
  secret: string;
}): string {
  const key = standardWebhookKey(message.secret);
  if (key === undefined || key.length === 0) {
    throw new HookrelayError('HR_ERR_CONFIG_INVALID', 'standard-webhooks secret is not base64 (whsec_…)');
  }
  return standardWebhookSignature(key, message.id, message.timestamp, message.body);
}
