import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** TestCertificate is a self-signed certificate for 127.0.0.1 made for one test, and where it was written. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate in PEM, to trust it as its own CA. */
  cert: string;
}

/**
 * makeTestCertificate writes a fresh self-signed certificate and key (EC P-256, valid for 127.0.0.1 and
 * localhost, one day) as `<name>.crt` / `<name>.key` in `dir`, with the machine's `openssl`.
 */
export async function makeTestCertificate(
  dir: string,
  name: string,
  commonName: string,
): Promise<TestCertificate> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}
