import { type Document, isScalar, type Node } from 'yaml';
import { type DocumentInterpolation, interpolateString } from './env.js';
import type { ConfigIssue } from './issues.js';
import { lookupPath } from './positions.js';
import { configSchema } from './schema.js';
import { createErrorMap, draftsFromZod, type KeyRegistry } from './zod-issues.js';

/*
 * `--allow-missing-env` (validate, test): rules can be checked and tested in CI without production
 * secrets. A `${VAR}` that is not set becomes a placeholder the schema accepts at that spot (text, then
 * a URL, an SMTP URL, a Standard Webhooks secret, an e-mail address), and its error becomes a warning.
 * Placeholders never leave the process: nothing is sent by validate or test, and they are never printed.
 */

/** PLACEHOLDERS are tried in order for an unset variable until the schema accepts the value. */
const PLACEHOLDERS = [
  'unset',
  'https://unset.invalid/',
  'https://discord.com/api/webhooks/0/unset',
  'smtp://unset.invalid',
  'whsec_dW5zZXQ=',
  'unset@unset.invalid',
];
/** The whole candidate list, plus one round to see that the last one was accepted. */
const MAX_ROUNDS = PLACEHOLDERS.length + 1;

/** PlaceholderFill is what filling unset variables did: the warnings that replace their errors. */
export interface PlaceholderFill {
  warnings: ConfigIssue[];
}

/**
 * fillPlaceholders gives every value whose only problem is an unset variable a placeholder (in place,
 * in `doc`), removes it from `interpolation.failed` and turns its ENV_MISSING issues into warnings.
 * Values with a malformed reference stay failed.
 */
export function fillPlaceholders(
  doc: Document,
  interpolation: DocumentInterpolation,
  env: NodeJS.ProcessEnv,
): PlaceholderFill {
  const missingIssues = interpolation.issues.filter((issue) => issue.code === 'HR_ERR_CONFIG_ENV_MISSING');
  if (missingIssues.length === 0) return { warnings: [] };
  const malformedPaths = new Set(
    interpolation.issues
      .filter((issue) => issue.code === 'HR_ERR_CONFIG_ENV_MALFORMED')
      .map((issue) => issue.path),
  );
  const filled = new Map<Node, { written: string; variables: string[]; step: number }>();
  for (const node of interpolation.failed) {
    if (!isScalar(node) || typeof node.value !== 'string') continue;
    const variables = interpolation.fromEnv.get(node) ?? [];
    const written = node.value;
    const probe = interpolateString(written, env);
    if (probe.problems.some((problem) => problem.kind === 'malformed')) continue;
    filled.set(node, { written, variables, step: 0 });
  }
  const apply = (node: Node, entry: { written: string; variables: string[]; step: number }) => {
    const placeholder = PLACEHOLDERS[entry.step] ?? 'unset';
    const values = Object.fromEntries(entry.variables.filter((v) => !env[v]).map((v) => [v, placeholder]));
    // Where the reference is part of a longer value, the first candidate keeps the rest ("https://x/unset").
    const text = interpolateString(entry.written, { ...env, ...values }).value;
    if (isScalar(node)) node.value = entry.step === 0 ? text : placeholder;
  };
  for (const [node, entry] of filled) {
    apply(node, entry);
    interpolation.failed.delete(node);
  }
  // Step the candidates of the values the schema still refuses.
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const data: unknown = doc.toJS({ maxAliasCount: 100 });
    const allowedKeys: KeyRegistry = new WeakMap();
    const parsed = configSchema.safeParse(data, { error: createErrorMap(allowedKeys) });
    if (parsed.success) break;
    const refused = new Set<Node>();
    for (const draft of draftsFromZod(parsed.error.issues, {
      doc,
      data,
      fromEnv: interpolation.fromEnv,
      allowedKeys,
    })) {
      const node = lookupPath(doc, draft.path).value;
      if (node !== undefined && filled.has(node)) refused.add(node);
    }
    const steppable = [...refused].filter(
      (node) => (filled.get(node)?.step ?? PLACEHOLDERS.length) < PLACEHOLDERS.length - 1,
    );
    if (steppable.length === 0) break;
    for (const node of steppable) {
      const entry = filled.get(node);
      if (entry === undefined) continue;
      entry.step += 1;
      apply(node, entry);
    }
  }
  interpolation.issues = interpolation.issues.filter(
    (issue) => issue.code !== 'HR_ERR_CONFIG_ENV_MISSING' || malformedPaths.has(issue.path),
  );
  const warnings = missingIssues
    .filter((issue) => !malformedPaths.has(issue.path))
    .map((issue) => ({
      ...issue,
      hint: '--allow-missing-env: checked with a stand-in value; set it where the relay runs',
    }));
  return { warnings };
}
