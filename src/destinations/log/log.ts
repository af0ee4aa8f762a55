import type { Alert } from '../../domain/alert.js';
import { singleLine } from '../../render/escape.js';
import { alertFacts, fail, serializeAlert } from '../shared.js';
import type { Destination, DestinationDeps, LogOptions, SendResult } from '../types.js';

/** formatPretty renders an alert as one human-readable line: time, severity, title, text and the facts. */
export function formatPretty(alert: Alert): string {
  const facts = alertFacts(alert)
    .filter((fact) => fact.label !== 'Severity' && fact.label !== 'At')
    .map((fact) => `${fact.label.toLowerCase()}=${singleLine(fact.value)}`)
    .join(' ');
  const text = alert.text ? ` — ${singleLine(alert.text)}` : '';
  return `${new Date(alert.at).toISOString()} [${alert.severity}] ${singleLine(alert.title)}${text} (${facts})`;
}

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
      try {
        write(options.format === 'pretty' ? formatPretty(alert) : serializeAlert(alert));
        return { ok: true };
      } catch (thrown) {
        return fail('retry', 'network', `log: ${thrown instanceof Error ? thrown.message : 'write failed'}`);
      }
    },
    close: async () => undefined,
  };
}
