import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { runSchema } from './schema.js';
import { runValidate } from './validate.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TESTDATA = fileURLToPath(new URL('../config/testdata/', import.meta.url));

function memoryIo(cwd: string, env: NodeJS.ProcessEnv = {}) {
  return captureIo({ cwd, env });
}

describe('hookrelay validate', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function emptyDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-validate-'));
    dirs.push(dir);
    return dir;
  }

  it('prints ok with counts and exits 0 for a valid file', async () => {
    const io = memoryIo(REPO);
    expect(await runValidate(['rules.example.yaml'], io)).toBe(0);
    expect(io.out()).toBe('ok: rules.example.yaml (1 source, 1 destination, 5 rules)\n');
    expect(io.err()).toBe('');
  });

  it('prints warnings on stderr and still exits 0', async () => {
    const io = memoryIo(TESTDATA);
    expect(await runValidate(['unused-destination.yaml'], io)).toBe(0);
    expect(io.out()).toBe('ok: unused-destination.yaml (1 source, 2 destinations, 1 rule)\n');
    expect(io.err()).toBe(
      'warning: unused-destination.yaml:5:3 schedules.nights: schedule "nights" is not used by any rule or silence\n' +
        'warning: unused-destination.yaml:8:3 destinations.zapier: destination "zapier" is not used by any rule (add it to a rule\'s to: list, or remove it)\n',
    );
  });

  it('prints every issue, one per line, and exits 1 for an invalid file', async () => {
    const io = memoryIo(TESTDATA);
    expect(await runValidate(['undefined-schedule.yaml'], io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toBe(
      [
        'undefined-schedule.yaml:8:13 silences[0].during: undefined schedule "holiday" (defined: work-hours)',
        'undefined-schedule.yaml:9:25 silences[0].rules[1]: undefined rule "evrything" (did you mean "everything"?)',
        'undefined-schedule.yaml:15:13 rules[0].during: undefined schedule "work-hour" (did you mean "work-hours"?)',
        'invalid: undefined-schedule.yaml (3 problems)',
        '',
      ].join('\n'),
    );
  });

  it('reads environment variables from the io, not the process', async () => {
    const io = memoryIo(TESTDATA, { TP_SECRET: 'x' });
    expect(await runValidate(['env-ok.yaml'], io)).toBe(0);
    const missing = memoryIo(TESTDATA);
    expect(await runValidate(['env-ok.yaml'], missing)).toBe(1);
    expect(missing.err()).toContain('environment variable TP_SECRET is not set');
  });

  it('exits 1 with a clear message when the named file does not exist', async () => {
    const io = memoryIo(emptyDir());
    expect(await runValidate(['nope.yaml'], io)).toBe(1);
    expect(io.err()).toBe(
      'nope.yaml: cannot read the rules file: file not found\ninvalid: nope.yaml (1 problem)\n',
    );
  });

  it('without a file, uses HOOKRELAY_CONFIG, then rules.yaml, then rules.example.yaml', async () => {
    const dir = emptyDir();
    const example = readFileSync(join(REPO, 'rules.example.yaml'), 'utf8');
    writeFileSync(join(dir, 'rules.example.yaml'), example);
    const fallback = memoryIo(dir);
    expect(await runValidate([], fallback)).toBe(0);
    expect(fallback.out()).toBe('ok: rules.example.yaml (1 source, 1 destination, 5 rules)\n');

    writeFileSync(join(dir, 'rules.yaml'), 'version: 1\n');
    const own = memoryIo(dir);
    expect(await runValidate([], own)).toBe(1);
    expect(own.err()).toContain('invalid: rules.yaml (');

    writeFileSync(join(dir, 'custom.yaml'), example);
    const fromEnv = memoryIo(dir, { HOOKRELAY_CONFIG: 'custom.yaml' });
    expect(await runValidate([], fromEnv)).toBe(0);
    expect(fromEnv.out()).toBe('ok: custom.yaml (1 source, 1 destination, 5 rules)\n');
  });

  it('explains how to provide a file when none is found, naming every path tried', async () => {
    const dir = emptyDir();
    const io = memoryIo(dir);
    expect(await runValidate([], io)).toBe(1);
    expect(io.err()).toBe(
      'rules.example.yaml: cannot read the rules file: file not found\n' +
        `no rules file: tried ${join(dir, 'rules.yaml')}, ${join(dir, 'rules.example.yaml')}; pass a path, set HOOKRELAY_CONFIG, or copy rules.example.yaml to rules.yaml\n` +
        'invalid: rules.example.yaml (1 problem)\n',
    );
    const fromEnv = memoryIo(dir, { HOOKRELAY_CONFIG: 'gone.yaml' });
    expect(await runValidate([], fromEnv)).toBe(1);
    expect(fromEnv.err()).toContain(`no rules file: tried $HOOKRELAY_CONFIG=${join(dir, 'gone.yaml')};`);
  });

  it.each([[['a.yaml', 'b.yaml']], [['--strict']], [['-x', 'a.yaml']]])(
    'exits 2 on bad usage: %j',
    async (args) => {
      const io = memoryIo(REPO);
      expect(await runValidate(args, io)).toBe(2);
      expect(io.out()).toBe('');
      expect(io.err()).toMatch(
        /^hookrelay validate: .*\n\nusage: hookrelay validate \[file\] \[--allow-missing-env\]\n/,
      );
    },
  );

  it('prints usage on --help and exits 0', async () => {
    const io = memoryIo(REPO);
    expect(await runValidate(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/^usage: hookrelay validate \[file\] \[--allow-missing-env\]\n/);
  });

  it('accepts a file name starting with a dash after --', async () => {
    const dir = emptyDir();
    writeFileSync(join(dir, '-rules.yaml'), readFileSync(join(REPO, 'rules.example.yaml'), 'utf8'));
    const io = memoryIo(dir);
    expect(await runValidate(['--', '-rules.yaml'], io)).toBe(0);
    expect(io.out()).toBe('ok: -rules.yaml (1 source, 1 destination, 5 rules)\n');
  });
});

describe('hookrelay schema', () => {
  it('prints the committed rules.schema.json', async () => {
    const io = memoryIo(REPO);
    expect(await runSchema([], io)).toBe(0);
    expect(io.out()).toBe(readFileSync(join(REPO, 'rules.schema.json'), 'utf8'));
  });

  it('exits 2 on an unexpected argument', async () => {
    const io = memoryIo(REPO);
    expect(await runSchema(['rules.yaml'], io)).toBe(2);
    expect(io.err()).toMatch(/^hookrelay schema: unexpected argument "rules.yaml"\n/);
  });
});
