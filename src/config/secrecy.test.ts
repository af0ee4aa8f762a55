// biome-ignore-all lint/suspicious/noTemplateCurlyInString: rules files in these tests use ${VAR}.
// Issue 15 §7: no error message prints a value from the environment, nor the content of a people file
// that may be a symlink to it.
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, loadConfig } from './load.js';

const ENVIRON = 'PATH=/usr/bin\0HOME=/root\0SECRET_TOKEN=xoxb-leaked-token-123\0';

function rulesWith(extra: { people?: string; rule?: string }): string {
  return `version: 1
sources:
  trackpilots: { type: trackpilots, secrets: ["s"] }
destinations:
  console: { type: log }
${extra.people ?? ''}
rules:
  - name: r
    on: desktop.app_tracking.captured
${extra.rule ?? ''}
    to: [console]
`;
}

async function messages(files: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-secrecy-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const result = await loadConfig('rules.yaml', env, { cwd: dir });
  return (result.ok ? result.warnings : result.issues).map(formatIssue).join('\n');
}

describe('config errors never print a value from the environment (issue 15 §7)', () => {
  it('a people CSV that is really the environment is reported by column position, not content', async () => {
    const out = await messages({
      'rules.yaml': rulesWith({ people: 'people:\n  - file: people.csv' }),
      'people.csv': ENVIRON,
    });
    expect(out).toContain('people.csv:1:1: unknown column 1 of the header row');
    expect(out).not.toMatch(/leaked|SECRET_TOKEN|HOME|PATH/);
  });

  it('a people CSV symlinked to /proc/self/environ leaks nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-secrecy-'));
    writeFileSync(join(dir, 'rules.yaml'), rulesWith({ people: 'people:\n  - file: people.csv' }));
    symlinkSync('/proc/self/environ', join(dir, 'people.csv'));
    const result = await loadConfig(
      'rules.yaml',
      { ...process.env, LEAK_CANARY: 'canary-9f8e7d' },
      { cwd: dir },
    );
    const out = (result.ok ? [] : result.issues).map(formatIssue).join('\n');
    expect(out).toContain('people.csv');
    expect(out).not.toContain('=');
  });

  it('duplicate and misspelt CSV columns are named by position (with a did-you-mean)', async () => {
    const out = await messages({
      'rules.yaml': rulesWith({ people: 'people:\n  - file: people.csv' }),
      'people.csv': 'id,emial,id\nu1,a@b.c,u1\n',
    });
    expect(out).toContain('people.csv:1:4: unknown column 2 of the header row (did you mean "email"?)');
    expect(out).toContain('people.csv:1:10: column 3 repeats column 1 ("id")');
    expect(out).not.toContain('emial');
  });

  it('a people YAML file that is really the environment shows no value', async () => {
    const out = await messages({
      'rules.yaml': rulesWith({ people: 'people:\n  - file: people.yaml' }),
      'people.yaml': 'SECRET_TOKEN=xoxb-leaked-token-123\n',
    });
    expect(out).toContain('people.yaml');
    expect(out).not.toMatch(/leaked|SECRET_TOKEN/);
  });

  it.each([
    ['a regex', '    if: { app.name: { regex: "${PATTERN}" } }', { PATTERN: '(s3cr3t)\\1' }],
    [
      'a regex RE2 cannot parse',
      '    if: { app.name: { regex: "${PATTERN}" } }',
      { PATTERN: 's3cr3t{9999}' },
    ],
    ['a filter name', '    message: { title: "${TITLE}" }', { TITLE: '{{ user | s3cr3tfilter }}' }],
    ['a tag name', '    message: { text: "${TEXT}" }', { TEXT: '{% s3cr3ttag %}' }],
    ['a person', '    users: ["${WHO}"]', { WHO: 's3cr3t-person' }],
    [
      'a field a warning quotes',
      '    threshold: { window: 1h, sum: "${FIELD}", gte: 1 }',
      { FIELD: 's3cr3t.field' },
    ],
  ])('%s from ${VAR} is refused without its value', async (_name, rule, env) => {
    const out = await messages({ 'rules.yaml': rulesWith({ rule }) }, env);
    expect(out).not.toBe('');
    expect(out).not.toContain('s3cr3t');
    expect(out).toMatch(/\$\{(PATTERN|TITLE|TEXT|WHO|FIELD)\}/);
  });
});
