import { z } from 'zod';
import { deliveryConfigShape } from '../delivery-config.js';
import { durationMs } from '../duration.js';

/** EmailOptions: SMTP delivery through a pooled nodemailer transport. */
export interface EmailOptions {
  /** `smtp://user:pass@host:587` or `smtps://…:465`; query options as nodemailer accepts them. */
  smtpUrl: string;
  from: string;
  to: string[];
  cc?: string[];
  /**
   * Also send to the alert's person and/or their manager, with the email addresses of the `people:`
   * directory (never addresses from a payload). Someone without an email is skipped.
   */
  toPeople?: Array<'person' | 'manager'>;
  /** Put before `[severity] title` in the subject, e.g. `[hookrelay]`. */
  subjectPrefix?: string;
  /** Upper bound for one send, queueing in the pool included. */
  timeoutMs: number;
  /** Connect to a private, loopback or link-local SMTP server (a local relay); refused by default. */
  allowPrivateNetworks?: boolean;
}

/** DEFAULT_EMAIL_TIMEOUT bounds one send, waiting for a pooled connection included. */
export const DEFAULT_EMAIL_TIMEOUT = '30s';

// One address per list item: nodemailer splits on commas, so "a@x, b@y" would silently become two.
const EMAIL_WORDS = 'one email address such as lead@example.com or "Lead <lead@example.com>"';
const address = z
  .string({ error: EMAIL_WORDS })
  .regex(/^(?:[^<>,;@\r\n]*<[^\s@<>,;]+@[^\s@<>,;]+>|[^\s@<>,;]+@[^\s@<>,;]+)$/, EMAIL_WORDS);

/** emailConfigSchema is a `type: email` destination as written in the rules file. */
export const emailConfigSchema = z.strictObject({
  type: z.literal('email'),
  smtp: z
    .url({ protocol: /^smtps?$/, error: 'an SMTP URL such as smtps://user:pass@smtp.example.com:465' })
    .describe(`SMTP server URL with credentials. Use "\${SMTP_URL}".`),
  from: address.describe('Sender, e.g. "hookrelay <alerts@example.com>".'),
  to: z.array(address).min(1, 'at least one address'),
  cc: z.array(address).optional(),
  toPeople: z
    .array(z.enum(['person', 'manager']))
    .min(1)
    .optional()
    .describe("Also email the alert's person and/or their manager (addresses from people:)."),
  subjectPrefix: z.string().optional().describe('Text put before every subject, e.g. "[hookrelay]".'),
  timeout: durationMs
    .prefault(DEFAULT_EMAIL_TIMEOUT)
    .describe('Per-attempt timeout, waiting for a pooled connection included.'),
  allowPrivateNetworks: z
    .boolean()
    .default(false)
    .describe('Allow an SMTP server on a private, loopback or link-local address (a local relay).'),
  ...deliveryConfigShape,
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
    ...(config.toPeople ? { toPeople: config.toPeople } : {}),
    ...(config.subjectPrefix !== undefined ? { subjectPrefix: config.subjectPrefix } : {}),
    timeoutMs: config.timeout,
    allowPrivateNetworks: config.allowPrivateNetworks,
  };
}
