import { randomUUID } from 'node:crypto';
import { formatTimestamp } from '../src/cli/send.js';
import {
  type AnySampleOptions,
  type SampleEvent,
  type SampleKind,
  sampleEvent,
} from '../src/cli/send-samples.js';
import { signTrackpilots } from '../src/ingest/verify/trackpilots.js';

/** BenchRequest is one signed POST, ready to send. */
export interface BenchRequest {
  body: Buffer;
  headers: Record<string, string>;
}

/** RequestStream hands out signed requests; every body is distinct from every other. */
export interface RequestStream {
  next(): BenchRequest;
  /** How many requests were handed out. */
  readonly made: number;
}

/** StreamOptions shape the sample each request is made from. */
export interface StreamOptions {
  kind: SampleKind;
  secret: string;
  /** Items per app batch (default 12). */
  items?: number;
}

/**
 * createRequestStream returns an endless stream of distinct signed Trackpilots requests.
 *
 * Why not a pool of pre-built bodies cycled round: at 10k req/s a pool of a few thousand repeats
 * within a second, the relay then dedupes instead of storing, and the figure flatters it. Why not a
 * fresh sample per request: building 12 items with dates and UUIDs costs more than the relay's own
 * work and would make the load generator the bottleneck. So one realistic sample is built, its ids are
 * cut out into slots, and request n fills each slot with a UUID made from a random prefix and n. The
 * user id is a slot too, because the activity event has no per-item id and is deduplicated by content.
 *
 * The timestamp header is fixed when the stream is made (so make it just before a run): a run is far
 * shorter than the relay's 5-minute tolerance.
 */
export function createRequestStream(options: StreamOptions): RequestStream {
  const nowMs = Date.now();
  const sampleOptions: AnySampleOptions = { userId: randomUUID(), now: nowMs };
  if (options.items !== undefined) sampleOptions.items = options.items;
  const sample = sampleEvent(options.kind, sampleOptions);
  const template = compileTemplate(JSON.stringify(sample), slotValues(sample));
  const timestamp = formatTimestamp(nowMs, 'ms');
  let made = 0;
  return {
    next(): BenchRequest {
      const body = Buffer.from(template.render(made++));
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'x-webhook-timestamp': timestamp,
          'x-webhook-signature': signTrackpilots(body, options.secret, timestamp),
        },
      };
    },
    get made() {
      return made;
    },
  };
}

/** The ids that must differ between requests for the relay to store each one. */
function slotValues(sample: SampleEvent): string[] {
  const data = sample.data;
  const first = Array.isArray(data) ? data[0] : data;
  if (!first) throw new Error('sample has no data');
  const slots = [first.user.userId];
  if (Array.isArray(data)) {
    for (const item of data) {
      if ('tracking' in item) slots.push(item.tracking.trackingId);
      if ('screenshot' in item) slots.push(item.screenshot.screenshotId);
    }
  }
  return slots;
}

interface Template {
  render(n: number): string;
}

function compileTemplate(json: string, slots: string[]): Template {
  // Each slot gets its own random v4-looking prefix (8-4-4-4-), so values never collide across slots
  // or across streams; the last 12 hex digits are the request number.
  const prefixes = new Map(slots.map((value) => [value, randomUUID().slice(0, 24)]));
  const parts: string[] = [];
  const fills: string[] = [];
  const pattern = new RegExp(slots.map(escapeRegExp).join('|'), 'g');
  let last = 0;
  for (const match of json.matchAll(pattern)) {
    parts.push(json.slice(last, match.index));
    fills.push(prefixes.get(match[0]) as string);
    last = match.index + match[0].length;
  }
  parts.push(json.slice(last));
  if (fills.length < slots.length) throw new Error('template: some ids were not found in the sample');
  return {
    render(n: number): string {
      const suffix = n.toString(16).padStart(12, '0');
      let out = parts[0] as string;
      for (let i = 0; i < fills.length; i++) out += (fills[i] as string) + suffix + (parts[i + 1] as string);
      return out;
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
