import { z } from 'zod';
import { durationMs } from '../duration.js';
import type { EmailOptions } from '../types.js';

/** DEFAULT_EMAIL_TIMEOUT bounds one send, waiting for a pooled connection included. */
export const DEFAULT_EMAIL_TIMEOUT = '30s';

/**
 * One address as written in config (`ada@example.com` or `Ada <ada@example.com>`). A comma would make
 * nodemailer's address parser see several recipients, so lists are YAML lists, never comma strings.
 */
const address = z
  .string()
  .min(3)
  .refine(
    (text) => !/[,;\r\n]/.test(text) && /@/.test(text),
    'one e-mail address (use a YAML list for several)',
  );

/** emailConfigSchema is a `type: email` destination as written in the rules file. */
export const emailConfigSchema = z.strictObject({
  type: z.literal('email'),
  smtp: z
    .string()
    .refine((text) => /^smtps?:\/\//i.test(text) && URL.canParse(text), 'an smtp:// or smtps:// URL'),
  from: address,
  to: z.array(address).min(1),
  cc: z.array(address).optional(),
  subjectPrefix: z.string().optional(),
  timeout: durationMs.prefault(DEFAULT_EMAIL_TIMEOUT),
});

/** EmailConfig is a parsed `type: email` entry (defaults applied, durations in ms). */
export type EmailConfig = z.output<typeof emailConfigSchema>;

/** emailOptionsFromConfig maps the parsed config to the adapter's options. */
export function emailOptionsFromConfig(config: EmailConfig): EmailOptions {
  return {
    smtpUrl: config.smtp,
    from: config.from,
    to: config.to,
    ...(config.cc ? { cc: config.cc } : {}),
    ...(config.subjectPrefix !== undefined ? { subjectPrefix: config.subjectPrefix } : {}),
    timeoutMs: config.timeout,
  };
}
