import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleActivityEvent } from '../../src/cli/send-samples.js';
import { logEverythingRules } from '../helpers/rules-yaml.js';
import { MAIN, type ServerProcess, startServer, tempDir } from '../helpers/server-process.js';
import { signedTrackpilotsHeaders } from '../helpers/sign.js';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Issue 15 §10: built-in HTTPS (TLS_CERT_FILE / TLS_KEY_FILE), the certificate reloaded on SIGHUP. The
 * certificates are made for the test with openssl; the client trusts exactly the one it expects.
 */

const run = promisify(execFile);
const SECRET = 'e2e-tls-secret-0123456789';
const RULES = logEverythingRules();

/** peerFingerprint connects with TLS and returns the SHA-256 fingerprint of the certificate served. */
function peerFingerprint(url: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

const fingerprintOf = (certificate: TestCertificate) => new X509Certificate(certificate.cert).fingerprint256;

describe('hookrelay serve: built-in HTTPS', () => {
  let server: ServerProcess;
  let first: TestCertificate;
  let second: TestCertificate;
  let certFile: string;
  let keyFile: string;

  beforeAll(async () => {
    const dir = tempDir();
    first = await makeTestCertificate(dir, 'first', 'hookrelay-first');
    second = await makeTestCertificate(dir, 'second', 'hookrelay-second');
    certFile = join(dir, 'server.crt');
    keyFile = join(dir, 'server.key');
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    const trustFirst = new Agent({ connect: { ca: first.cert } });
    server = await startServer({
      dir,
      rulesYaml: RULES,
      env: { TP_SECRET: SECRET, TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile },
      ready: async (url) => (await undiciFetch(`${url}/readyz`, { dispatcher: trustFirst })).ok,
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('serves HTTPS with the certificate from TLS_CERT_FILE, and a signed webhook is accepted', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const body = JSON.stringify(sampleActivityEvent({ userId: 'over-tls' }));
    const response = await undiciFetch(`${server.url}/webhooks/trackpilots`, {
      method: 'POST',
      headers: signedTrackpilotsHeaders(body, SECRET),
      body,
      dispatcher: new Agent({ connect: { ca: first.cert } }),
    });
    expect(response.status).toBe(200);
    expect(await peerFingerprint(server.url)).toBe(fingerprintOf(first));
  });

  test('plain HTTP on the TLS port is not served', async () => {
    const plain = server.url.replace('https:', 'http:');
    const outcome = await fetch(`${plain}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(outcome).not.toBe(200);
  });

  test('SIGHUP reloads the certificate; a broken pair on a later SIGHUP is refused and the last good one stays', async () => {
    copyFileSync(second.certFile, certFile);
    copyFileSync(second.keyFile, keyFile);
    server.child.kill('SIGHUP');
    await waitFor(
      'the TLS reload',
      () => server.lines.some((line) => line.includes('TLS certificate reloaded')),
      {
        timeoutMs: 10_000,
      },
    );
    expect(await peerFingerprint(server.url)).toBe(fingerprintOf(second));

    // The first certificate with the second key: not a pair.
    copyFileSync(first.certFile, certFile);
    server.child.kill('SIGHUP');
    await waitFor(
      'the refused TLS reload',
      () => server.lines.some((line) => line.includes('TLS reload refused')),
      {
        timeoutMs: 10_000,
      },
    );
    expect(await peerFingerprint(server.url)).toBe(fingerprintOf(second));
    const refusal = server.lines.find((line) => line.includes('TLS reload refused')) ?? '';
    expect(refusal).not.toContain('PRIVATE KEY');
  });
});

describe('hookrelay serve: TLS settings that cannot work stop it at start', () => {
  const serve = async (env: Record<string, string>) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    return run(process.execPath, [MAIN, 'serve'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', TP_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1', ...env },
      timeout: 15_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
    );
  };

  test.each<{ name: string; env: Record<string, string>; code: number; says: RegExp }>([
    {
      name: 'a certificate without a key',
      env: { TLS_CERT_FILE: '/nonexistent.crt' },
      code: 2,
      says: /TLS_CERT_FILE and TLS_KEY_FILE go together/,
    },
    {
      name: 'files that cannot be read',
      env: { TLS_CERT_FILE: '/nonexistent/server.crt', TLS_KEY_FILE: '/nonexistent/server.key' },
      code: 1,
      says: /cannot read TLS_CERT_FILE \/nonexistent\/server\.crt/,
    },
  ])('$name: exit $code', async ({ env, code, says }) => {
    const result = await serve(env);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(says);
  });

  test('a certificate and a key that are not a pair: exit 1, and the key is never printed', async () => {
    const dir = tempDir();
    const a = await makeTestCertificate(dir, 'a', 'a');
    const b = await makeTestCertificate(dir, 'b', 'b');
    const result = await serve({ TLS_CERT_FILE: a.certFile, TLS_KEY_FILE: b.keyFile });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/do not make a usable certificate/);
    expect(result.stderr).not.toContain('PRIVATE KEY');
  });
});
