import { renderJsonSchema } from '../config/json-schema.js';
import type { CliIo } from './io.js';

const USAGE = `usage: hookrelay schema

Prints the JSON Schema of the rules file (the source of rules.schema.json):
  hookrelay schema > rules.schema.json
`;

/** runSchema implements `hookrelay schema`: prints the rules file's JSON Schema to stdout. */
export async function runSchema(args: string[], io: CliIo): Promise<number> {
  const [first] = args;
  if (first === '-h' || first === '--help') {
    io.stdout(USAGE);
    return 0;
  }
  if (first !== undefined) {
    io.stderr(`hookrelay schema: unexpected argument "${first}"\n\n${USAGE}`);
    return 2;
  }
  io.stdout(renderJsonSchema());
  return 0;
}
