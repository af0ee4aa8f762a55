import { z } from 'zod';

/*
 * The zod schema of one rule, one silence and one rules-file test (issue 3). src/config/schema.ts composes
 * these into the whole file. Shapes are checked here; what needs more than one key at a time (exactly one
 * aggregate in a threshold, a regex that compiles, a template that parses, a schedule that exists) is
 * checked by compileRules, which returns positioned problems the loader turns into file:line:col errors.
 */

/** durationString is a duration as written in the file (`30s`, `5m`, `2h`, `1d`, `1h30m`). */
export const durationString = z
  .string()
  .regex(/^(\d+(?:\.\d+)?(ms|s|m|h|d|w))+$/, 'a duration such as 30s, 5m, 2h or 1d');

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** Scalar is a value a condition compares with. */
export type Scalar = z.infer<typeof scalar>;

/** operatorSchema is `{ op: operand }` for one field; several operators on one field must all hold. */
export const operatorSchema = z
  .object({
    eq: scalar,
    ne: scalar,
    in: z.array(scalar),
    nin: z.array(scalar),
    gt: z.number(),
    gte: z.number(),
    lt: z.number(),
    lte: z.number(),
    between: z.tuple([z.number(), z.number()]),
    regex: z
      .string()
      .describe(
        'A regular expression in RE2 syntax (linear time: no lookaround or backreferences); write /pattern/i for flags.',
      ),
    exists: z.boolean(),
    contains: scalar,
  })
  .partial()
  .strict();

/** Operators is one field's operator object. */
export type Operators = z.infer<typeof operatorSchema>;

/**
 * Condition is `{ path: value }` (equality; a list means "one of"), `{ path: { op: operand } }`, or
 * all/any/not of conditions. Several paths in one map must all hold.
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { [path: string]: Scalar | Scalar[] | Operators };

/** conditionSchema is the zod schema of a Condition. */
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(conditionSchema).min(1) }).strict(),
    z.object({ any: z.array(conditionSchema).min(1) }).strict(),
    z.object({ not: conditionSchema }).strict(),
    z.record(z.string().min(1), z.union([scalar, z.array(scalar), operatorSchema])),
  ]),
);

/**
 * thresholdSchema aggregates the matching items per key over a sliding window. Exactly one aggregate
 * (`count`, `sum`, `avg`, `min`, `max`, `ratio`) and, except for `count: <n>`, exactly one comparison.
 */
export const thresholdSchema = z
  .object({
    per: z.string().min(1).default('user').describe('user, team, org, or a field path: one state per value.'),
    window: durationString.describe("Sliding window over the items' own time."),
    lateness: durationString
      .optional()
      .describe('How late an item may arrive and still count (default: the window).'),
    count: z
      .union([z.number().int().positive(), z.literal(true)])
      .optional()
      .describe('count: 3 alone means at least 3; count: true compares the count with gt/gte/lt/lte.'),
    sum: z.string().min(1).optional().describe('Field path summed over the matching items.'),
    avg: z.string().min(1).optional(),
    min: z.string().min(1).optional(),
    max: z.string().min(1).optional(),
    ratio: z
      .string()
      .min(1)
      .optional()
      .describe('Field summed over matching items divided by the same field over all items of the key.'),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
    minCount: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'For lt/lte: items of the key the window must hold first (default: a full window of activity).',
      ),
    repeat: durationString.optional().describe('Alert again while the condition holds, this often.'),
    resolve: z.boolean().optional().describe('Send a resolved alert when the condition clears.'),
  })
  .strict();

/** absentSchema is a per-key dead-man's switch: no matching item for `for`. */
export const absentSchema = z
  .object({
    on: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    per: z.string().min(1).default('user'),
    for: durationString,
    if: conditionSchema.optional(),
    watch: z
      .enum(['seen', 'people'])
      .optional()
      .describe(
        'seen (default): keys that sent a matching item (with during:, since the current stretch began); people: also everyone in people: never seen.',
      ),
  })
  .strict();

/** timeOfDay is a local time of day as written in the file (`17:00`, `9:30`). */
const timeOfDay = z.string().regex(/^([01]?\d|2[0-3]):[0-5]\d$/, 'a time of day such as 17:00');

