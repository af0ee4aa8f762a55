import type { Document, LineCounter, Node } from 'yaml';
import { z } from 'zod';
import { parseDurationMs } from '../lib/duration.js';
import {
  type ConfigIssue,
  type ConfigIssueCode,
  describeValue,
  formatPath,
  type PathKey,
  suggest,
} from './issues.js';
import { type Anchor, lookupPath, positionOf } from './positions.js';
import { expectedWordsFor, type IssueParams } from './schema.js';

/*
 * Turns zod issues into ConfigIssues: plain-words messages ("expected a duration such as 30s, 5m, 2h or
 * 1d, got \"5 minutes\""), each pointing at its YAML node, with secrets never echoed.
 */

/** IssueDraft is an issue before it is given a file position. */
export interface IssueDraft {
  code: ConfigIssueCode;
  path: PathKey[];
  message: string;
  hint?: string;
  anchor: Anchor;
}

/** KeyRegistry remembers, per unrecognized_keys issue, the keys that were allowed at that spot. */
export type KeyRegistry = WeakMap<readonly string[], string[]>;

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map',
  record: 'a map',
  array: 'a list',
  tuple: 'a list',
  null: 'nothing',
};

function plural(count: number | bigint, noun: string): string {
  return `${count} ${noun}${Number(count) === 1 ? '' : 's'}`;
}

/**
 * createErrorMap returns the per-parse zod error map. It phrases each issue as what was expected, in
 * plain words, and records the allowed keys for unknown-key issues (zod keeps only the bad ones).
 */
export function createErrorMap(allowedKeys: KeyRegistry): z.core.$ZodErrorMap {
  return (issue) => {
    switch (issue.code) {
      case 'invalid_type':
        return expectedWordsFor(issue.inst) ?? TYPE_WORDS[issue.expected] ?? `a ${issue.expected}`;
      case 'unrecognized_keys':
        if (issue.inst instanceof z.ZodObject) allowedKeys.set(issue.keys, Object.keys(issue.inst.shape));
        return 'a known key';
      case 'too_small':
        if (issue.origin === 'array') return `at least ${plural(issue.minimum, 'item')}`;
        if (issue.origin === 'string')
          return issue.minimum === 1 ? 'non-empty text' : `at least ${plural(issue.minimum, 'character')}`;
        return issue.inclusive ? `a number of at least ${issue.minimum}` : `a number above ${issue.minimum}`;
      case 'too_big':
        if (issue.origin === 'array') return `at most ${plural(issue.maximum, 'item')}`;
        if (issue.origin === 'string') return `at most ${plural(issue.maximum, 'character')}`;
        return issue.inclusive ? `a number of at most ${issue.maximum}` : `a number below ${issue.maximum}`;
      case 'invalid_format':
        return issue.format === 'regex' && issue.pattern !== undefined
          ? `text matching ${issue.pattern}`
          : `a valid ${issue.format}`;
      case 'not_multiple_of':
        return `a multiple of ${issue.divisor}`;
      default:
        return undefined;
    }
  };
}

function isMap(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let current = data;
  for (const step of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PathKey, unknown>)[step];
  }
  return current;
}

// Values under these keys are credentials or carry them (Slack/Discord/Zapier URLs embed tokens).
const SENSITIVE_KEYS = new Set([
  'secrets',
  'secret',
  'token',
  'webhookUrl',
  'smtp',
  'url',
  'headers',
  'signing',
]);

/** IssueContext is what converting issues needs to know about the document. */
export interface IssueContext {
  doc: Document;
  /** The parsed (and interpolated) data zod saw. */
  data: unknown;
  fromEnv: Map<Node, string[]>;
  allowedKeys: KeyRegistry;
  /**
   * Never quote a value, only say what kind it is: for files whose content may be anything (a people
   * file can be a symlink to /proc/self/environ).
   */
  hideValues?: boolean;
}

function kindOf(value: unknown): string {
  if (typeof value === 'string') return 'text (not shown)';
  if (typeof value === 'number') return 'a number (not shown)';
  if (typeof value === 'boolean') return 'true or false';
  return describeValue(value);
}

/** secretLabel says why a value must not be shown, or undefined when it may be. */
function secretLabel(ctx: IssueContext, path: readonly PathKey[]): string | undefined {
  const node = lookupPath(ctx.doc, path).value;
  const variables = node === undefined ? undefined : ctx.fromEnv.get(node);
  if (variables !== undefined)
    return `the value of ${variables.map((v) => `\${${v}}`).join(', ')} (not shown)`;
  if (path.some((step) => typeof step === 'string' && SENSITIVE_KEYS.has(step)))
    return 'a secret (not shown)';
  return undefined;
}

