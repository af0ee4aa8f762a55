import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Document, isScalar, LineCounter, parseDocument } from 'yaml';
import { parseDurationMs } from '../lib/duration.js';
import { HookrelayError } from '../lib/errors.js';
import { compileRules } from '../rules/engine.js';
import { checkReferences, type ShowValue } from './cross-refs.js';
import { interpolateDocument } from './env.js';
import { CONFIG_INVALID, type ConfigIssue, describeValue, formatIssue, type PathKey } from './issues.js';
import { lintDestinations, lintRules } from './lint.js';
import { expandPeople, type FileReader, readFailure } from './people.js';
import { fillPlaceholders } from './placeholders.js';
import { lookupPath, positionOf } from './positions.js';
import {
  type Config,
  configSchema,
  type RawConfig,
  type RawSource,
  SOURCE_NAME,
  type SourceConfig,
} from './schema.js';
import { parseSizeBytes } from './size.js';
import { yamlSyntaxIssues } from './yaml-syntax.js';
import {
  createErrorMap,
  draftsFromZod,
  type IssueDraft,
  type KeyRegistry,
  placeDraft,
} from './zod-issues.js';

export { type ConfigIssue, type ConfigIssueCode, formatIssue } from './issues.js';
export type { Config, RawConfig, SourceConfig } from './schema.js';

/** LoadResult is a checked config with its warnings, or every issue found (never just the first). */
export type LoadResult =
  | { ok: true; config: Config; warnings: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] };

/** LoadOptions are for callers whose working directory is not the process's (the CLI, tests). */
export interface LoadOptions {
  /** Directory relative paths are read from; default: the process's working directory. */
  cwd?: string;
  /** Reads a file as UTF-8; default fs.readFile. */
  readText?: FileReader;
  /**
   * An unset `${VAR}` is a warning and the value a stand-in the schema accepts (`validate`/`test
   * --allow-missing-env`, for CI without production secrets); never for `serve`.
   */
  allowMissingEnv?: boolean;
}

/**
 * resolveConfigPath picks the rules file: `HOOKRELAY_CONFIG` when set, else `rules.yaml` when it exists
 * in `cwd`, else `rules.example.yaml` (so a fresh checkout serves). Relative results are relative to cwd.
 */
export function resolveConfigPath(env: NodeJS.ProcessEnv, cwd: string): string {
  return chooseConfigFile(env, cwd).path;
}

/** ConfigFileChoice is the rules file chosen without an argument, and every place that was looked at. */
export interface ConfigFileChoice {
  path: string;
  /** Absolute paths, in the order tried (`$HOOKRELAY_CONFIG=…` when that was it), for "not found" messages. */
  tried: string[];
}

/** chooseConfigFile is resolveConfigPath that also says which paths it tried, in order. */
export function chooseConfigFile(env: NodeJS.ProcessEnv, cwd: string): ConfigFileChoice {
  const fromEnv = env['HOOKRELAY_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') {
    return { path: fromEnv, tried: [`$HOOKRELAY_CONFIG=${resolve(cwd, fromEnv)}`] };
  }
  const tried = [join(cwd, 'rules.yaml'), join(cwd, 'rules.example.yaml')];
  return { path: existsSync(tried[0] as string) ? 'rules.yaml' : 'rules.example.yaml', tried };
}

function byPosition(mainFile: string) {
  return (a: ConfigIssue, b: ConfigIssue) =>
    Number(a.file !== mainFile) - Number(b.file !== mainFile) ||
    a.file.localeCompare(b.file) ||
    a.line - b.line ||
    a.col - b.col;
}

