import { type ConfigFileChoice, type ConfigIssue, chooseConfigFile, formatIssue } from '../config/load.js';
import type { CliIo } from './io.js';

/** RulesFile is the rules file a command works on: given on the command line, or chosen. */
export interface RulesFile {
  path: string;
  /** Set when no file was given, so "not found" can list every path that was looked at. */
  choice?: ConfigFileChoice;
}

/** rulesFileFor picks the file: the argument when there is one, else HOOKRELAY_CONFIG, rules.yaml, rules.example.yaml. */
export function rulesFileFor(given: string | undefined, io: CliIo): RulesFile {
  if (given !== undefined) return { path: given };
  const choice = chooseConfigFile(io.env, io.cwd);
  return { path: choice.path, choice };
}

/**
 * printIssues writes every issue of a refused rules file to stderr, one per line; when the file itself
 * could not be found without an argument, it ends with every path tried and what to do.
 */
export function printIssues(io: CliIo, file: RulesFile, issues: readonly ConfigIssue[]): void {
  for (const issue of issues) io.stderr(`${formatIssue(issue)}\n`);
  const missing = issues.some(
    (issue) => issue.code === 'HR_ERR_CONFIG_UNREADABLE' && issue.file === file.path,
  );
  if (missing && file.choice !== undefined) {
    io.stderr(
      `no rules file: tried ${file.choice.tried.join(', ')}; pass a path, set HOOKRELAY_CONFIG, or copy rules.example.yaml to rules.yaml\n`,
    );
  }
}