function gotText(ctx: IssueContext, path: readonly PathKey[]): string {
  const value = valueAt(ctx.data, path);
  // Only scalars can leak a secret; "a list" or "nothing" says nothing about one.
  if (typeof value === 'object' || value === undefined) return describeValue(value);
  if (ctx.hideValues) return kindOf(value);
  return secretLabel(ctx, path) ?? describeValue(value);
}

/** textHint helps with YAML's typing where text was expected: `timeout: 10` and `id: 12345` are numbers. */
function textHint(ctx: IssueContext, path: readonly PathKey[], words: string): string | undefined {
  const value = valueAt(ctx.data, path);
  if (ctx.hideValues || secretLabel(ctx, path) !== undefined) return undefined;
  if (typeof value === 'number' && words.startsWith('a duration')) return `add a unit, e.g. "${value}s"`;
  if (typeof value === 'number' || typeof value === 'boolean') return `quote it to make it text: "${value}"`;
  return undefined;
}

/**
 * numberHint helps where a number was expected and a duration was written (`gte: 30m` on a sum of
 * durationInSeconds): the comparison is with a number of seconds.
 */
function numberHint(ctx: IssueContext, path: readonly PathKey[]): string | undefined {
  const value = valueAt(ctx.data, path);
  if (typeof value !== 'string' || ctx.hideValues || secretLabel(ctx, path) !== undefined) return undefined;
  const ms = parseDurationMs(value.trim());
  if (ms === undefined) return undefined;
  return `a duration is not a number here; in seconds: ${ms / 1000}`;
}

function expected(ctx: IssueContext, path: PathKey[], words: string, hint?: string): IssueDraft {
  const draft: IssueDraft = {
    code: 'HR_ERR_CONFIG_INVALID_VALUE',
    path,
    anchor: 'value',
    message: `expected ${words}, got ${gotText(ctx, path)}`,
  };
  if (hint !== undefined) draft.hint = hint;
  return draft;
}

function oneOf(values: readonly unknown[]): string {
  const shown = values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)));
  return shown.length === 1 ? (shown[0] ?? '') : `one of ${shown.join(', ')}`;
}

function choiceHint(
  ctx: IssueContext,
  path: readonly PathKey[],
  values: readonly unknown[],
): string | undefined {
  const value = valueAt(ctx.data, path);
  if (typeof value !== 'string' || secretLabel(ctx, path) !== undefined) return undefined;
  const close = suggest(
    value,
    values.filter((v): v is string => typeof v === 'string'),
  );
  return close === undefined ? undefined : `did you mean "${close}"?`;
}

// Words people reach for that the schema spells differently (`destinations:` in a rule means `to:`).
const SYNONYMS: Record<string, string> = {
  destination: 'to',
  destinations: 'to',
  channels: 'to',
  event: 'on',
  events: 'on',
  when: 'if',
  where: 'if',
  filter: 'if',
  condition: 'if',
  secret: 'secrets',
  tz: 'timezone',
};

function synonymIn(key: string, allowed: readonly string[]): string | undefined {
  const target = SYNONYMS[key.toLowerCase()];
  return target !== undefined && allowed.includes(target) ? target : undefined;
}

