/**
 * ConfigIssue is one problem found in a rules file (or in a file it includes), positioned so a person
 * can jump to it: `file:line:col path: message`. `line` and `col` are 1-based; 0 means the issue is
 * about the whole file (it could not be read). `path` names the offending value, e.g. `rules[2].to[0]`.
 */
export interface ConfigIssue {
  /** Stable code for this kind of problem (docs/configuration-errors.md); never reused. */
  code: ConfigIssueCode;
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
  /** What to try: a did-you-mean, the allowed values, or how to fix a YAML syntax error. */
  hint?: string;
}

/** PathKey is one step of a path into the parsed document: a map key or a list index. */
export type PathKey = string | number;

/**
 * ConfigIssueCode names each kind of config problem. The codes are stable: tools may match on them.
 * `HR_ERR_CONFIG_INVALID` is the code of the HookrelayError for a rejected file as a whole.
 */
export type ConfigIssueCode = (typeof CONFIG_ISSUE_CODES)[number];

/** CONFIG_ISSUE_CODES lists every ConfigIssueCode (docs/configuration-errors.md explains each). */
export const CONFIG_ISSUE_CODES = [
  'HR_ERR_CONFIG_UNREADABLE',
  'HR_ERR_CONFIG_SYNTAX',
  'HR_ERR_CONFIG_ENV_MISSING',
  'HR_ERR_CONFIG_ENV_MALFORMED',
  'HR_ERR_CONFIG_UNKNOWN_KEY',
  'HR_ERR_CONFIG_MISSING_KEY',
  'HR_ERR_CONFIG_INVALID_VALUE',
  'HR_ERR_CONFIG_UNDEFINED_REFERENCE',
  'HR_ERR_CONFIG_DUPLICATE',
  'HR_ERR_CONFIG_UNUSED',
  'HR_ERR_CONFIG_UNKNOWN_EVENT_TYPE',
  'HR_ERR_CONFIG_UNKNOWN_FIELD',
  'HR_ERR_CONFIG_PRIVATE_ADDRESS',
  'HR_ERR_CONFIG_TOO_LARGE',
] as const;

/** CONFIG_INVALID is the code of the error raised when a rules file is rejected as a whole. */
export const CONFIG_INVALID = 'HR_ERR_CONFIG_INVALID';

/**
 * formatIssue renders an issue on one line:
 * `rules.yaml:12:5 rules[2].to[0]: undefined destination "ops-slack" (did you mean "team-slack"?)`.
 */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}` : issue.file;
  const head = issue.path === '' ? `${where}:` : `${where} ${issue.path}:`;
  const hint = issue.hint === undefined ? '' : ` (${issue.hint})`;
  return `${head} ${issue.message}${hint}`;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * formatPath writes a path the way people read it: `rules[2].to[0]`, `schedules.work-hours`, and
 * `rules[0].if["app.name"]` for keys that would otherwise be ambiguous.
 */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (PLAIN_KEY.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** editDistance is the Levenshtein distance between two strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * suggest returns the candidate closest to `input`, or undefined when none is close enough to be a
 * plausible typo. The bar is generous (half the length) because names like `ops-slack`/`team-slack`
 * differ in a whole word, and a wrong guess costs little: it is only shown as a hint.
 */
export function suggest(input: string, candidates: Iterable<string>): string | undefined {
  const needle = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const distance = editDistance(needle, candidate.toLowerCase());
    const longest = Math.max(needle.length, candidate.length);
    const allowed = longest <= 3 ? 1 : Math.floor(longest / 2);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * didYouMean builds the hint for a name that matched nothing: the closest candidate, else the list of
 * candidates when it is short, else nothing.
 */
export function didYouMean(input: string, candidates: readonly string[], noun: string): string | undefined {
  const close = suggest(input, candidates);
  if (close !== undefined) return `did you mean "${close}"?`;
  if (candidates.length === 0) return `no ${noun} is defined`;
  if (candidates.length <= 8) return `defined: ${candidates.join(', ')}`;
  return undefined;
}

const MAX_SHOWN = 60;

/**
 * describeValue says what a value is in plain words for "expected …, got …" messages: strings quoted
 * (shortened), lists and maps by kind, an empty YAML value as "nothing".
 */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (typeof value === 'string') {
    const shown = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty map' : 'a map';
  return typeof value;
}
