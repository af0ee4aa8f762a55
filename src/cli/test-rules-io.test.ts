import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { runTest } from './test-rules.js';

describe('hookrelay test: the rules file', () => {
  it('a missing rules file names every path tried', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-test-'));
    const io = captureIo({ env: {}, cwd: dir });
    expect(await runTest([], io)).toBe(1);
    expect(io.err()).toContain(
      `no rules file: tried ${join(dir, 'rules.yaml')}, ${join(dir, 'rules.example.yaml')};`,
    );
  });
});
