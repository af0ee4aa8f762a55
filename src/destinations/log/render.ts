import type { Alert } from '../../domain/alert.js';
import { forDisplay } from '../../render/display.js';
import { singleLine } from '../../render/escape.js';
import { alertFacts } from '../../render/facts.js';

/** formatPretty renders an alert as one human-readable line: time, severity, title, text and the facts. */
export function formatPretty(written: Alert): string {
  const alert = forDisplay(written);
  const facts = alertFacts(alert)
    .filter((fact) => fact.label !== 'Severity' && fact.label !== 'At')
    .map((fact) => `${fact.label.toLowerCase()}=${singleLine(fact.value)}`)
    .join(' ');
  const text = alert.text ? ` — ${singleLine(alert.text)}` : '';
  return `${new Date(alert.at).toISOString()} [${alert.severity}] ${singleLine(alert.title)}${text} (${facts})`;
}
