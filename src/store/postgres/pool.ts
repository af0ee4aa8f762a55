import pg from 'pg';
import { z } from 'zod';
import { StoreErrorCode, storeError } from '../errors.js';

/** PgSettings are the engine's knobs; `pgSettingsFromEnv` reads them from the environment. */
export interface PgSettings {
  /** Most connections the pool opens (HOOKRELAY_DB_POOL, default 10). */
  poolSize: number;
  /** statement_timeout of every connection, ms (HOOKRELAY_DB_STATEMENT_TIMEOUT_MS, default 10000). */
  statementTimeoutMs: number;
  /** Whether wake-ups use LISTEN/NOTIFY (HOOKRELAY_DB_LISTEN, default on); off: polling only (PgBouncer). */
  listen: boolean;
}

export const DEFAULT_PG_SETTINGS: PgSettings = { poolSize: 10, statementTimeoutMs: 10_000, listen: true };

const envSchema = z.object({
  HOOKRELAY_DB_POOL: z.coerce.number().int().min(1).max(1000).optional(),
  HOOKRELAY_DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).optional(),
  HOOKRELAY_DB_LISTEN: z.enum(['on', 'off']).optional(),
});

/** pgSettingsFromEnv reads the engine's settings; a malformed value is `HR_ERR_STORE_URL_INVALID`. */
export function pgSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): PgSettings {
  const blankless = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => {
      const value = env[key]?.trim();
      return value ? [[key, value]] : [];
    }),
  );
  const parsed = envSchema.safeParse(blankless);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw storeError(
      StoreErrorCode.urlInvalid,
      `${String(issue?.path[0] ?? 'a database setting')} is invalid: ${issue?.message ?? 'bad value'} ` +
        '(HOOKRELAY_DB_POOL: a positive integer; HOOKRELAY_DB_STATEMENT_TIMEOUT_MS: ms; HOOKRELAY_DB_LISTEN: on or off)',
    );
  }
  return {
    poolSize: parsed.data.HOOKRELAY_DB_POOL ?? DEFAULT_PG_SETTINGS.poolSize,
    statementTimeoutMs:
      parsed.data.HOOKRELAY_DB_STATEMENT_TIMEOUT_MS ?? DEFAULT_PG_SETTINGS.statementTimeoutMs,
    listen: (parsed.data.HOOKRELAY_DB_LISTEN ?? 'on') === 'on',
  };
}

const INT8_OID = 20;

/**
 * Every int8 (bigint) column holds an epoch ms, a seq or a count, all safe integers: read them as numbers.
 * Set per pool, never on pg's global type registry (another pg user in the process keeps its parsing).
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  },
} as unknown as pg.CustomTypesConfig;

/** ConnectionOptions name where the engine connects; `schema` (tests) sets the search_path. */
export interface ConnectionOptions {
  url: string;
  schema?: string;
  statementTimeoutMs: number;
  /** application_name of every connection (pg_stat_activity); `hookrelay` by default. */
  applicationName?: string;
}

/**
 * clientConfig is the node-postgres configuration for `url`: the URL as given (so `?sslmode=…` and the
 * other libpq parameters are honoured by pg's parser), the statement timeout, and the schema when set.
 */
export function clientConfig(options: ConnectionOptions): pg.ClientConfig {
  const config: pg.ClientConfig = {
    connectionString: options.url,
    statement_timeout: options.statementTimeoutMs,
    application_name: options.applicationName ?? 'hookrelay',
    types,
    // A database that does not answer must fail a request quickly (503), not hang it.
    connectionTimeoutMillis: 5_000,
  };
  if (options.schema !== undefined) config.options = `-c search_path=${quoteIdent(options.schema)}`;
  return config;
}

/** createPool opens no connection yet; the pool connects on demand and reconnects after a failure. */
export function createPool(options: ConnectionOptions & { size: number }): pg.Pool {
  return new pg.Pool({ ...clientConfig(options), max: options.size, idleTimeoutMillis: 30_000 });
}

/** quoteIdent quotes an SQL identifier (a schema name). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** PG_CODES are the SQLSTATEs the engine tells apart. */
export const PG_CODES = {
  uniqueViolation: '23505',
  lockNotAvailable: '55P03',
} as const;

/** sqlState returns the SQLSTATE of a driver error, if any. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * isDataError tells an error the database raised because of one input's rows (class 22 data exception,
 * class 23 integrity violation) from a failure of the connection or the server.
 */
export function isDataError(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}
