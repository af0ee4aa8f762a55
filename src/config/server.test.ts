import { describe, expect, it } from 'vitest';
import { formatIssue, loadConfig } from './load.js';

const BASE = `version: 1
sources:
  trackpilots:
    type: trackpilots
    secrets: [s]
    maxBodySize: 10mb
destinations:
  console: { type: log }
rules: []
`;

async function load(text: string) {
  return loadConfig('rules.yaml', {}, { readText: async () => text });
}

async function problems(text: string): Promise<string[]> {
  const result = await load(text);
  if (result.ok) throw new Error('expected the file to be invalid');
  return result.issues.map(formatIssue);
}

describe('the server: section', () => {
  it('is optional, with documented defaults in ms and bytes', async () => {
    const result = await load(BASE);
    if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
    expect(result.config.server).toEqual({
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 72_000,
      maxConnections: 1000,
      maxBufferedSize: 64 * 1024 * 1024,
      trustProxyHops: 0,
    });
  });

  it('reads every key', async () => {
    const result = await load(
      `${BASE}server:
  headersTimeout: 2s
  requestTimeout: 5s
  keepAliveTimeout: 1m
  maxConnections: 50
  maxBufferedSize: 20mb
  trustProxyHops: 2
`,
    );
    expect(result.ok && result.config.server).toEqual({
      headersTimeout: 2_000,
      requestTimeout: 5_000,
      keepAliveTimeout: 60_000,
      maxConnections: 50,
      maxBufferedSize: 20 * 1024 * 1024,
      trustProxyHops: 2,
    });
  });

  it('refuses values that cannot work, each at its line', async () => {
    expect(
      await problems(`${BASE}server:
  headersTimeout: 1m
  requestTimeout: 30s
  maxConnections: 0
  trustProxyHops: -1
  maxBufferedSize: lots
  readTimeout: 5s
`),
    ).toEqual([
      'rules.yaml:11:19 server.headersTimeout: headersTimeout must not be longer than requestTimeout (the headers are part of the request)',
      'rules.yaml:13:19 server.maxConnections: expected a whole number of connections, at least 1, got 0',
      'rules.yaml:14:19 server.trustProxyHops: expected a whole number of proxies, 0 or more, got -1',
      'rules.yaml:15:20 server.maxBufferedSize: expected a size such as 512kb, 10mb or 1gb, got "lots"',
      'rules.yaml:16:3 server.readTimeout: unknown key "readTimeout" (did you mean "headersTimeout"?)',
    ]);
  });

  it('refuses a headersTimeout longer than the requestTimeout', async () => {
    expect(await problems(`${BASE}server: { headersTimeout: 1m, requestTimeout: 30s }\n`)).toEqual([
      'rules.yaml:10:27 server.headersTimeout: headersTimeout must not be longer than requestTimeout (the headers are part of the request)',
    ]);
  });

  it('refuses a buffer smaller than a source body limit: that body could never be read', async () => {
    expect(await problems(`${BASE}server: { maxBufferedSize: 1mb }\n`)).toEqual([
      'rules.yaml:10:28 server.maxBufferedSize: server.maxBufferedSize is smaller than the maxBodySize of source "trackpilots" (raise it to at least 10mb)',
    ]);
  });
});

describe('a source allowFrom', () => {
  const withAllow = (list: string) => BASE.replace('    maxBodySize: 10mb\n', `    allowFrom: ${list}\n`);

  it('takes addresses and CIDR ranges of either family', async () => {
    const result = await load(withAllow('[203.0.113.7, 10.0.0.0/8, "2001:db8::/32"]'));
    expect(result.ok && result.config.sources['trackpilots']?.allowFrom).toEqual([
      '203.0.113.7',
      '10.0.0.0/8',
      '2001:db8::/32',
    ]);
  });

  it('refuses what is not a range, and an empty list', async () => {
    expect(await problems(withAllow('[10.0.0.0/33, example.com]'))).toEqual([
      'rules.yaml:6:17 sources.trackpilots.allowFrom[0]: expected an address or range such as 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32, got "10.0.0.0/33"',
      'rules.yaml:6:30 sources.trackpilots.allowFrom[1]: expected an address or range such as 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32, got "example.com"',
    ]);
    expect(await problems(withAllow('[]'))).toEqual([
      'rules.yaml:6:16 sources.trackpilots.allowFrom: expected at least one address range, got an empty list',
    ]);
  });
});
