import { serializeAlert } from '../../render/alert-json.js';
import { fail, render } from '../shared.js';
import type { Destination, DestinationDeps, SendResult } from '../types.js';
import type { LogOptions } from './config.js';
import { formatPretty } from './render.js';

/**
 * createLogDestination writes one line per alert: the Alert as JSON (`format: json`, what the example config
 * uses so a newcomer sees alerts with no account anywhere) or a one-line summary (`format: pretty`).
 * Lines go to `write`, stdout by default. It never fails except when the writer throws.
 */
export function createLogDestination(name: string, options: LogOptions, _deps: DestinationDeps): Destination {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  return {
    name,
    type: 'log',
    send: async (notification): Promise<SendResult> => {
      const alert = notification.alert;
      const line = render('log', () =>
        options.format === 'pretty' ? formatPretty(alert) : serializeAlert(alert),
      );
      if (!line.ok) return line.failure;
      try {
        write(line.value);
        return { ok: true };
      } catch (thrown) {
        return fail('retry', 'network', `log: ${thrown instanceof Error ? thrown.message : 'write failed'}`);
      }
    },
    close: async () => undefined,
  };
}
