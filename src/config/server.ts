import { z } from 'zod';
import { durationMs } from '../destinations/duration.js';
import { parseCidr } from '../lib/cidr.js';
import type { IssueParams } from './schema.js';
import { parseSizeBytes, SIZE_PATTERN } from './size.js';

/*
 * The `server:` section: limits of the public HTTP listener (issue 15 §4 and §10). Every key has a
 * default, so the section is optional. Values come out in runtime units (ms, bytes), and a reload applies
 * them to the running listener.
 */

const SIZE_WORDS = 'a size such as 512kb, 10mb or 1gb';
const sizeBytes = z
  .string({ error: SIZE_WORDS })
  .regex(SIZE_PATTERN, SIZE_WORDS)
  .transform((text, ctx) => {
    const bytes = parseSizeBytes(text);
    if (bytes === undefined || bytes <= 0) {
      ctx.addIssue({ code: 'custom', message: 'a size above zero, such as 64mb' });
      return z.NEVER;
    }
    return bytes;
  });

const wholeNumber = (words: string, min: number) => z.int({ error: words }).min(min, words);

/** serverSchema is the `server:` section, with defaults applied and values in ms and bytes. */
export const serverSchema = z
  .object({
    headersTimeout: durationMs
      .prefault('10s')
      .describe('A request whose headers are not complete within this is answered 408 and closed.'),
    requestTimeout: durationMs
      .prefault('30s')
      .describe('A request (headers and body) not complete within this is answered 408 and closed.'),
    keepAliveTimeout: durationMs
      .prefault('72s')
      .describe(
        'How long an idle keep-alive connection stays open; keep it above the idle timeout of a load balancer in front.',
      ),
    maxConnections: wholeNumber('a whole number of connections, at least 1', 1)
      .default(1000)
      .describe('Open connections at most; one more is closed at once. Keep it well under `ulimit -n`.'),
    maxBufferedSize: sizeBytes
      .prefault('64mb')
      .describe(
        'Request bodies held in memory before their signature is checked, across all connections; a body that would pass it is answered 503 with Retry-After.',
      ),
    trustProxyHops: wholeNumber('a whole number of proxies, 0 or more', 0)
      .default(0)
      .describe(
        'Proxies (load balancers) in front that append to X-Forwarded-For; 0: the header is ignored and the peer address is the client.',
      ),
  })
  .strict()
  .superRefine((server, ctx) => {
    if (server.headersTimeout > server.requestTimeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['headersTimeout'],
        message: 'headersTimeout must not be longer than requestTimeout',
        params: { plain: true, hint: 'the headers are part of the request' } satisfies IssueParams,
      });
    }
  });

/** ServerConfig is the `server:` section as the listener uses it: times in ms, sizes in bytes. */
export type ServerConfig = z.output<typeof serverSchema>;

const CIDR_WORDS = 'an address or range such as 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32';

/** allowFromSchema is a source's `allowFrom`: the client addresses it accepts requests from. */
export const allowFromSchema = z
  .array(z.string({ error: CIDR_WORDS }).refine((text) => parseCidr(text) !== undefined, CIDR_WORDS))
  .min(1, 'at least one address range')
  .optional()
  .describe(
    'Client addresses (CIDR ranges) this source accepts; any other gets 403 before its body is read. Default: any.',
  );

/**
 * checkBufferedSize reports a `server.maxBufferedSize` below a source's `maxBodySize`: that source's
 * largest bodies could never be read.
 */
export function checkBufferedSize(
  maxBufferedBytes: unknown,
  sources: Record<string, { maxBodySize: string }>,
  ctx: z.RefinementCtx,
): void {
  // zod runs this refinement even when the section itself failed; that failure is reported already.
  if (typeof maxBufferedBytes !== 'number') return;
  for (const [name, source] of Object.entries(sources)) {
    const bodyBytes = parseSizeBytes(source.maxBodySize);
    if (bodyBytes === undefined || bodyBytes <= maxBufferedBytes) continue;
    ctx.addIssue({
      code: 'custom',
      path: ['server', 'maxBufferedSize'],
      message: `server.maxBufferedSize is smaller than the maxBodySize of source "${name}"`,
      params: { plain: true, hint: `raise it to at least ${source.maxBodySize}` } satisfies IssueParams,
    });
  }
}
