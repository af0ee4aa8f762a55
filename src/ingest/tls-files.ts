import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { TlsCredentials } from './http-server.js';

/** TlsFiles are where the listener's certificate chain and private key are read from (PEM). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** TlsFilesCode names why TLS settings cannot be used; listed in docs/errors.md. */
export type TlsFilesCode = 'HR_ERR_TLS_INCOMPLETE' | 'HR_ERR_TLS_UNREADABLE' | 'HR_ERR_TLS_INVALID';

/** TlsProblem is why: a stable code and a message that names variables and paths, never file content. */
export interface TlsProblem {
  code: TlsFilesCode;
  message: string;
}

/**
 * tlsFilesFromEnv reads TLS_CERT_FILE and TLS_KEY_FILE: both set is HTTPS, neither is plain HTTP (a proxy in
 * front terminates TLS), one alone is a mistake.
 */
export function tlsFilesFromEnv(env: NodeJS.ProcessEnv): TlsFiles | undefined | TlsProblem {
  const certFile = env.TLS_CERT_FILE || undefined;
  const keyFile = env.TLS_KEY_FILE || undefined;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    return {
      code: 'HR_ERR_TLS_INCOMPLETE',
      message: 'TLS_CERT_FILE and TLS_KEY_FILE go together: set both for HTTPS, or neither',
    };
  }
  return { certFile, keyFile };
}

async function read(file: string, variable: string): Promise<Buffer | TlsProblem> {
  try {
    return await readFile(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    return { code: 'HR_ERR_TLS_UNREADABLE', message: `cannot read ${variable} ${file} (${reason})` };
  }
}

/**
 * readTlsFiles reads the certificate and key and checks that they make a usable pair, so a bad pair is
 * refused where it is read (at start, or on SIGHUP with the running one kept), never at the first
 * handshake. Messages quote OpenSSL's reason, never the files' content.
 */
export async function readTlsFiles(files: TlsFiles): Promise<TlsCredentials | TlsProblem> {
  const cert = await read(files.certFile, 'TLS_CERT_FILE');
  if (!Buffer.isBuffer(cert)) return cert;
  const key = await read(files.keyFile, 'TLS_KEY_FILE');
  if (!Buffer.isBuffer(key)) return key;
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      code: 'HR_ERR_TLS_INVALID',
      message: `TLS_CERT_FILE and TLS_KEY_FILE do not make a usable certificate (${reason})`,
    };
  }
  return { cert, key };
}

/** isTlsProblem tells a TlsProblem from the value it stands in for. */
export function isTlsProblem(value: unknown): value is TlsProblem {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value;
}