/** Penalty for a union branch: a type mismatch at the branch's root means "this is not that branch". */
function branchScore(issues: readonly z.core.$ZodIssue[]): number {
  return issues.reduce((score, issue) => {
    const atRoot = issue.path.length === 0;
    const mismatch =
      (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union') &&
      atRoot;
    return score + (mismatch ? 100 : 1);
  }, 0);
}

function toPath(path: readonly PropertyKey[]): PathKey[] {
  return path.map((step) => (typeof step === 'number' ? step : String(step)));
}

function convert(issue: z.core.$ZodIssue, prefix: PathKey[], ctx: IssueContext, out: IssueDraft[]): void {
  const path = [...prefix, ...toPath(issue.path)];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = ctx.allowedKeys.get(issue.keys) ?? [];
      for (const key of issue.keys) {
        const close = synonymIn(key, allowed) ?? suggest(key, allowed);
        const draft: IssueDraft = {
          code: 'HR_ERR_CONFIG_UNKNOWN_KEY',
          path: [...path, key],
          anchor: 'key',
          message: `unknown key "${key}"`,
        };
        if (close !== undefined) draft.hint = `did you mean "${close}"?`;
        else if (allowed.length > 0) draft.hint = `allowed here: ${allowed.join(', ')}`;
        out.push(draft);
      }
      return;
    }
    case 'invalid_union': {
      if (issue.discriminator !== undefined && issue.errors.length === 0) {
        const options = 'options' in issue ? (issue.options ?? []) : [];
        if (valueAt(ctx.data, path) === undefined) {
          out.push({
            code: 'HR_ERR_CONFIG_MISSING_KEY',
            path: path.slice(0, -1),
            anchor: 'key',
            message: `missing required key "${issue.discriminator}"`,
            hint: oneOf(options),
          });
        } else out.push(expected(ctx, path, oneOf(options), choiceHint(ctx, path, options)));
        return;
      }
      const branches = issue.errors;
      if (branches.length === 0) {
        out.push(expected(ctx, path, 'a valid value'));
        return;
      }
      const allMismatched = branches.every((b) => b.length === 1 && branchScore(b) >= 100);
      if (allMismatched) {
        const firsts = branches.map((b) => b[0]);
        const words = [...new Set(firsts.map((first) => first?.message ?? ''))]
          .filter((w) => w !== '')
          .join(' or ');
        const wantsText = firsts.some(
          (first) => first?.code === 'invalid_type' && first.expected === 'string',
        );
        out.push(expected(ctx, path, words, wantsText ? textHint(ctx, path, words) : undefined));
        return;
      }
      let best = branches[0] ?? [];
      for (const branch of branches) if (branchScore(branch) < branchScore(best)) best = branch;
      for (const inner of best) convert(inner, path, ctx, out);
      return;
    }
    case 'invalid_key':
    case 'invalid_element':
      for (const inner of issue.issues) convert(inner, path, ctx, out);
      return;
    case 'invalid_type': {
      const last = path.at(-1);
      if (valueAt(ctx.data, path) === undefined && typeof last === 'string') {
        // Named by the map that lacks the key, and pointing at that map's own key (or list item).
        out.push({
          code: 'HR_ERR_CONFIG_MISSING_KEY',
          path: path.slice(0, -1),
          anchor: 'key',
          message: `missing required key "${last}"`,
        });
        return;
      }
      const hint =
        issue.expected === 'string'
          ? textHint(ctx, path, issue.message)
          : issue.expected === 'number'
            ? numberHint(ctx, path)
            : undefined;
      out.push(expected(ctx, path, issue.message, hint));
      return;
    }
    case 'invalid_value':
      out.push(expected(ctx, path, oneOf(issue.values), choiceHint(ctx, path, issue.values)));
      return;
    case 'custom': {
      const params = (issue.params ?? {}) as IssueParams;
      if (params.plain === true) {
        // Whole-object rules (slack: token or webhookUrl) read best pointing at the object's name.
        const anchor = isMap(valueAt(ctx.data, path)) ? 'key' : 'value';
        const code = params.code ?? 'HR_ERR_CONFIG_INVALID_VALUE';
        const draft: IssueDraft = { code, path, anchor, message: issue.message };
        if (params.hint !== undefined) draft.hint = params.hint;
        out.push(draft);
        return;
      }
      const hint = secretLabel(ctx, path) === undefined ? params.hint : undefined;
      out.push(expected(ctx, path, issue.message, hint));
      return;
    }
    default:
      out.push(expected(ctx, path, issue.message));
  }
}

/** draftsFromZod converts zod issues (from a parse using createErrorMap) into positionless drafts. */
export function draftsFromZod(issues: readonly z.core.$ZodIssue[], ctx: IssueContext): IssueDraft[] {
  const out: IssueDraft[] = [];
  for (const issue of issues) convert(issue, [], ctx, out);
  return out;
}

/** placeDraft gives a draft its file position in the document. */
export function placeDraft(
  draft: IssueDraft,
  where: { file: string; doc: Document; lineCounter: LineCounter },
): ConfigIssue {
  const { line, col } = positionOf(where.doc, where.lineCounter, draft.path, draft.anchor);
  const issue: ConfigIssue = {
    code: draft.code,
    file: where.file,
    line,
    col,
    path: formatPath(draft.path),
    message: draft.message,
  };
  if (draft.hint !== undefined) issue.hint = draft.hint;
  return issue;
}
