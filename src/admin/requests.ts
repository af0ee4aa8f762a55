import { z } from 'zod';
import type { EventPageQuery, NotificationStatus } from '../store/admin-ports.js';
import { AdminErrorCode, adminError } from './errors.js';
import { intField, limitField, optionalText, parseWith, timeField } from './params.js';
import type { SilenceInput } from './silence-actions.js';

/*
 * The requests the API, the page's forms and the CLI send, parsed once here: the names are the API's
 * (documented in the README), the values become the store's and the service's.
 */

const statusField = z.enum(['pending', 'delivered', 'dead']).optional();

/** eventQueryOf parses `source, type, user, since, until, before, limit` into the store's event query. */
export function eventQueryOf(input: unknown, now: () => number): EventPageQuery {
  const query = parseWith(
    z.object({
      source: optionalText,
      type: optionalText,
      user: optionalText,
      since: z.union([optionalText.pipe(z.undefined()), timeField(now)]).optional(),
      until: z.union([optionalText.pipe(z.undefined()), timeField(now)]).optional(),
      before: intField.optional(),
      limit: limitField(50),
    }),
    input,
    'query',
  );
  return {
    limit: query.limit,
    ...(query.before !== undefined ? { beforeSeq: query.before } : {}),
    ...(query.source !== undefined ? { source: query.source } : {}),
    ...(query.type !== undefined ? { type: query.type } : {}),
    ...(query.user !== undefined ? { user: query.user } : {}),
    ...(query.since !== undefined ? { receivedFrom: query.since } : {}),
    ...(query.until !== undefined ? { receivedTo: query.until } : {}),
  };
}

/** AlertQuery is the alerts list's filter and page. */
export interface AlertQuery {
  limit: number;
  before?: number;
  rule?: string;
  destination?: string;
  status?: NotificationStatus;
}

/** alertQueryOf parses `rule, destination, status, before, limit`. */
export function alertQueryOf(input: unknown): AlertQuery {
  const query = parseWith(
    z.object({
      rule: optionalText,
      destination: optionalText,
      status: z.union([z.literal('').transform(() => undefined), statusField]),
      before: intField.optional(),
      limit: limitField(50, 200),
    }),
    input,
    'query',
  );
  return {
    limit: query.limit,
    ...(query.before !== undefined ? { before: query.before } : {}),
    ...(query.rule !== undefined ? { rule: query.rule } : {}),
    ...(query.destination !== undefined ? { destination: query.destination } : {}),
    ...(query.status !== undefined ? { status: query.status } : {}),
  };
}

/** ReplaySelection is which dead letters to replay: exactly one of ids, destination or all. */
export interface ReplaySelection {
  ids?: string[];
  destination?: string;
  all?: boolean;
  /** Only count what would be replayed (for the confirmation). */
  dryRun: boolean;
}

const flag = z
  .union([z.boolean(), z.enum(['true', 'false', 'on', '1', '0'])])
  .optional()
  .transform((value) => value === true || value === 'true' || value === 'on' || value === '1');

/** replaySelectionOf parses `{ ids } | { destination } | { all: true }`, plus `dryRun`. */
export function replaySelectionOf(input: unknown): ReplaySelection {
  const body = parseWith(
    z.object({
      ids: z
        .union([z.string(), z.array(z.string())])
        .optional()
        .transform((value) => (value === undefined ? undefined : Array.isArray(value) ? value : [value])),
      destination: optionalText,
      all: flag,
      dryRun: flag,
      _csrf: z.string().optional(),
    }),
    input,
    'body',
  );
  const given = [body.ids !== undefined, body.destination !== undefined, body.all].filter(Boolean).length;
  if (given !== 1) {
    throw adminError(
      AdminErrorCode.badRequest,
      'body: give exactly one of "ids", "destination" or "all": true',
      400,
    );
  }
  const selection: ReplaySelection = { dryRun: body.dryRun };
  if (body.ids !== undefined) selection.ids = body.ids;
  else if (body.destination !== undefined) selection.destination = body.destination;
  else selection.all = true;
  return selection;
}

/** silenceInputOf parses a new silence: `{ matchers, startsAt?, endsAt, comment, createdBy }`. */
export function silenceInputOf(input: unknown, now: () => number): SilenceInput {
  const body = parseWith(
    z.object({
      matchers: z.record(z.string().min(1), z.unknown()),
      startsAt: timeField(now, 'future').optional(),
      endsAt: timeField(now, 'future'),
      comment: z.string().trim().min(1, 'say why (a comment is required)').max(1_000),
      createdBy: z.string().trim().min(1, 'say who (createdBy is required)').max(200),
    }),
    input,
    'body',
  );
  return {
    matchers: body.matchers,
    endsAt: body.endsAt,
    comment: body.comment,
    createdBy: body.createdBy,
    ...(body.startsAt !== undefined ? { startsAt: body.startsAt } : {}),
  };
}
