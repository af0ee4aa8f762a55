import { z } from 'zod';
import { deliveryConfigShape } from '../delivery-config.js';

/** LogOptions: one line per alert. */
export interface LogOptions {
  /** `json`: the Alert as one JSON line; `pretty`: one human-readable line. */
  format: 'json' | 'pretty';
  /** Where lines go (without the trailing newline); defaults to stdout. */
  write?: (line: string) => void;
}

/** logConfigSchema is a `type: log` destination as written in the rules file. */
export const logConfigSchema = z.strictObject({
  type: z.literal('log'),
  format: z.enum(['json', 'pretty']).default('json').describe('How alerts are written to stdout.'),
  ...deliveryConfigShape,
});

/** LogConfig is a parsed `type: log` entry (defaults applied, durations in ms). */
export type LogConfig = z.output<typeof logConfigSchema>;

/** logOptionsFromConfig maps the parsed config to the adapter's options (stdout as the writer). */
export function logOptionsFromConfig(config: LogConfig): LogOptions {
  return { format: config.format };
}
