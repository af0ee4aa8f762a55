import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { runCommand } from './commands.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

// Every command and subcommand, as a person would type it before --help.
const EVERY_COMMAND = [
  ['serve'],
  ['validate'],
  ['schema'],
  ['test'],
  ['send'],
  ['events'],
  ['events', 'show'],
  ['dlq'],
  ['dlq', 'list'],
  ['dlq', 'replay'],
  ['dlq', 'paused'],
  ['dlq', 'resume'],
];

describe('hookrelay as a Unix tool: help and version (issue 9 §4)', () => {
  it.each(EVERY_COMMAND.map((command) => [command.join(' '), command] as const))(
    '%s --help prints its usage on stdout and exits 0',
    async (_name, command) => {
      const io = captureIo({ cwd: '/nonexistent' });
      expect(await runCommand([...command, '--help'], io)).toBe(0);
      expect(io.out()).toMatch(new RegExp(`^usage: hookrelay ${command.join(' ')}`, 'i'));
      expect(io.err()).toBe('');
    },
  );

  it.each(EVERY_COMMAND.map((command) => [command.join(' '), command] as const))(
    'help %s prints the same as --help',
    async (_name, command) => {
      const viaFlag = captureIo({ cwd: '/nonexistent' });
      await runCommand([...command, '--help'], viaFlag);
      const viaHelp = captureIo({ cwd: '/nonexistent' });
      expect(await runCommand(['help', ...command], viaHelp)).toBe(0);
      expect(viaHelp.out()).toBe(viaFlag.out());
    },
  );

  it.each([['--version'], ['-V'], ['version']])('%s prints the package version', async (flag) => {
    const io = captureIo();
    expect(await runCommand([flag], io)).toBe(0);
    expect(io.out()).toBe(`hookrelay ${VERSION}\n`);
  });

  it('help and --help list the commands on stdout; no command at all is bad usage on stderr', async () => {
    for (const args of [['help'], ['--help']]) {
      const io = captureIo();
      expect(await runCommand(args, io)).toBe(0);
      expect(io.out()).toContain('hookrelay help <command>');
    }
    const bare = captureIo();
    expect(await runCommand([], bare)).toBe(2);
    expect(bare.out()).toBe('');
    expect(bare.err()).toContain('usage: hookrelay <command>');
  });

  it('help for an unknown command is bad usage', async () => {
    const io = captureIo();
    expect(await runCommand(['help', 'srve'], io)).toBe(2);
    expect(io.err()).toContain('unknown command "srve"');
  });
});
