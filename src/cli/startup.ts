import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { Config } from '../config/load.js';
import type { Logger } from '../lib/log.js';
import { parseDatabaseUrl } from '../store/open.js';
import { DEFAULT_DEV_SECRET } from './send.js';

/** isLoopback says whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** devSecretSources names the sources that accept the built-in development secret (rules.example.yaml's default). */
export function devSecretSources(config: Config): string[] {
  return Object.entries(config.sources)
    .filter(([, source]) => source.secrets.includes(DEFAULT_DEV_SECRET))
    .map(([name]) => name);
}

/**
 * logStartup says, once at start, which rules file and which database `serve` uses (the database as a
 * path: a URL with a password is never logged), and warns when a source accepts the built-in
 * development secret while listening beyond loopback: anyone who reads rules.example.yaml can then
 * sign events for it.
 */
export function logStartup(
  logger: Logger,
  options: { config: Config; rulesFile: string; databaseUrl: string; cwd: string; host: string },
): void {
  const target = parseDatabaseUrl(options.databaseUrl, options.cwd);
  const database = target.engine === 'sqlite' ? `sqlite:${target.path}` : 'postgres (URL not shown)';
  logger.info(
    { rulesFile: resolve(options.cwd, options.rulesFile), database },
    'serving with this rules file and database',
  );
  const insecure = devSecretSources(options.config);
  if (insecure.length > 0 && !isLoopback(options.host)) {
    logger.warn(
      { sources: insecure, host: options.host },
      `INSECURE: source(s) ${insecure.join(', ')} accept the built-in development secret "${DEFAULT_DEV_SECRET}" on ${options.host}, which is not loopback: anyone can sign webhooks for them. Set TRACKPILOTS_WEBHOOK_SECRET (or the source's own secret), or HOST=127.0.0.1 for local use`,
    );
  }
}
