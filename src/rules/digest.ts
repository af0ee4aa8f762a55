import type { Alert } from '../domain/alert.js';
import type { DigestEntry, DigestState } from './state.js';

/*
 * Digests fold the alerts of one rule into one message per interval ("Ada Lovelace and 37 others…"),
 * so a bad hour is one message. A bucket opens with its first alert (at the clock time the triggering
 * item was received, or the tick's time) and `tick(now)` flushes it `every` later, to all of the rule's
 * destinations. The state keeps only what the message shows, bounded, however many alerts arrive.
 */

/** DIGEST_MAX_ENTRIES bounds the alerts kept for the message text (the count goes on). */
export const DIGEST_MAX_ENTRIES = 50;
/** DIGEST_MAX_KEYS bounds the distinct keys kept (names in the title, keys in the alert). */
export const DIGEST_MAX_KEYS = 1000;
/** DIGEST_LINES is how many alert titles the digest text lists before "… and N more". */
export const DIGEST_LINES = 20;

/** foldIntoDigest adds an alert to a rule's bucket, opening one at `openedAt` when there is none. */
export function foldIntoDigest(
  state: DigestState | undefined,
  alert: Alert,
  openedAt: number,
  name: string,
): DigestState {
  const bucket: DigestState = state ?? {
    t: 'digest',
    openedAt,
    count: 0,
    simulated: 0,
    entries: [],
    keys: [],
    names: [],
  };
  bucket.count++;
  if (alert.simulation) bucket.simulated++;
  if (bucket.entries.length < DIGEST_MAX_ENTRIES) {
    const entry: DigestEntry = {
      id: alert.id,
      key: alert.key,
      name,
      title: alert.title,
      status: alert.status,
      simulation: alert.simulation,
    };
    bucket.entries.push(entry);
  }
  if (bucket.keys.length < DIGEST_MAX_KEYS && !bucket.keys.includes(alert.key)) {
    bucket.keys.push(alert.key);
    bucket.names.push(name);
  }
  return bucket;
}

/** digestTitle names the people: `Ada Lovelace`, `Ada Lovelace and Alan Turing`, `Ada Lovelace and 37 others`. */
export function digestTitle(state: DigestState): string {
  const [first = '', second] = state.names;
  const others = state.keys.length - 1;
  if (others <= 0) return first;
  if (others === 1 && second !== undefined) return `${first} and ${second}`;
  return `${first} and ${others} others`;
}

/** digestText lists the folded alerts, newest last, at most DIGEST_LINES of them. */
export function digestText(state: DigestState, every: string): string {
  const lines = state.entries.slice(0, DIGEST_LINES).map((entry) => `• ${entry.title}`);
  const more = state.count - Math.min(state.entries.length, DIGEST_LINES);
  if (more > 0) lines.push(`… and ${more} more`);
  const head = `${state.count} alert${state.count === 1 ? '' : 's'} in the last ${every}`;
  const simulated =
    state.simulated > 0 && state.simulated < state.count ? ` (${state.simulated} from simulations)` : '';
  return `${head}${simulated}:\n${lines.join('\n')}`;
}
