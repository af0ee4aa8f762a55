import { z } from 'zod';
import { conditionSchema } from '../rules/schema.js';
import { configSchema } from './schema.js';

// The recursive rule condition becomes a shared definition; without an id zod names it `__schema0`.
function nameSharedDefinitions(): void {
  if (!z.globalRegistry.has(conditionSchema)) {
    z.globalRegistry.add(conditionSchema, {
      id: 'condition',
      description: 'A condition: { path: value }, { path: { op: value } }, or all/any/not of conditions.',
    });
  }
}

/**
 * configJsonSchema is the JSON Schema of the rules file, for editor completion and checks
 * (`# yaml-language-server: $schema=./rules.schema.json`). It describes the input side: keys with
 * defaults are optional. Cross-field rules (slack token or webhookUrl) and cross-references are only
 * checked by `hookrelay validate`.
 */
export function configJsonSchema(): Record<string, unknown> {
  nameSharedDefinitions();
  // draft-07: the dialect YAML editors support most widely.
  const generated = z.toJSONSchema(configSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'hookrelay rules file',
    description:
      'Sources, people, schedules, destinations and rules for hookrelay. Check with: hookrelay validate',
    ...rest,
  };
}

/** renderJsonSchema is the committed form of the schema: 2-space JSON with a trailing newline. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
