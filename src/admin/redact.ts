import type { RawDestination } from '../config/schema.js';

/*
 * Secrets reach the relay only through `${VAR}` references in the rules file, so the values of the
 * variables the file names are what must never be shown. Everything the dashboard prints from the
 * configuration goes through `redact`, and destinations are summarised from an allow-list of fields
 * that never hold a credential (a Slack channel id, an email address, a URL's host).
 */

export const REDACTED = '<secret>';
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g;
/** Values this short would redact half the page (`1`, `on`) and protect nothing. */
const MIN_SECRET_CHARS = 4;

/** secretValuesOf returns the values of every environment variable the rules file text references. */
export function secretValuesOf(
  fileText: string,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const values = new Set<string>();
  for (const match of fileText.matchAll(REFERENCE)) {
    const value = env[match[1] as string];
    if (value !== undefined && value.length >= MIN_SECRET_CHARS) values.add(value);
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...values].sort((a, b) => b.length - a.length);
}

/** redactText replaces every occurrence of a secret value in `text`. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/** redact returns a deep copy of a JSON-like value with every secret value replaced in its strings. */
export function redact<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return redactText(node, secrets);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object' && !(node instanceof Uint8Array)) {
      return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)]));
    }
    return node;
  };
  return walk(value) as T;
}

function hostOnly(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** DestinationSummary is what the dashboard shows of a destination's settings: never a credential. */
export type DestinationSummary = Array<{ label: string; value: string }>;

/** summarizeDestination lists the harmless settings of a destination (then redacted all the same). */
export function summarizeDestination(
  destination: RawDestination,
  secrets: readonly string[],
): DestinationSummary {
  const facts: DestinationSummary = [];
  const add = (label: string, value: string | undefined) => {
    if (value !== undefined && value !== '') facts.push({ label, value: redactText(value, secrets) });
  };
  const settings = destination as Record<string, unknown>;
  const text = (key: string) => (typeof settings[key] === 'string' ? (settings[key] as string) : undefined);
  switch (destination.type) {
    case 'slack':
      add('channel', text('channel'));
      add(
        'via',
        text('webhookUrl') === undefined
          ? 'bot token'
          : `incoming webhook on ${hostOnly(text('webhookUrl'))}`,
      );
      break;
    case 'discord':
      add('webhook host', hostOnly(text('webhookUrl')));
      break;
    case 'email': {
      add('from', text('from'));
      const to = settings['to'];
      add('to', Array.isArray(to) ? to.filter((x) => typeof x === 'string').join(', ') : text('to'));
      add('smtp host', hostOnly(text('smtp')));
      break;
    }
    case 'webhook':
      add('host', hostOnly(text('url')));
      add('body', text('body'));
      break;
    case 'log':
      add('format', text('format'));
      break;
  }
  return facts;
}
