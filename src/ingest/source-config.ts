import type { SourceConfig } from '../config/load.js';
import type { IngestSourceConfig } from './source.js';

/** ingestConfigOf maps a configured source to what the verifier and normaliser need. */
export function ingestConfigOf(source: SourceConfig): IngestSourceConfig {
  const common = { secrets: source.secrets, toleranceMs: source.toleranceMs };
  const limits = {
    maxBodyBytes: source.maxBodyBytes,
    ...(source.allowFrom === undefined ? {} : { allowFrom: source.allowFrom }),
  };
  switch (source.type) {
    case 'trackpilots':
      return { verifier: { type: 'trackpilots', ...common }, ...limits };
    case 'standard-webhooks':
      return { verifier: { type: 'standard-webhooks', ...common }, ...limits };
    case 'hmac':
      return {
        verifier: {
          type: 'hmac',
          ...common,
          header: source.header,
          encoding: source.encoding,
          prefix: source.prefix,
          timestampHeader: source.timestampHeader,
          signedContent: source.signedContent,
        },
        ...limits,
        eventField: source.eventField,
      };
  }
}
