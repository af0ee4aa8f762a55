import { type Document, isScalar, type LineCounter, type Node, visit, type YAMLError } from 'yaml';
import type { ConfigIssue } from './issues.js';

/*
 * YAML syntax errors, reported as ConfigIssues at the parser's position with a hint in plain words.
 * One error often cascades into several on the same line; only the first per line is kept.
 */

const HINTS: Record<string, string> = {
  TAB_AS_INDENT: 'indent with spaces',
  BAD_INDENT: 'check the indentation of this line, and that every [ and { is closed',
  MULTILINE_IMPLICIT_KEY: 'a key is missing its ":", or the indentation is off',
  BLOCK_AS_IMPLICIT_KEY: 'check the indentation; quote a value that contains ": " (a: "b: c")',
  BAD_SCALAR_START: 'quote the value: text starting with @ or ` must be quoted',
  MULTIPLE_DOCS: 'a rules file holds one YAML document; remove the "---" line',
  UNEXPECTED_TOKEN: 'check the indentation of this line',
  DUPLICATE_KEY: 'each key may appear once; merge the two entries',
  BAD_DQ_ESCAPE: 'in double quotes a backslash starts an escape; use single quotes or write \\\\',
  MISSING_CHAR: 'check that every quote, [ and { is closed',
};

const MAX_TAB_LINES_SHOWN = 10;

function quotedScalarEndingAt(doc: Document, offset: number): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Scalar(_key, node) {
      if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && node.range?.[1] === offset) {
        found = node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function keyAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        found = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function describe(error: YAMLError, doc: Document): { offset: number; message: string; hint?: string } {
  const offset = error.pos[0];
  const hint = HINTS[error.code];
  if (error.code === 'MISSING_CHAR' && /quote/i.test(error.message)) {
    const opened = quotedScalarEndingAt(doc, offset);
    const quote = /'/.test(error.message) ? "'" : '"';
    if (opened?.range != null) {
      return {
        offset: opened.range[0],
        message: `this ${quote} quote is never closed`,
        hint: 'add the closing quote',
      };
    }
    return { offset, message: `missing closing ${quote} quote`, hint: 'add the closing quote' };
  }
  if (error.code === 'DUPLICATE_KEY') {
    const key = keyAt(doc, offset);
    if (key !== undefined) return { offset, message: `duplicate key "${key}"`, hint: HINTS.DUPLICATE_KEY };
  }
  const message = error.message.charAt(0).toLowerCase() + error.message.slice(1);
  return hint === undefined ? { offset, message } : { offset, message, hint };
}

/** yamlSyntaxIssues lists the parser's errors in `doc` (and unknown `*alias` references) as issues. */
export function yamlSyntaxIssues(
  doc: Document,
  where: { file: string; lineCounter: LineCounter },
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seenLines = new Set<number>();
  // A file indented with tabs has the error on every line (and cascades after it): one issue says it.
  const tabLines = [
    ...new Set(
      doc.errors
        .filter((error) => error.code === 'TAB_AS_INDENT')
        .map((error) => where.lineCounter.linePos(error.pos[0]).line),
    ),
  ];
  for (const error of doc.errors) {
    const { offset, message, hint } = describe(error, doc);
    const { line, col } = where.lineCounter.linePos(offset);
    if (seenLines.has(line)) continue;
    seenLines.add(line);
    if (tabLines.includes(line) && error.code !== 'TAB_AS_INDENT') continue;
    if (error.code === 'TAB_AS_INDENT') {
      if (line !== tabLines[0]) continue;
      const shown = tabLines.slice(0, MAX_TAB_LINES_SHOWN).join(', ');
      const more = tabLines.length > MAX_TAB_LINES_SHOWN ? ', …' : '';
      issues.push({
        code: 'HR_ERR_CONFIG_SYNTAX',
        file: where.file,
        line,
        col,
        path: '',
        message:
          tabLines.length === 1
            ? message
            : `tabs are not allowed as indentation, on ${tabLines.length} lines: ${shown}${more}`,
        hint: HINTS.TAB_AS_INDENT as string,
      });
      continue;
    }
    const issue: ConfigIssue = {
      code: 'HR_ERR_CONFIG_SYNTAX',
      file: where.file,
      line,
      col,
      path: '',
      message,
    };
    if (hint !== undefined) issue.hint = hint;
    issues.push(issue);
  }
  if (issues.length > 0) return issues;
  visit(doc, {
    Alias(_key, alias) {
      if (alias.resolve(doc) !== undefined) return;
      const { line, col } = where.lineCounter.linePos(alias.range?.[0] ?? 0);
      issues.push({
        code: 'HR_ERR_CONFIG_SYNTAX',
        file: where.file,
        line,
        col,
        path: '',
        message: `unknown alias "*${alias.source}"`,
        hint: `define it first with &${alias.source}`,
      });
    },
  });
  return issues;
}
