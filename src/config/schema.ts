import { z } from 'zod';
import { type DestinationConfig, destinationConfigSchema } from '../destinations/config.js';
import type { Person } from '../domain/item.js';
import type { CompiledRuleSet } from '../rules/engine.js';
import { durationString, ruleSchema, ruleTestSchema, silenceSchema } from '../rules/schema.js';
import { type ConfigIssueCode, didYouMean } from './issues.js';
import { allowFromSchema, checkBufferedSize, type ServerConfig, serverSchema } from './server.js';
import { SIZE_PATTERN } from './size.js';

/*
 * The zod schema of the whole rules file. Every object is strict: a misspelt key is an error, never
 * silently ignored. Error texts given here are noun phrases ("a duration such as …") because load.ts
 * turns each into "expected <phrase>, got <value>"; custom issues that are whole sentences carry
 * `params.plain`.
 */

/** IssueParams is what custom issues in this schema may carry for load.ts. */
export interface IssueParams {
  /** The message is a whole sentence, not an "expected …" phrase. */
  plain?: boolean;
  hint?: string;
  /** Default HR_ERR_CONFIG_INVALID_VALUE. */
  code?: ConfigIssueCode;
}

const expectedWords = new WeakMap<object, string>();

type SchemaInternals = { _zod?: { def?: { checks?: Array<{ _zod?: { def?: { pattern?: unknown } } }> } } };

/** patternsOf lists the regex sources a string schema checks. */
function patternsOf(schema: unknown): string[] {
  const checks = (schema as SchemaInternals)._zod?.def?.checks ?? [];
  return checks.flatMap((check) => {
    const pattern = check._zod?.def?.pattern;
    return pattern instanceof RegExp ? [pattern.source] : [];
  });
}

const DURATION_WORDS = 'a duration such as 30s, 5m, 2h or 1d';
const DURATION_PATTERNS = patternsOf(durationString).join('\n');

/**
 * expectedWordsFor returns the plain-words expectation registered for a schema, if any. A duration is
 * recognised by its pattern too: `.describe()` or `.optional()` make a new schema object, which the
 * registry would not know (so `window: 30` read "expected text" instead of asking for a unit).
 */
export function expectedWordsFor(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const registered = expectedWords.get(schema);
  if (registered !== undefined) return registered;
  return DURATION_PATTERNS !== '' && patternsOf(schema).join('\n') === DURATION_PATTERNS
    ? DURATION_WORDS
    : undefined;
}

// durationString belongs to the rules schema and has no schema-level error text, so a number where a
// duration belongs would read "expected a string"; registering words for it fixes that everywhere.
expectedWords.set(durationString, DURATION_WORDS);

const duration = durationString;
const nonEmpty = z.string().min(1);

const SIZE_WORDS = 'a size such as 512kb, 10mb or 1gb';
const size = z.string({ error: SIZE_WORDS }).regex(SIZE_PATTERN, SIZE_WORDS);

const secretList = (what: string) =>
  z
    .array(z.string({ error: `a ${what} (text)` }).min(1, `a non-empty ${what}`))
    .min(1, `at least one ${what}`);

/** SOURCE_NAME is the allowed shape of a source name, which becomes the URL segment /webhooks/<name>. */
export const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const sourceCommon = {
  tolerance: duration
    .default('5m')
    .describe('How far the signed timestamp may be from now before a request is rejected (replay window).'),
  maxBodySize: size.default('10mb').describe('Largest accepted request body, e.g. 512kb, 10mb.'),
  allowFrom: allowFromSchema,
};

const trackpilotsSourceSchema = z
  .object({
    type: z.literal('trackpilots').describe('Trackpilots desktop events: x-webhook-signature, HMAC-SHA256.'),
    secrets: secretList('secret').describe(
      'Webhook signing secrets; list several to rotate without downtime.',
    ),
    ...sourceCommon,
  })
  .strict();

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const HEADER_WORDS = 'an HTTP header name such as x-signature';
const headerName = z.string({ error: HEADER_WORDS }).regex(HEADER_NAME, HEADER_WORDS);

