import { deferredDestination } from '../deferred.js';
import { CHAT_RETRY } from '../delivery-config.js';
import { defineDestinationKind } from '../kind.js';
import { emailConfigSchema, emailOptionsFromConfig } from './config.js';
import { renderEmail } from './render.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

/** emailKind: SMTP through a pooled nodemailer transport, text and HTML alternatives. */
export const emailKind = defineDestinationKind({
  type: 'email',
  schema: emailConfigSchema,
  options: emailOptionsFromConfig,
  create: (name, options, deps) =>
    deferredDestination({ name, type: 'email', threads: true }, async () =>
      (await import('./email.js')).createEmailDestination(name, options, deps),
    ),
  preview(config, alert) {
    const email = renderEmail(alert, config.subjectPrefix);
    return `Subject: ${email.subject}\n\n${email.text}`;
  },
  // SMTP 4xx is often greylisting, which wants minutes, not seconds, between tries.
  retry: { ...CHAT_RETRY, maxAttempts: 30, initialDelayMs: 30 * SECOND, maxDelayMs: 30 * MINUTE },
  // A few messages per second stays under typical SMTP relay limits (SES 14/s, Gmail bursts).
  pacing: { perSecond: 5, burst: 5, concurrency: 1 },
});
