/** LOG_LEVELS are the values LOG_LEVEL takes (pino's levels), most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** LogLevel is one of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * parseLogLevel reads LOG_LEVEL: unset or empty is `info`, case does not matter; anything else is
 * undefined, so the caller can list the valid levels instead of letting the logger throw.
 */
export function parseLogLevel(text: string | undefined): LogLevel | undefined {
  if (text === undefined || text.trim() === '') return 'info';
  const level = text.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : undefined;
}
