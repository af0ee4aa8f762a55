import type { Alert } from '../domain/alert.js';
import type { Person } from '../domain/item.js';
import { neutraliseBidi } from './escape.js';

/**
 * forDisplay is the alert as every destination shows it: the texts a person reads (title, text, rule,
 * key, user, event, the person's and manager's directory fields, digest keys) with bidirectional controls
 * removed (neutraliseBidi). Each destination's renderer starts from it, so this is the one place that
 * decides; escaping for the medium and cutting to its limits come after. The triggering item is data,
 * not text to show, and is left as it came (serializeAlert escapes its controls).
 */
export function forDisplay(alert: Alert): Alert {
  const shown: Alert = {
    ...alert,
    rule: neutraliseBidi(alert.rule),
    title: neutraliseBidi(alert.title),
    text: neutraliseBidi(alert.text),
    key: neutraliseBidi(alert.key),
  };
  if (alert.user !== undefined) shown.user = neutraliseBidi(alert.user);
  if (alert.event !== undefined) shown.event = neutraliseBidi(alert.event);
  if (alert.person !== undefined) shown.person = personForDisplay(alert.person);
  if (alert.manager !== undefined) shown.manager = personForDisplay(alert.manager);
  if (alert.digest !== undefined)
    shown.digest = { ...alert.digest, keys: alert.digest.keys.map(neutraliseBidi) };
  return shown;
}

function personForDisplay(person: Person): Person {
  const shown: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(person)) {
    shown[field] = typeof value === 'string' ? neutraliseBidi(value) : value;
  }
  return shown as Person;
}
