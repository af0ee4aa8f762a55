import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, renderJsonSchema } from './json-schema.js';

const COMMITTED = fileURLToPath(new URL('../../rules.schema.json', import.meta.url));

describe('rules.schema.json', () => {
  it('is up to date with the zod schema', () => {
    const committed = readFileSync(COMMITTED, 'utf8');
    if (committed !== renderJsonSchema()) {
      expect.fail(
        'rules.schema.json is stale: the config or rule schema changed. Regenerate it with\n' +
          '  npm run build && node dist/src/main.js schema > rules.schema.json',
      );
    }
  });

  it('is what the first line of rules.example.yaml points editors at', () => {
    const example = readFileSync(fileURLToPath(new URL('../../rules.example.yaml', import.meta.url)), 'utf8');
    expect(example.split('\n', 1)[0]).toBe('# yaml-language-server: $schema=./rules.schema.json');
  });

  it('describes the top level for editors, with unknown keys rejected', () => {
    const schema = configJsonSchema();
    expect(schema['$schema']).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema['title']).toBe('hookrelay rules file');
    expect(schema['additionalProperties']).toBe(false);
    expect(schema['required']).toEqual(['version', 'sources', 'destinations', 'rules']);
  });
});
