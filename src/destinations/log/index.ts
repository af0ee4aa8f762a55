import { serializeAlert } from '../../render/alert-json.js';
import { deferredDestination } from '../deferred.js';
import { CHAT_RETRY, UNPACED } from '../delivery-config.js';
import { defineDestinationKind } from '../kind.js';
import { logConfigSchema, logOptionsFromConfig } from './config.js';
import { formatPretty } from './render.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** logKind: one line per alert on stdout (JSON or a readable line); what the example config uses. */
export const logKind = defineDestinationKind({
  type: 'log',
  schema: logConfigSchema,
  options: logOptionsFromConfig,
  create: (name, options, deps) =>
    deferredDestination({ name, type: 'log' }, async () =>
      (await import('./log.js')).createLogDestination(name, options, deps),
    ),
  preview: (config, alert) => (config.format === 'pretty' ? formatPretty(alert) : serializeAlert(alert)),
  // Writing a line to stdout only fails when stdout is gone; a few quick tries are enough.
  retry: { ...CHAT_RETRY, maxAttempts: 5, maxAgeMs: 1 * HOUR, maxDelayMs: 1 * MINUTE },
  pacing: UNPACED,
});