function invalid(issues: ConfigIssue[], file: string): LoadResult {
  return { ok: false, issues: [...issues].sort(byPosition(file)) };
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sourceNameDrafts(data: Record<string, unknown>): IssueDraft[] {
  const sources = data['sources'];
  if (!isPlainMap(sources)) return [];
  return Object.keys(sources)
    .filter((name) => !SOURCE_NAME.test(name))
    .map((name) => ({
      code: 'HR_ERR_CONFIG_INVALID_VALUE' as const,
      path: ['sources', name],
      anchor: 'key' as const,
      message: `invalid source name "${name}"`,
      hint: 'use lowercase letters, digits, "-" and "_": it becomes the URL /webhooks/<name>',
    }));
}

// The schema has already accepted these strings, so a parse failure here is a bug, not user error.
function required(value: number | undefined, what: string): number {
  if (value === undefined) throw new Error(`schema accepted an unparsable ${what}`);
  return value;
}

function resolveSource(name: string, source: RawSource): SourceConfig {
  const resolved = {
    name,
    toleranceMs: required(parseDurationMs(source.tolerance), 'duration'),
    maxBodyBytes: required(parseSizeBytes(source.maxBodySize), 'size'),
  };
  if (source.type !== 'hmac') return { ...source, ...resolved };
  const signedContent =
    source.signedContent ?? (source.timestampHeader === undefined ? '{body}' : '{timestamp}.{body}');
  return { ...source, signedContent, ...resolved };
}

/**
 * withoutEnvValue rephrases a compile problem about a value that came from `${VAR}`: the compiler quotes
 * what it refused (a regex, a template's filter or tag name), and that is the environment's value.
 */
function withoutEnvValue(message: string, variables: readonly string[]): string {
  const from = variables.map((v) => `\${${v}}`).join(', ');
  const see = 'write it in the file to see the exact error';
  if (/^(invalid )?regular expression/.test(message)) {
    return `the regular expression from ${from} (value not shown) is refused: RE2 cannot parse it, or it uses backreferences or lookaround; ${see}`;
  }
  if (message.startsWith('template:')) {
    return `the template from ${from} (value not shown) does not parse (an unknown filter or tag, or a syntax error); ${see}`;
  }
  // Anything else quotes the value whole at most, which `scrubbed` replaces by the variable's name.
  return message;
}

/**
 * loadConfig reads, interpolates (`${VAR}` from `env`), validates and cross-checks a rules file. It
 * never throws for a bad file: every problem comes back as a positioned ConfigIssue, all at once.
 */
export async function loadConfig(
  path: string,
  env: NodeJS.ProcessEnv,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const envValues = new Map<string, string>();
  const result = await loadUnscrubbed(path, env, options, envValues);
  return envValues.size === 0 ? result : scrubbed(result, envValues);
}

/**
 * MAX_RULES_FILE_BYTES caps the rules file (issue 15 §9): parsing and checking run on the event loop at
 * every reload, about 0.7 s per MB, so a 10 MB file stalled the relay ~7 s. 2 MB is ~13,000 rules.
 */
export const MAX_RULES_FILE_BYTES = 2 * 1024 * 1024;

function formatMb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(2)} MB`;
}

// Values shorter than this are too common to scrub ("1", "on"); the messages never quote them as such.
const MIN_SCRUBBED_CHARS = 4;

/**
 * scrubbed is the last line of defence for "no error prints a value from the environment": any message
 * or hint that still contains a value that came from `${VAR}` has it replaced by the variable's name.
 */
function scrubbed(result: LoadResult, envValues: ReadonlyMap<string, string>): LoadResult {
  const scrub = (text: string) => {
    let out = text;
    for (const [value, name] of envValues) out = out.split(value).join(`<value of ${name}>`);
    return out;
  };
  const scrubIssue = (issue: ConfigIssue): ConfigIssue => {
    const clean: ConfigIssue = { ...issue, message: scrub(issue.message) };
    if (issue.hint !== undefined) clean.hint = scrub(issue.hint);
    return clean;
  };
  return result.ok
    ? { ...result, warnings: result.warnings.map(scrubIssue) }
    : { ok: false, issues: result.issues.map(scrubIssue) };
}

async function loadUnscrubbed(
  path: string,
  env: NodeJS.ProcessEnv,
  options: LoadOptions,
  envValues: Map<string, string>,
): Promise<LoadResult> {
  const absolute = options.cwd === undefined ? resolve(path) : resolve(options.cwd, path);
  const readText = options.readText ?? ((file: string) => readFile(file, 'utf8'));
  const tooLarge = (bytes: number): LoadResult => {
    const message = `the rules file is ${formatMb(bytes)}, over the limit of ${MAX_RULES_FILE_BYTES / (1024 * 1024)} MB (checking a larger one would stall the relay at every reload)`;
    const hint = 'keep people in a CSV file (people: - file: people.csv), which is not counted';
    return invalid(
      [{ code: 'HR_ERR_CONFIG_TOO_LARGE', file: path, line: 0, col: 0, path: '', message, hint }],
      path,
    );
  };
  let source: string;
  try {
    // Checked before reading, so a huge file is never read into memory.
    if (options.readText === undefined) {
      const { size } = await stat(absolute);
      if (size > MAX_RULES_FILE_BYTES) return tooLarge(size);
    }
    source = await readText(absolute);
  } catch (error) {
    const message = `cannot read the rules file: ${readFailure(error)}`;
    return invalid(
      [{ code: 'HR_ERR_CONFIG_UNREADABLE', file: path, line: 0, col: 0, path: '', message }],
      path,
    );
  }

  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > MAX_RULES_FILE_BYTES) return tooLarge(bytes);

  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(source, { lineCounter, prettyErrors: false, merge: true });
  const where = { file: path, doc, lineCounter };
  const syntax = yamlSyntaxIssues(doc, { file: path, lineCounter });
  if (syntax.length > 0) return invalid(syntax, path);

  const interpolation = interpolateDocument(doc, env, { file: path, source, lineCounter });
  for (const [node, variables] of interpolation.fromEnv) {
    const value = isScalar(node) ? node.value : undefined;
    if (typeof value === 'string' && value.length >= MIN_SCRUBBED_CHARS && !interpolation.failed.has(node)) {
      envValues.set(value, variables.map((v) => `\${${v}}`).join(', '));
    }
  }
  // After the scrub list is taken: stand-ins are not secrets, and must not be scrubbed from messages.
  const standIns = options.allowMissingEnv ? fillPlaceholders(doc, interpolation, env).warnings : [];
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = `cannot read the YAML: ${error instanceof Error ? error.message : String(error)}`;
    const issue: ConfigIssue = {
      code: 'HR_ERR_CONFIG_SYNTAX',
      file: path,
      line: 1,
      col: 1,
      path: '',
      message,
    };
    return invalid([issue], path);
  }
  if (!isPlainMap(data)) {
    const message = `expected a map with version: 1, sources, destinations and rules, got ${describeValue(data)}`;
    const issue: ConfigIssue = {
      code: 'HR_ERR_CONFIG_INVALID_VALUE',
      file: path,
      line: 1,
      col: 1,
      path: '',
      message,
    };
    return invalid([...interpolation.issues, issue], path);
  }

  const allowedKeys: KeyRegistry = new WeakMap();
  const parsed = configSchema.safeParse(data, { error: createErrorMap(allowedKeys) });
  const drafts = sourceNameDrafts(data);
  if (!parsed.success) {
    const ctx = { doc, data, fromEnv: interpolation.fromEnv, allowedKeys };
    for (const draft of draftsFromZod(parsed.error.issues, ctx)) {
      // A value whose ${VAR} failed was already reported; its schema error would only repeat that.
      const node = lookupPath(doc, draft.path).value;
      if (node === undefined || !interpolation.failed.has(node)) drafts.push(draft);
    }
  }
  const early = [...interpolation.issues, ...drafts.map((draft) => placeDraft(draft, where))];
  if (!parsed.success || early.length > 0) return invalid(early, path);

  const raw: RawConfig = parsed.data;
  const place = (draft: IssueDraft) => placeDraft(draft, where);
  const show: ShowValue = (at, value) => {
    const node = lookupPath(doc, at).value;
    const variables = node === undefined ? undefined : interpolation.fromEnv.get(node);
    if (variables === undefined) return { text: JSON.stringify(value), secret: false };
    return { text: `from ${variables.map((v) => `\${${v}}`).join(', ')} (value not shown)`, secret: true };
  };
  const locate = (at: PathKey[]) => ({ file: path, ...positionOf(doc, lineCounter, at, 'value') });
  const people = await expandPeople(raw.people, {
    configFile: path,
    baseDir: dirname(absolute),
    place,
    locate,
    show,
    ...(options.readText === undefined ? {} : { readText: options.readText }),
  });
  const persons = people.people.map((entry) => entry.person);
  const references = checkReferences(raw, persons, {
    locate: (at) => {
      const { file, line, col } = locate(at);
      return `${file}:${line}:${col}`;
    },
    show,
  });
  const errors = [...people.issues, ...references.errors.map(place)];

  // The rules are compiled here, once per load, so a bad regex or template is a positioned error at
  // load time (and on reload), never a surprise at the first event. Compiled even when a reference is
  // wrong, so that one run lists both kinds of problem.
  const ruleSet = compileRules({
    rules: raw.rules,
    people: persons,
    schedules: raw.schedules,
    silences: raw.silences,
  });
  const compiled = ruleSet.problems.map((problem) => {
    const node = lookupPath(doc, problem.path).value;
    const variables = node === undefined ? undefined : interpolation.fromEnv.get(node);
    return place({
      code: 'HR_ERR_CONFIG_INVALID_VALUE',
      path: [...problem.path],
      message: variables === undefined ? problem.message : withoutEnvValue(problem.message, variables),
      anchor: 'value',
    });
  });
  // A wrong reference is also a compile problem at the same place: it is reported once, as a reference.
  const reported = new Set(errors.map((issue) => issue.path));
  const compileErrors = compiled.filter(
    (issue, i) => ruleSet.problems[i]?.severity === 'error' && !reported.has(issue.path),
  );
  if (errors.length > 0 || compileErrors.length > 0) return invalid([...errors, ...compileErrors], path);
  const compileWarnings = compiled.filter((_, i) => ruleSet.problems[i]?.severity === 'warning');

  const config: Config = {
    file: path,
    sources: Object.fromEntries(
      Object.entries(raw.sources).map(([name, s]) => [name, resolveSource(name, s)]),
    ),
    people: persons,
    retention: { eventsMs: required(parseDurationMs(raw.retention?.events ?? '7d'), 'duration') },
    server: raw.server,
    raw,
    ruleSet,
  };
  const warnings = [
    ...standIns,
    ...references.warnings.map(place),
    ...lintRules(raw).map(place),
    ...lintDestinations(raw).map(place),
    ...compileWarnings,
  ];
  return { ok: true, config, warnings: warnings.sort(byPosition(path)) };
}

/**
 * configInvalidError wraps the issues of a rejected file in one HookrelayError (`HR_ERR_CONFIG_INVALID`)
 * for callers that must fail, such as `serve` at startup; its message lists every issue, one per line.
 */
export function configInvalidError(file: string, issues: readonly ConfigIssue[]): HookrelayError {
  const lines = issues.map((issue) => formatIssue(issue));
  return new HookrelayError(CONFIG_INVALID, [`invalid rules file ${file}:`, ...lines].join('\n'));
}
