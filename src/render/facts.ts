/**
 * The facts every rendering shows under an alert's title and text (Slack context block, Discord embed
 * fields, the email table, the `pretty` log line), raw: each destination escapes them for its medium.
 */
import type { Alert } from '../domain/alert.js';

/** Fact is one labelled value shown under an alert (context block, embed field, email table, log line). */
export interface Fact {
  label: string;
  value: string;
}

/** who names the person an alert is about: the directory name, else the user id, else the rule's key. */
export function who(alert: Alert): string {
  return alert.person?.name ?? alert.user ?? alert.key;
}

/** describeThreshold renders `value` against the rule's threshold, e.g. `1830 (sum gte 1800 over 1h)`. */
export function describeThreshold(alert: Alert): string | undefined {
  if (alert.value === undefined) return undefined;
  const t = alert.threshold;
  return t ? `${alert.value} (${t.aggregate} ${t.op} ${t.value} over ${t.window})` : String(alert.value);
}

/**
 * alertFacts lists what every rendering shows under the title and text, raw (unescaped). The order is
 * stable: severity, rule, user, event, value, when, simulation, digest.
 */
export function alertFacts(alert: Alert): Fact[] {
  const facts: Fact[] = [
    { label: 'Severity', value: alert.severity },
    { label: 'Rule', value: alert.rule },
    { label: 'User', value: who(alert) },
  ];
  if (alert.event !== undefined) facts.push({ label: 'Event', value: alert.event });
  const value = describeThreshold(alert);
  if (value !== undefined) facts.push({ label: 'Value', value });
  facts.push({ label: 'At', value: new Date(alert.at).toISOString() });
  if (alert.status === 'resolved') facts.push({ label: 'Status', value: 'resolved' });
  if (alert.simulation) facts.push({ label: 'Simulation', value: 'yes' });
  if (alert.digest) facts.push({ label: 'Digest', value: `${alert.digest.count} alerts` });
  return facts;
}