const hmacSourceSchema = z
  .object({
    type: z.literal('hmac').describe('Any HMAC-SHA256-signed JSON webhook.'),
    header: headerName.describe('Header carrying the signature, e.g. x-hub-signature-256.'),
    encoding: z.enum(['hex', 'base64']).default('hex').describe('How the signature digest is encoded.'),
    prefix: z.string().optional().describe('Text before the digest in the header, e.g. "sha256=".'),
    timestampHeader: headerName.optional().describe('Header carrying the signing timestamp, if any.'),
    signedContent: z
      .string()
      .optional()
      .describe(
        'What is signed: {timestamp} and {body} placeholders. Default "{timestamp}.{body}" with a timestampHeader, else "{body}".',
      ),
    secrets: secretList('secret').describe('Signing secrets; list several to rotate without downtime.'),
    ...sourceCommon,
    eventField: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Dotted path of the event type in the JSON body, e.g. "action" or "event.name". Default: "type", else "event".',
      ),
  })
  .strict()
  .superRefine((source, ctx) => {
    if (source.signedContent === undefined) return;
    const placeholders = [...source.signedContent.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] ?? '');
    for (const name of placeholders) {
      if (name !== 'timestamp' && name !== 'body') {
        ctx.addIssue({
          code: 'custom',
          path: ['signedContent'],
          message: `unknown placeholder {${name}}`,
          params: { plain: true, hint: 'use {timestamp} and {body}' } satisfies IssueParams,
        });
      }
    }
    if (!placeholders.includes('body')) {
      ctx.addIssue({
        code: 'custom',
        path: ['signedContent'],
        message: 'signedContent must include {body}',
        params: { plain: true, hint: 'a signature that does not cover the body proves nothing' },
      });
    }
    if (placeholders.includes('timestamp') && source.timestampHeader === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['signedContent'],
        message: 'signedContent uses {timestamp} but no timestampHeader is set',
        params: { plain: true, hint: 'add timestampHeader, or remove {timestamp}' },
      });
    }
  });

const whsecWords = 'a Standard Webhooks secret such as whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const standardWebhooksSourceSchema = z
  .object({
    type: z.literal('standard-webhooks').describe('Standard Webhooks: webhook-id/-timestamp/-signature.'),
    secrets: z
      .array(z.string({ error: whsecWords }).regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, whsecWords))
      .min(1, 'at least one secret')
      .describe('whsec_… secrets; list several to rotate without downtime.'),
    ...sourceCommon,
  })
  .strict();

/** sourceSchema is one inbound webhook source, chosen by `type`. */
export const sourceSchema = z.discriminatedUnion('type', [
  trackpilotsSourceSchema,
  hmacSourceSchema,
  standardWebhooksSourceSchema,
]);

/** personSchema is one person in `people` (payloads carry only ids; this makes alerts readable). */
export const personSchema = z
  .object({
    id: nonEmpty.describe('The user id as the source sends it.'),
    name: z.string().optional(),
    email: z.string().optional(),
    slack: z.string().optional().describe('Slack member id, e.g. U012ABCDEF.'),
    discord: z.string().optional().describe('Discord user id.'),
    team: z.string().optional(),
    manager: z.string().optional().describe("The manager's person id."),
  })
  .strict();

/** PERSON_KEYS lists the columns a people CSV may have. */
export const PERSON_KEYS = Object.keys(personSchema.shape);

const peopleFileSchema = z
  .object({
    file: nonEmpty.describe('A CSV file (with a header row) or YAML list of people, relative to this file.'),
  })
  .strict();

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const HOURS_WORDS = 'a time range such as "09:00-17:30" (24-hour clock)';

function minutesOf(hours: string, minutes: string): number {
  return Number(hours) * 60 + Number(minutes);
}

/** parseHours reads "09:00-17:30" into minutes after midnight, or undefined when it is not a range. */
export function parseHours(text: string): { startMinute: number; endMinute: number } | undefined {
  const match = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(text.trim());
  if (match === null) return undefined;
  const [, sh = '', sm = '', eh = '', em = ''] = match;
  const startMinute = minutesOf(sh, sm);
  const endMinute = minutesOf(eh, em);
  if (Number(sm) > 59 || Number(em) > 59 || startMinute >= 24 * 60 || endMinute > 24 * 60) return undefined;
  if (startMinute === endMinute) return undefined;
  return { startMinute, endMinute };
}

const hoursRange = z
  .string({ error: HOURS_WORDS })
  .refine((text) => parseHours(text) !== undefined, HOURS_WORDS);

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const TIMEZONE_WORDS = 'an IANA timezone such as Europe/Berlin or UTC';
const timezone = z.string({ error: TIMEZONE_WORDS }).superRefine((name, ctx) => {
  if (isTimeZone(name)) return;
  const hint = didYouMean(name, Intl.supportedValuesOf('timeZone'), 'timezone');
  ctx.addIssue({
    code: 'custom',
    message: TIMEZONE_WORDS,
    params: hint?.startsWith('did you mean') ? { hint } : {},
  });
});

