// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${VAR} references under test.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isScalar, LineCounter, parseDocument } from 'yaml';
import { interpolateDocument, interpolateString } from './env.js';
import { formatIssue } from './issues.js';
import { loadConfig } from './load.js';

const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));

describe('interpolateString', () => {
  it('replaces ${VAR} with the value from env', () => {
    expect(interpolateString('Bearer ${TOKEN}', { TOKEN: 'abc' })).toEqual({
      value: 'Bearer abc',
      variables: ['TOKEN'],
      problems: [],
    });
  });

  it('uses the default when the variable is unset or empty, like the shell', () => {
    expect(interpolateString('${PORT:-3000}', {}).value).toBe('3000');
    expect(interpolateString('${PORT:-3000}', { PORT: '' }).value).toBe('3000');
    expect(interpolateString('${PORT:-3000}', { PORT: '8080' }).value).toBe('8080');
    expect(interpolateString('${OPTIONAL:-}', {}).value).toBe('');
  });

  it('keeps everything after :- up to the closing brace as the default', () => {
    expect(interpolateString('${URL:-http://localhost:9000/a?b=c}', {}).value).toBe(
      'http://localhost:9000/a?b=c',
    );
  });

  it('treats a set but empty variable without a default as empty, not missing', () => {
    expect(interpolateString('x${EMPTY}y', { EMPTY: '' })).toEqual({
      value: 'xy',
      variables: ['EMPTY'],
      problems: [],
    });
  });

  it('reports an unset variable and keeps the reference as written', () => {
    expect(interpolateString('a ${MISSING} b', {})).toEqual({
      value: 'a ${MISSING} b',
      variables: ['MISSING'],
      problems: [{ kind: 'missing', variable: 'MISSING', reference: '${MISSING}' }],
    });
  });

  it('turns $${ into a literal ${ without looking up a variable', () => {
    expect(interpolateString('$${HOME} and ${HOME}', { HOME: '/root' })).toEqual({
      value: '${HOME} and /root',
      variables: ['HOME'],
      problems: [],
    });
  });

  it('leaves a lone $ and $$ alone', () => {
    expect(interpolateString('costs $5, or $$5', {}).value).toBe('costs $5, or $$5');
  });

  it('does not interpolate a value a second time', () => {
    expect(interpolateString('${A}', { A: '${B}', B: 'nope' }).value).toBe('${B}');
  });

  it.each([
    ['${}', '${}'],
    ['${1ABC}', '${1ABC}'],
    ['${UNCLOSED', '${UNCLOSED'],
    ['${A:-${B}}', '${A:-${B}'],
  ])('reports %s as malformed', (text, reference) => {
    expect(interpolateString(text, { A: 'a', B: 'b' }).problems).toEqual([{ kind: 'malformed', reference }]);
  });
});

describe('interpolateDocument', () => {
  function run(source: string, env: NodeJS.ProcessEnv) {
    const lineCounter = new LineCounter();
    const doc = parseDocument(source, { lineCounter });
    const result = interpolateDocument(doc, env, { file: 'rules.yaml', source, lineCounter });
    return { doc, result };
  }

  it('interpolates string values after parsing, so a value cannot inject YAML', () => {
    const { doc } = run('token: "${TOKEN}"\nother: x\n', { TOKEN: 'a\nother: injected' });
    expect(doc.toJS()).toEqual({ token: 'a\nother: injected', other: 'x' });
  });

  it('leaves keys and non-string scalars alone', () => {
    const { doc, result } = run('${KEY}: "${VALUE}"\nn: 5\n', { KEY: 'k', VALUE: 'v' });
    expect(doc.toJS()).toEqual({ '${KEY}': 'v', n: 5 });
    expect(result.issues).toEqual([]);
  });

  it('points at the reference and names the key path when a variable is missing', () => {
    const source = 'destinations:\n  team-slack:\n    token: "xoxb-${SLACK_BOT_TOKEN}"\n';
    const { result } = run(source, {});
    expect(result.issues.map(formatIssue)).toEqual([
      'rules.yaml:3:18 destinations.team-slack.token: environment variable SLACK_BOT_TOKEN is not set (set it, or write ${SLACK_BOT_TOKEN:-default} to fall back to a default)',
    ]);
    expect(result.issues[0]?.code).toBe('HR_ERR_CONFIG_ENV_MISSING');
  });

  it('reports list items by index and every missing variable in a value', () => {
    const { result } = run('secrets:\n  - ok\n  - "${A}/${B}"\n', {});
    expect(result.issues.map((issue) => [issue.path, issue.line, issue.col, issue.message])).toEqual([
      ['secrets[1]', 3, 6, 'environment variable A is not set'],
      ['secrets[1]', 3, 11, 'environment variable B is not set'],
    ]);
  });

  it('reports a malformed reference with how to write a literal', () => {
    const { result } = run('url: "http://x/${BROKEN"\n', {});
    expect(result.issues.map(formatIssue)).toEqual([
      'rules.yaml:1:16 url: malformed reference "${BROKEN" (expected ${NAME} or ${NAME:-default}) (write $${ for a literal "${")',
    ]);
  });

  it('remembers which values came from the environment', () => {
    const { doc, result } = run('a: "${A}"\nb: plain\n', { A: 'secret' });
    const a = doc.get('a', true);
    const b = doc.get('b', true);
    expect(isScalar(a) && result.fromEnv.get(a)).toEqual(['A']);
    expect(isScalar(b) && result.fromEnv.has(b)).toBe(false);
  });
});

describe('environment in a whole rules file', () => {
  it('applies defaults, escapes and values from env', async () => {
    const result = await loadConfig('env-ok.yaml', { TP_SECRET: 'from-env', EMPTY: '' }, { cwd: TESTDATA });
    if (!result.ok) expect.fail(result.issues.map(formatIssue).join('\n'));
    const source = result.config.sources['trackpilots'];
    expect(source?.secrets).toEqual(['from-env', '${NOT_A_VAR}', 'fallback', 'empty-default']);
    expect(source?.toleranceMs).toBe(90_000);
    expect(result.config.raw.rules[0]?.message?.title).toBe('costs $$5 and EUR');
  });

  it('does not interpolate keys: a destination named ${DEST_NAME} stays that name', async () => {
    const result = await loadConfig('env-keys.yaml', { DEST_NAME: 'console' }, { cwd: TESTDATA });
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual([
      'env-keys.yaml:9:10 rules[0].to[0]: undefined destination "console" (defined: ${DEST_NAME})',
    ]);
  });
});
