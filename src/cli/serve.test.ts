import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { runServe } from './serve.js';

describe('hookrelay serve refuses a bad environment before starting anything', () => {
  it('LOG_LEVEL=bogus lists the valid levels and exits 2', async () => {
    const io = captureIo({ env: { LOG_LEVEL: 'bogus' }, cwd: '/nonexistent' });
    expect(await runServe([], io)).toBe(2);
    expect(io.err()).toBe(
      'hookrelay serve: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "bogus"\n',
    );
  });

  it('a missing rules file names every path tried, and nothing is started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-serve-'));
    const io = captureIo({ env: {}, cwd: dir });
    expect(await runServe([], io)).toBe(1);
    expect(io.err()).toContain(
      `no rules file: tried ${join(dir, 'rules.yaml')}, ${join(dir, 'rules.example.yaml')};`,
    );
    expect(io.err()).toContain('nothing was started');
  });
});
