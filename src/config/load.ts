import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { parseDurationMs } from '../lib/duration.js';
import { HookrelayError } from '../lib/errors.js';
import { compileRules } from '../rules/engine.js';
import { checkReferences, type ShowValue } from './cross-refs.js';
import { interpolateDocument } from './env.js';
import { CONFIG_INVALID, type ConfigIssue, describeValue, formatIssue, type PathKey } from './issues.js';
import { expandPeople, type FileReader, readFailure } from './people.js';
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
}

/**
 * resolveConfigPath picks the rules file: `HOOKRELAY_CONFIG` when set, else `rules.yaml` when it exists
 * in `cwd`, else `rules.example.yaml` (so a fresh checkout serves). Relative results are relative to cwd.
 */
export function resolveConfigPath(env: NodeJS.ProcessEnv, cwd: string): string {
  const fromEnv = env['HOOKRELAY_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return existsSync(join(cwd, 'rules.yaml')) ? 'rules.yaml' : 'rules.example.yaml';
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
 * loadConfig reads, interpolates (`${VAR}` from `env`), validates and cross-checks a rules file. It
 * never throws for a bad file: every problem comes back as a positioned ConfigIssue, all at once.
 */
export async function loadConfig(
  path: string,
  env: NodeJS.ProcessEnv,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const absolute = options.cwd === undefined ? resolve(path) : resolve(options.cwd, path);
  const readText = options.readText ?? ((file: string) => readFile(file, 'utf8'));
  let source: string;
  try {
    source = await readText(absolute);
  } catch (error) {
    const message = `cannot read the rules file: ${readFailure(error)}`;
    return invalid(
      [{ code: 'HR_ERR_CONFIG_UNREADABLE', file: path, line: 0, col: 0, path: '', message }],
      path,
    );
  }

  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(source, { lineCounter, prettyErrors: false, merge: true });
  const where = { file: path, doc, lineCounter };
  const syntax = yamlSyntaxIssues(doc, { file: path, lineCounter });
  if (syntax.length > 0) return invalid(syntax, path);

  const interpolation = interpolateDocument(doc, env, { file: path, source, lineCounter });
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
  const compiled = ruleSet.problems.map((problem) =>
    place({
      code: 'HR_ERR_CONFIG_INVALID_VALUE',
      path: [...problem.path],
      message: problem.message,
      anchor: 'value',
    }),
  );
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
  const warnings = [...references.warnings.map(place), ...compileWarnings];
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
