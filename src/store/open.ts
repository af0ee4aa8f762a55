import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from '../lib/log.js';
import { StoreErrorCode, storeError } from './errors.js';
import type { Store } from './ports.js';
import { pgSettingsFromEnv } from './postgres/pool.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';

/** DEFAULT_DATABASE_URL is used when `HOOKRELAY_DB` is unset: a SQLite file under the working directory. */
export const DEFAULT_DATABASE_URL = 'sqlite:./data/hookrelay.db';

const ACCEPTED_FORMS =
  'sqlite:./data/hookrelay.db (relative to the working directory), sqlite:/abs/path.db, sqlite:///abs/path.db, ' +
  'sqlite::memory:, a bare file path, or postgres://user:pass@host:5432/db (postgresql:// too)';

/** DatabaseTarget is a parsed database URL. */
export type DatabaseTarget =
  | { engine: 'sqlite' /** absolute file path, or `:memory:` */; path: string }
  | { engine: 'postgres'; url: string };

/** OpenStoreOptions configure `openStore`. */
export interface OpenStoreOptions {
  logger?: Logger;
  /** Base for relative SQLite paths; the process's working directory by default. */
  cwd?: string;
  /**
   * Refuse (`HR_ERR_STORE_NOT_FOUND`) instead of creating a database file that does not exist: for the
   * CLI's commands that look at what `serve` stored, where a new empty file would only hide a wrong path.
   */
  mustExist?: boolean;
  /**
   * false: the caller never waits for what other instances commit (the CLI's one-shot commands), so the
   * PostgreSQL engine opens no LISTEN connection and polls nothing. Default true; SQLite ignores it.
   */
  wakeups?: boolean;
  /** Where the PostgreSQL engine reads HOOKRELAY_DB_POOL, …_STATEMENT_TIMEOUT_MS and …_LISTEN; process.env by default. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * parseDatabaseUrl turns a `HOOKRELAY_DB` value into an engine and its target. It never opens anything,
 * and its errors (`HR_ERR_STORE_URL_INVALID`) never repeat a URL that has a scheme other than `sqlite:`,
 * since such a URL may carry a password.
 */
export function parseDatabaseUrl(url: string, cwd: string = process.cwd()): DatabaseTarget {
  const value = url.trim();
  if (value === '') {
    throw storeError(
      StoreErrorCode.urlInvalid,
      `the database URL is empty; accepted forms: ${ACCEPTED_FORMS}`,
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive (C:\data\hookrelay.db): a bare path.
  if (scheme === undefined || scheme.length === 1) return { engine: 'sqlite', path: sqlitePath(value, cwd) };
  if (scheme === 'postgres' || scheme === 'postgresql') return { engine: 'postgres', url: value };
  if (scheme !== 'sqlite') {
    throw storeError(
      StoreErrorCode.urlInvalid,
      `unsupported database URL scheme "${scheme}:"; accepted forms: ${ACCEPTED_FORMS}`,
    );
  }
  let rest = value.slice('sqlite:'.length);
  if (rest.startsWith('//')) {
    // sqlite:///abs/path.db is the usual absolute form; sqlite://x would name a host, which SQLite has not.
    if (!rest.startsWith('///')) {
      throw storeError(
        StoreErrorCode.urlInvalid,
        // Not echoed: a sqlite://user:password@host/… URL would carry a password.
        `a sqlite:// URL must not name a host; accepted forms: ${ACCEPTED_FORMS}`,
      );
    }
    rest = rest.slice(2);
  }
  if (rest.trim() === '') {
    throw storeError(
      StoreErrorCode.urlInvalid,
      `"${value}" has no file path; accepted forms: ${ACCEPTED_FORMS}`,
    );
  }
  return { engine: 'sqlite', path: sqlitePath(rest, cwd) };
}

function sqlitePath(path: string, cwd: string): string {
  if (path === ':memory:') return path;
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/**
 * openStore opens the store a database URL names (see parseDatabaseUrl), migrating it when needed. It
 * never falls back to another engine or location: a URL it cannot honour is an error.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const target = parseDatabaseUrl(url, options.cwd);
  if (target.engine === 'postgres') {
    // mustExist needs nothing more here: an unreachable database or one never migrated fails to open or is
    // migrated in place (an empty schema is what `serve` would create anyway).
    return openPostgresStore(target.url, {
      settings: pgSettingsFromEnv(options.env ?? process.env),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.wakeups === undefined ? {} : { wakeups: options.wakeups }),
    });
  }
  if (options.mustExist && target.path !== ':memory:' && !existsSync(target.path)) {
    throw storeError(
      StoreErrorCode.notFound,
      `no database at ${target.path} (HOOKRELAY_DB; \`hookrelay serve\` creates it when it first starts)`,
    );
  }
  return openSqliteStore(target.path, options.logger ? { logger: options.logger } : {});
}

/** defaultDatabaseUrl returns `HOOKRELAY_DB` when set and non-blank, else DEFAULT_DATABASE_URL. It never reads a file. */
export function defaultDatabaseUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const fromEnv = env['HOOKRELAY_DB']?.trim();
  return fromEnv ? fromEnv : DEFAULT_DATABASE_URL;
}
