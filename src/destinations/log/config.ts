import { z } from 'zod';
import { deliveryConfigShape } from '../delivery-config.js';
import type { LogOptions } from '../types.js';

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
