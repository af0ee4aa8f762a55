import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/**
 * Paths that may hold a secret. Secrets come only from the environment and never reach a log line, but
 * a header or config object logged whole could still carry one, so these are censored as well.
 */
const REDACT_PATHS = [
  'headers["x-webhook-signature"]',
  'headers["webhook-signature"]',
  'headers.authorization',
  'req.headers["x-webhook-signature"]',
  'req.headers["webhook-signature"]',
  'req.headers.authorization',
  '*.secret',
  '*.secrets',
  '*.token',
  '*.password',
  '*.webhookUrl',
];

/** createLogger returns the process logger: JSON lines on stdout (or `destination`), secrets censored. */
export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const options = { level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '<secret>' } };
  return destination ? pino(options, destination) : pino(options);
}