/**
 * digestSchema folds a rule's alerts into one message per period: `every` (from the first alert), at a
 * time of day in a timezone, or at the end of each stretch of a schedule. Exactly one of the three is
 * checked by compileRules.
 */
export const digestSchema = z
  .object({
    every: durationString.optional().describe('One message this long after the first alert of a period.'),
    at: z
      .union([timeOfDay, z.array(timeOfDay).min(1)])
      .optional()
      .describe('One message at this local time of day (or each of these), e.g. "17:00".'),
    timezone: z
      .string()
      .min(1)
      .optional()
      .describe("The IANA timezone of at: (default: the timezone of the rule's during: schedule)."),
    schedule: z.string().min(1).optional().describe('One message when each stretch of this schedule ends.'),
    first: z
      .enum(['digest', 'now'])
      .optional()
      .describe('now: send the first alert of a period at once, and digest the rest of the period.'),
  })
  .strict();

/** messageSchema holds the Liquid templates of an alert's title and text. */
export const messageSchema = z.object({ title: z.string().optional(), text: z.string().optional() }).strict();

/** ruleSchema is one entry of `rules:`. */
export const ruleSchema = z
  .object({
    name: z.string().min(1),
    on: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe('Event type, glob such as desktop.*, a list, or "*".'),
    if: conditionSchema.optional(),
    users: z.array(z.string().min(1)).min(1).optional().describe('User ids or people names.'),
    teams: z.array(z.string().min(1)).min(1).optional().describe('Team ids.'),
    threshold: thresholdSchema.optional(),
    absent: absentSchema.optional(),
    cooldown: durationString.optional().describe('At most one alert per key within this duration.'),
    per: z.string().min(1).optional().describe('The key of cooldown and resolve (default user).'),
    resolve: z.boolean().optional(),
    during: z.string().min(1).optional().describe('Alert only inside this schedule.'),
    outside: z.string().min(1).optional().describe('Alert only outside this schedule.'),
    digest: digestSchema.optional(),
    simulation: z.enum(['include', 'ignore', 'only']).optional(),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    attach: z.literal('screenshot').optional(),
    message: messageSchema.optional(),
    to: z.array(z.string().min(1)).min(1),
  })
  .strict();

/** DigestConfig is a rule's `digest:`. */
export type DigestConfig = z.infer<typeof digestSchema>;
/** RuleConfig is one rule as the schema returns it (defaults applied, durations still strings). */
export type RuleConfig = z.infer<typeof ruleSchema>;
/** ThresholdConfig is a rule's `threshold:`. */
export type ThresholdConfig = z.infer<typeof thresholdSchema>;

/** silenceSchema mutes the alerts it matches while it is active. */
export const silenceSchema = z
  .object({
    name: z.string().optional(),
    matchers: z
      .record(z.string().min(1), z.union([scalar, z.array(scalar), operatorSchema]))
      .optional()
      .describe('Conditions on the item (and rule, key, severity); all must hold.'),
    rules: z.array(z.string().min(1)).min(1).optional(),
    starts: z.string().optional().describe('ISO 8601 time, e.g. 2026-03-02T14:00:00Z.'),
    ends: z.string().optional(),
    during: z.string().optional().describe('Only while this schedule is active.'),
    comment: z.string().optional(),
  })
  .strict();

/** SilenceConfig is one entry of `silences:`. */
export type SilenceConfig = z.infer<typeof silenceSchema>;

/** ruleTestSchema is one entry of `tests:`: given these events, expect these alerts. */
export const ruleTestSchema = z
  .object({
    name: z.string(),
    events: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).min(1),
    advance: durationString
      .optional()
      .describe(
        'After the last event, keep the clock ticking this long, second by second as serve does (absence, digests, thresholds held back by lateness).',
      ),
    allowOthers: z
      .union([z.boolean(), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe(
        "Alerts no expectation names fail the test; true allows any, a list allows those rules' alerts.",
      ),
    expect: z.array(
      z
        .object({
          rule: z.string(),
          to: z.string().optional(),
          count: z.number().int().nonnegative().optional(),
          status: z.enum(['firing', 'resolved']).optional(),
        })
        .strict(),
    ),
  })
  .strict();
