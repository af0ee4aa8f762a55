import { z } from 'zod';
import { parseDurationMs } from '../lib/duration.js';

/*
 * Building blocks of the destination schemas. The config loader (src/config) composes these schemas into
 * the whole rules file and phrases every issue as "expected <message>, got <value>", so messages here are
 * noun phrases; a whole-sentence message carries `params: { plain: true }` (see ConfigIssueParams).
 */

/**
 * ConfigIssueParams is what a custom issue may carry for the config loader: `plain` marks a whole-sentence
 * message (not an "expected …" phrase), `hint` is shown in parentheses, `code` overrides the issue code.
 */
export interface ConfigIssueParams {
  plain?: boolean;
  hint?: string;
  code?: 'HR_ERR_CONFIG_INVALID_VALUE' | 'HR_ERR_CONFIG_MISSING_KEY';
}

/** The shape every config duration has (the same grammar as the rules' durations, plus `ms`). */
const DURATION_PATTERN = /^(\d+(?:\.\d+)?(ms|s|m|h|d|w))+$/;
const DURATION_WORDS = 'a duration such as 10s, 1m or 250ms';

/**
 * durationMs is a config duration (`10s`, `1m30s`, `250ms`) parsed to milliseconds; it must be positive.
 * A bare number gets the same words, so the loader can suggest adding a unit.
 */
export const durationMs = z
  .string({ error: (issue) => (issue.code === 'invalid_type' ? DURATION_WORDS : undefined) })
  .regex(DURATION_PATTERN, DURATION_WORDS)
  .transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: 'a duration above zero, such as 10s, 1m or 250ms' });
      return z.NEVER;
    }
    return ms;
  });

/** httpUrlOf is an absolute http(s) URL; `words` say what is expected when the value is not one. */
export function httpUrlOf(words = 'an http or https URL'): z.ZodURL {
  return z.url({ protocol: /^https?$/, error: words });
}

/** httpUrl is an absolute http(s) URL. */
export const httpUrl = httpUrlOf();
