import { HookrelayError } from '../../lib/errors.js';
import { decodeBase64, decodeHex } from './encoding.js';
import { readHeader } from './headers.js';
import { createKeySet, type HmacAlgorithm, type SignedContent, verifySigned } from './hmac.js';
import { failure, type Verifier } from './result.js';

/**
 * GenericHmacVerifierConfig configures an `hmac` source: which header carries the signature, how it is
 * encoded, an optional prefix on each signature (`sha256=`), and, for replay protection, a timestamp header
 * and the template of the signed content (`{timestamp}` and `{body}` placeholders).
 */
export interface GenericHmacVerifierConfig {
  type: 'hmac';
  secrets: readonly string[];
  toleranceMs: number;
  header: string;
  encoding: 'hex' | 'base64';
  prefix?: string;
  timestampHeader?: string;
  /** Default `{timestamp}.{body}` with a timestamp header, `{body}` without. */
  signedContent?: string;
  /** Default sha256. */
  algorithm?: HmacAlgorithm;
}

type TemplatePart = { literal: string } | { placeholder: 'timestamp' | 'body' };

function invalid(message: string): HookrelayError {
  return new HookrelayError('HR_ERR_CONFIG_INVALID', `hmac source ${message}`);
}

/**
 * parseSignedContent splits a signed-content template into literal text and placeholders, once per
 * verifier. It throws HR_ERR_CONFIG_INVALID for an unknown placeholder, for `{body}` missing or repeated,
 * for `{timestamp}` without a timestamp header, and for a timestamp header the template does not sign
 * (a timestamp nobody signed protects against nothing: anyone could change it).
 */
export function parseSignedContent(template: string, hasTimestampHeader: boolean): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let bodies = 0;
  let timestamps = 0;
  for (const piece of template.split(/(\{[^{}]*\})/)) {
    if (piece === '') continue;
    if (piece === '{body}') {
      bodies++;
      parts.push({ placeholder: 'body' });
    } else if (piece === '{timestamp}') {
      timestamps++;
      parts.push({ placeholder: 'timestamp' });
    } else if (/^\{[^{}]*\}$/.test(piece)) {
      throw invalid(`signedContent has an unknown placeholder ${piece} (use {timestamp} and {body})`);
    } else {
      parts.push({ literal: piece });
    }
  }
  if (bodies !== 1) throw invalid('signedContent must contain {body} exactly once');
  if (timestamps > 0 && !hasTimestampHeader)
    throw invalid('signedContent uses {timestamp} but no timestampHeader is set');
  if (timestamps === 0 && hasTimestampHeader)
    throw invalid('timestampHeader is set but signedContent does not sign {timestamp}');
  return parts;
}

/**
 * createGenericHmacVerifier checks a configurable HMAC signature header. The header may hold several
 * signatures separated by commas or spaces (a sender's rotation); with a `prefix`, only entries carrying it
 * count. Secrets are used as UTF-8 keys. Without a timestamp header there is no replay protection and the
 * result has no `timestampMs`.
 */
export function createGenericHmacVerifier(config: GenericHmacVerifierConfig): Verifier {
  const algorithm = config.algorithm ?? 'sha256';
  const keySet = createKeySet({
    secrets: config.secrets,
    toKey: (secret) => Buffer.from(secret, 'utf8'),
    algorithm,
    toleranceMs: config.toleranceMs,
    scheme: 'hmac',
  });
  // Config may spell header names in any case; Node gives them lower-case.
  const signatureHeader = config.header.toLowerCase();
  const timestampHeader = config.timestampHeader?.toLowerCase();
  if (signatureHeader === '') throw invalid('header must name the signature header');
  const template = parseSignedContent(
    config.signedContent ?? (timestampHeader === undefined ? '{body}' : '{timestamp}.{body}'),
    timestampHeader !== undefined,
  );
  const decode = config.encoding === 'hex' ? decodeHex : decodeBase64;
  const prefix = config.prefix ?? '';

  return (headers, rawBody, nowMs) => {
    const signature = readHeader(headers, signatureHeader);
    if (signature.kind === 'missing') return failure('HR_ERR_SIG_MISSING');
    let timestampRaw: string | undefined;
    if (timestampHeader !== undefined) {
      const timestamp = readHeader(headers, timestampHeader);
      if (timestamp.kind === 'missing') return failure('HR_ERR_SIG_TIMESTAMP_MISSING');
      if (timestamp.kind === 'repeated') return failure('HR_ERR_SIG_MALFORMED');
      timestampRaw = timestamp.value;
    }
    if (signature.kind === 'repeated') return failure('HR_ERR_SIG_MALFORMED');

    const candidates: Buffer[] = [];
    for (const entry of signature.value.split(/[\s,]+/)) {
      if (entry === '' || !entry.startsWith(prefix)) continue;
      const decoded = decode(entry.slice(prefix.length));
      if (decoded !== undefined) candidates.push(decoded);
    }
    const content: SignedContent = template.map((part) => {
      if ('literal' in part) return part.literal;
      return part.placeholder === 'body' ? rawBody : (timestampRaw ?? '');
    });
    return verifySigned(
      {
        ...(timestampRaw === undefined ? {} : { timestamp: { raw: timestampRaw, unit: 'auto' as const } }),
        content,
        candidates,
      },
      keySet,
      nowMs,
    );
  };
}
