import { z } from 'zod';

/*
 * DRAFT owned by the rules work (issue 3): the zod schema of one rule and of one rules-file test.
 * src/config/schema.ts composes these into the whole file. Durations are strings here (`30m`) and are
 * checked by the `duration` refinement below; the compiler turns them into milliseconds.
 */

export const durationString = z
  .string()
  .regex(/^(\d+(?:\.\d+)?(ms|s|m|h|d|w))+$/, 'a duration such as 30s, 5m, 2h or 1d');

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const operatorSchema = z
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
    regex: z.string(),
    exists: z.boolean(),
    contains: scalar,
  })
  .partial()
  .strict();

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { [path: string]: unknown };

/** A condition: `{ path: value }` equality shorthand, `{ path: { op: value } }`, or all/any/not. */
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(conditionSchema) }).strict(),
    z.object({ any: z.array(conditionSchema) }).strict(),
    z.object({ not: conditionSchema }).strict(),
    z.record(z.string(), z.union([scalar, operatorSchema])),
  ]),
);

const comparison = { gt: z.number(), gte: z.number(), lt: z.number(), lte: z.number() };

export const thresholdSchema = z
  .object({
    per: z.string().default('user'),
    window: durationString,
    count: z.number().int().positive(),
    sum: z.string(),
    avg: z.string(),
    min: z.string(),
    max: z.string(),
    ratio: z.string(),
    ...comparison,
    minCount: z.number().int().nonnegative(),
    repeat: durationString,
    resolve: z.boolean(),
  })
  .partial()
  .required({ window: true })
  .strict();

export const absentSchema = z
  .object({
    on: z.union([z.string(), z.array(z.string())]),
    per: z.string().default('user'),
    for: durationString,
    if: conditionSchema.optional(),
  })
  .strict();

export const messageSchema = z.object({ title: z.string().optional(), text: z.string().optional() }).strict();

export const ruleSchema = z
  .object({
    name: z.string().min(1),
    on: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    if: conditionSchema.optional(),
    users: z.array(z.string()).optional(),
    teams: z.array(z.string()).optional(),
    threshold: thresholdSchema.optional(),
    absent: absentSchema.optional(),
    cooldown: durationString.optional(),
    per: z.string().optional(),
    resolve: z.boolean().optional(),
    during: z.string().optional(),
    outside: z.string().optional(),
    digest: z.object({ every: durationString }).strict().optional(),
    simulation: z.enum(['include', 'ignore', 'only']).optional(),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    attach: z.literal('screenshot').optional(),
    message: messageSchema.optional(),
    to: z.array(z.string()).min(1),
  })
  .strict();

export type RuleConfig = z.infer<typeof ruleSchema>;

export const silenceSchema = z
  .object({
    name: z.string().optional(),
    matchers: z.record(z.string(), z.union([scalar, z.array(scalar)])).optional(),
    rules: z.array(z.string()).optional(),
    starts: z.string().optional(),
    ends: z.string().optional(),
    during: z.string().optional(),
    comment: z.string().optional(),
  })
  .strict();

export const ruleTestSchema = z
  .object({
    name: z.string(),
    events: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).min(1),
    expect: z.array(
      z
        .object({
          rule: z.string(),
          to: z.string().optional(),
          count: z.number().int().nonnegative().optional(),
        })
        .strict(),
    ),
  })
  .strict();
