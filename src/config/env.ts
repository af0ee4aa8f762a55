import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node, visit } from 'yaml';
import { type ConfigIssue, formatPath, type PathKey } from './issues.js';

/*
 * `${VAR}` interpolation runs on string scalars of the parsed document, never on the text: a value from
 * the environment can't inject YAML structure, and each reference keeps its position for messages.
 */

/** InterpolationProblem is one reference in a string that could not be resolved. */
export type InterpolationProblem =
  | { kind: 'missing'; variable: string; reference: string }
  | { kind: 'malformed'; reference: string };

/** InterpolatedString is the result of resolving every reference in one string. */
export interface InterpolatedString {
  value: string;
  /** Variables the value used (their values are secrets: never print `value` when this is non-empty). */
  variables: string[];
  problems: InterpolationProblem[];
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * interpolateString replaces `${VAR}` and `${VAR:-default}` in `text` with values from `env`; `$${`
 * stands for a literal `${`. Like the shell, `:-` also applies when the variable is set but empty.
 * An unset variable without a default is a problem, and the reference is kept as written.
 */
export function interpolateString(text: string, env: NodeJS.ProcessEnv): InterpolatedString {
  let value = '';
  const variables: string[] = [];
  const problems: InterpolationProblem[] = [];
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      value += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      value += text[i];
      i += 1;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    const reference = close === -1 ? text.slice(i) : text.slice(i, close + 1);
    const inner = close === -1 ? undefined : text.slice(i + 2, close);
    const match = inner === undefined || inner.includes('${') ? null : REFERENCE.exec(inner);
    const name = match?.[1];
    if (match === null || name === undefined) {
      problems.push({ kind: 'malformed', reference });
      value += reference;
      i += reference.length;
      continue;
    }
    const fallback = match[2];
    const fromEnv = env[name];
    variables.push(name);
    if (fromEnv !== undefined && (fromEnv !== '' || fallback === undefined)) value += fromEnv;
    else if (fallback !== undefined) value += fallback;
    else {
      problems.push({ kind: 'missing', variable: name, reference });
      value += reference;
    }
    i += reference.length;
  }
  return { value, variables, problems };
}

/** DocumentInterpolation is what interpolating a whole document found. */
export interface DocumentInterpolation {
  issues: ConfigIssue[];
  /** Scalars whose value came from the environment, with the variables used: never print their values. */
  fromEnv: Map<Node, string[]>;
  /** Scalars left as written because a reference failed (schema errors there would only repeat it). */
  failed: Set<Node>;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** keyPathOf turns the ancestors `visit` reports into a path such as `destinations.team-slack.token`. */
function keyPathOf(ancestors: readonly unknown[], node: unknown): PathKey[] {
  const chain = [...ancestors, node];
  const path: PathKey[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isMap(parent) && isPair(child)) path.push(keyText(child.key));
    else if (isSeq(parent)) path.push(parent.items.indexOf(child as never));
  }
  return path;
}

/**
 * interpolateDocument resolves references in every string value of `doc` in place (keys are left
 * alone) and reports each unset variable or malformed reference at its position.
 */
export function interpolateDocument(
  doc: Document,
  env: NodeJS.ProcessEnv,
  where: { file: string; source: string; lineCounter: LineCounter },
): DocumentInterpolation {
  const result: DocumentInterpolation = { issues: [], fromEnv: new Map(), failed: new Set() };
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const resolved = interpolateString(node.value, env);
      if (resolved.variables.length > 0) result.fromEnv.set(node, resolved.variables);
      if (resolved.problems.length > 0) result.failed.add(node);
      else node.value = resolved.value;
      const path = formatPath(keyPathOf(ancestors, node));
      const [start = 0, end = start] = node.range ?? [];
      const written = where.source.slice(start, end);
      for (const problem of resolved.problems) {
        // Point at the reference itself when it appears verbatim in the source (it does unless escapes
        // were used inside it), else at the start of the value.
        const at = written.indexOf(problem.reference);
        const { line, col } = where.lineCounter.linePos(at === -1 ? start : start + at);
        if (problem.kind === 'missing') {
          result.issues.push({
            code: 'HR_ERR_CONFIG_ENV_MISSING',
            file: where.file,
            line,
            col,
            path,
            message: `environment variable ${problem.variable} is not set`,
            hint: `set it, or write \${${problem.variable}:-default} to fall back to a default`,
          });
        } else {
          result.issues.push({
            code: 'HR_ERR_CONFIG_ENV_MALFORMED',
            file: where.file,
            line,
            col,
            path,
            message: `malformed reference "${problem.reference}" (expected \${NAME} or \${NAME:-default})`,
            hint: 'write $${ for a literal "${"',
          });
        }
      }
    },
  });
  return result;
}