const scheduleSchema = z
  .object({
    timezone: timezone.describe('IANA timezone the hours are read in, e.g. Europe/Berlin.'),
    days: z
      .array(z.enum(DAYS))
      .min(1, 'at least one day')
      .default([...DAYS])
      .describe('Days of the week (mon … sun); default every day.'),
    hours: z
      .union([hoursRange, z.array(hoursRange).min(1, 'at least one time range')])
      .default('00:00-24:00')
      .describe('"09:00-17:30" or a list of ranges; a range ending before it starts runs past midnight.'),
  })
  .strict();

/**
 * destinationSchema is one place alerts go, chosen by `type`. The per-type schemas live with their
 * adapters (src/destinations/<type>/config.ts), so the loader and the adapters can never disagree; a
 * parsed entry goes to `toDestinationOptions` as it is.
 */
export const destinationSchema = destinationConfigSchema;

/** configSchema is the zod schema of a whole rules file, after `${ENV}` interpolation. */
export const configSchema = z
  .object({
    version: z.literal(1).describe('Rules file format version; always 1.'),
    sources: z
      .record(z.string(), sourceSchema)
      .meta({ propertyNames: { pattern: SOURCE_NAME.source } })
      .describe('Inbound webhooks by name; each is served at POST /webhooks/<name>.'),
    people: z
      .array(z.union([personSchema, peopleFileSchema]))
      .default([])
      .describe('People by user id, so alerts show names; or { file: people.csv } to load a list.'),
    schedules: z
      .record(z.string(), scheduleSchema)
      .default({})
      .describe("Named time windows for rules' during/outside and silences."),
    silences: z.array(silenceSchema).default([]).describe('Planned quiet periods.'),
    destinations: z
      .record(z.string(), destinationSchema)
      .describe('Where alerts go, by name: slack, discord, email, webhook or log.'),
    rules: z.array(ruleSchema).describe('When to alert and where to.'),
    tests: z.array(ruleTestSchema).default([]).describe('Rule tests, run with: hookrelay test'),
    retention: z
      .object({ events: duration.default('7d').describe('How long delivered events are kept.') })
      .strict()
      .optional(),
    server: serverSchema
      .prefault({})
      .describe('Limits of the HTTP listener: timeouts, connections, buffered bodies, trusted proxies.'),
  })
  .strict()
  .superRefine((config, ctx) => checkBufferedSize(config.server.maxBufferedSize, config.sources, ctx));

/** RawConfig is the rules file as the schema returns it (defaults applied; durations still strings, except in `destinations`, which are in milliseconds). */
export type RawConfig = z.infer<typeof configSchema>;
/** RawSource is one source as written in the file. */
export type RawSource = z.infer<typeof sourceSchema>;
/** RawDestination is one destination as parsed (defaults applied, durations in milliseconds). */
export type RawDestination = DestinationConfig;
/** RawSchedule is one schedule as written in the file. */
export type RawSchedule = z.infer<typeof scheduleSchema>;

type HmacSource = z.infer<typeof hmacSourceSchema>;

/** SourceConfig is one source ready for ingest: the raw fields plus values in runtime units. */
export type SourceConfig = (
  | z.infer<typeof trackpilotsSourceSchema>
  | (Omit<HmacSource, 'signedContent'> & { signedContent: string })
  | z.infer<typeof standardWebhooksSourceSchema>
) & {
  name: string;
  toleranceMs: number;
  maxBodyBytes: number;
};

/**
 * Config is a loaded, checked rules file. The parts the runtime needs now are resolved (milliseconds,
 * bytes, people files read); everything else is read from `raw`.
 */
export interface Config {
  /** The path the file was loaded from, as given. */
  file: string;
  sources: Record<string, SourceConfig>;
  /** Every person, with `{ file }` entries expanded, in file order. */
  people: Person[];
  retention: { eventsMs: number };
  /** The `server:` section (times in ms, sizes in bytes), read by the HTTP listener. */
  server: ServerConfig;
  raw: RawConfig;
  /** The rules, compiled once per load (indexed by event type, templates parsed). */
  ruleSet: CompiledRuleSet;
}
