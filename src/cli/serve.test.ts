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
});
