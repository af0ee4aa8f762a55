import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../lib/log.js';
import { isLoopback, logStartup } from './startup.js';

const REPO = new URL('../..', import.meta.url).pathname;

function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

async function exampleConfig(env: NodeJS.ProcessEnv = {}) {
  const loaded = await loadConfig('rules.example.yaml', env, { cwd: REPO });
  if (!loaded.ok) throw new Error('rules.example.yaml should load');
  return loaded.config;
}

describe('serve says at start what it uses (issue 9 §4)', () => {
  it('logs the rules file and the database, as absolute paths', async () => {
    const { logger, lines } = capturedLogger();
    const config = await exampleConfig({ TRACKPILOTS_WEBHOOK_SECRET: 'production-secret' });
    logStartup(logger, {
      config,
      rulesFile: 'rules.example.yaml',
      databaseUrl: 'sqlite:./data/x.db',
      cwd: '/srv/app',
      host: '0.0.0.0',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      rulesFile: '/srv/app/rules.example.yaml',
      database: 'sqlite:/srv/app/data/x.db',
      msg: 'serving with this rules file and database',
    });
  });

  it('warns loudly when the built-in development secret is accepted on a non-loopback address', async () => {
    const config = await exampleConfig();
    const open = capturedLogger();
    logStartup(open.logger, {
      config,
      rulesFile: 'r.yaml',
      databaseUrl: 'sqlite::memory:',
      cwd: '/',
      host: '0.0.0.0',
    });
    expect(open.lines[1]).toMatchObject({ level: 40, sources: ['trackpilots'] });
    expect(String(open.lines[1]?.msg)).toMatch(/^INSECURE: .*development secret.*TRACKPILOTS_WEBHOOK_SECRET/);
    const local = capturedLogger();
    logStartup(local.logger, {
      config,
      rulesFile: 'r.yaml',
      databaseUrl: 'sqlite::memory:',
      cwd: '/',
      host: '127.0.0.1',
    });
    expect(local.lines).toHaveLength(1);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['127.example.com', false],
  ])('%s is loopback: %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});
