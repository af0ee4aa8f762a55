import { formatIssue, loadConfig } from '../config/load.js';
import type { CliIo } from './io.js';
import { printIssues, rulesFileFor } from './rules-file.js';

const USAGE = `usage: hookrelay validate [file] [--allow-missing-env]

Checks a rules file and lists every problem, one per line (file:line:col path: message).
Without a file: $HOOKRELAY_CONFIG, else ./rules.yaml, else ./rules.example.yaml.
--allow-missing-env: an unset \${VAR} is a warning (checked with a stand-in value), so CI needs no
production secrets.
Exit status: 0 valid (warnings may be printed), 1 invalid, 2 bad usage.
`;

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * runValidate implements `hookrelay validate [file]`: 0 and an `ok:` line when the file is valid
 * (warnings go to stderr), 1 with every issue on stderr when it is not, 2 for bad usage.
 */
export async function runValidate(args: string[], io: CliIo): Promise<number> {
  const files: string[] = [];
  let options = true;
  let allowMissingEnv = false;
  for (const arg of args) {
    if (options && arg === '--') options = false;
    else if (options && arg === '--allow-missing-env') allowMissingEnv = true;
    else if (options && (arg === '-h' || arg === '--help')) {
      io.stdout(USAGE);
      return 0;
    } else if (options && arg.startsWith('-') && arg !== '-') {
      io.stderr(`hookrelay validate: unknown option "${arg}"\n\n${USAGE}`);
      return 2;
    } else files.push(arg);
  }
  if (files.length > 1) {
    io.stderr(`hookrelay validate: expected at most one file, got ${files.length}\n\n${USAGE}`);
    return 2;
  }
  const rulesFile = rulesFileFor(files[0], io);
  const file = rulesFile.path;
  const result = await loadConfig(file, io.env, { cwd: io.cwd, allowMissingEnv });
  if (!result.ok) {
    printIssues(io, rulesFile, result.issues);
    io.stderr(`invalid: ${file} (${count(result.issues.length, 'problem')})\n`);
    return 1;
  }
  for (const warning of result.warnings) io.stderr(`warning: ${formatIssue(warning)}\n`);
  const { raw } = result.config;
  const counts = [
    count(Object.keys(raw.sources).length, 'source'),
    count(Object.keys(raw.destinations).length, 'destination'),
    count(raw.rules.length, 'rule'),
  ];
  io.stdout(`ok: ${file} (${counts.join(', ')})\n`);
  return 0;
}
