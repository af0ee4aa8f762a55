import type { IncomingHttpHeaders } from 'node:http';
import type { NewEvent } from '../domain/event.js';
import { type AddressMatcher, createAddressMatcher } from '../lib/cidr.js';
import { normalizeGeneric } from './normalize/generic.js';
import { normalizeTrackpilots } from './normalize/trackpilots.js';
import { createVerifier, type VerifierConfig, type VerifyResult } from './verify/index.js';

export type NormalizeOutcome =
  | { ok: true; event: string; events: NewEvent[]; warnings: string[] }
  | { ok: false; code: string; reason: string };

export interface NormalizeContext {
  source: string;
  receivedAt: number;
  headers: IncomingHttpHeaders;
}

/** IngestSource is one configured source, ready for the hot path: verifier keys are precomputed. */
export interface IngestSource {
  name: string;
  type: VerifierConfig['type'];
  maxBodyBytes: number;
  /** Says whether a client address may send to this source (`allowFrom`); undefined: any may. */
  allows?: AddressMatcher;
  verify: (headers: IncomingHttpHeaders, rawBody: Buffer, nowMs: number) => VerifyResult;
  normalize: (payload: unknown, context: NormalizeContext) => NormalizeOutcome;
}

export interface IngestSourceConfig {
  verifier: VerifierConfig;
  maxBodyBytes: number;
  eventField?: string;
  /** Client address ranges (CIDR) the source accepts requests from; undefined: any. */
  allowFrom?: readonly string[];
}

/** createIngestSource builds the verifier and the normaliser a source's type calls for. */
export function createIngestSource(name: string, config: IngestSourceConfig): IngestSource {
  const verify = createVerifier(config.verifier);
  const normalize =
    config.verifier.type === 'trackpilots'
      ? (payload: unknown, context: NormalizeContext): NormalizeOutcome =>
          normalizeTrackpilots(payload, { source: context.source, receivedAt: context.receivedAt })
      : (payload: unknown, context: NormalizeContext): NormalizeOutcome => {
          const deliveryId = context.headers['webhook-id'];
          return normalizeGeneric(payload, {
            source: context.source,
            receivedAt: context.receivedAt,
            eventField: config.eventField,
            deliveryId: typeof deliveryId === 'string' ? deliveryId : undefined,
          });
        };
  return {
    name,
    type: config.verifier.type,
    maxBodyBytes: config.maxBodyBytes,
    ...(config.allowFrom === undefined ? {} : { allows: createAddressMatcher(config.allowFrom) }),
    verify,
    normalize,
  };
}
