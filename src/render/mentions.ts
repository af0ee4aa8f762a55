/**
 * Who an alert mentions: the `mention:` roles of a Slack or Discord destination, looked up on the alert's
 * directory entries (`person`, `manager`), never in the payload. An id that does not look like the
 * medium's id (a typo, or text such as `<!channel>` in a CSV) is not used: that person is named instead.
 */
import { z } from 'zod';
import type { Alert } from '../domain/alert.js';
import type { Person } from '../domain/item.js';

/** MentionRole is whom a destination mentions, relative to the alert. */
export const mentionRoleSchema = z.enum(['person', 'manager']);
export type MentionRole = z.infer<typeof mentionRoleSchema>;

/** mentionConfigSchema is `mention: person` or `mention: [person, manager]`, as a list. */
export const mentionConfigSchema = z
  .union([mentionRoleSchema.transform((role) => [role]), z.array(mentionRoleSchema).min(1)])
  .describe("Mention the alert's person and/or their manager, by their id in people: (slack / discord).");

/** Mention is one person to mention: `id` when the directory has a usable one, else only the name. */
export interface Mention {
  name: string;
  id?: string;
}

/** Slack member ids: U… or W… (Enterprise Grid), upper-case letters and digits. */
export const SLACK_MEMBER_ID = /^[UW][A-Z0-9]{2,20}$/;
/** Discord user ids are snowflakes: 17 to 20 digits. */
export const DISCORD_USER_ID = /^\d{17,20}$/;

/**
 * mentionsOf lists the people `roles` name for this alert, each once, in the order given. `field` is the
 * directory field holding the medium's id; `pattern` is what such an id looks like.
 */
export function mentionsOf(
  alert: Alert,
  roles: readonly MentionRole[] | undefined,
  field: 'slack' | 'discord',
  pattern: RegExp,
): Mention[] {
  const out: Mention[] = [];
  const seen = new Set<string>();
  for (const role of roles ?? []) {
    const person: Person | undefined = role === 'manager' ? alert.manager : alert.person;
    if (person === undefined || seen.has(person.id)) continue;
    seen.add(person.id);
    const raw = person[field];
    const id = typeof raw === 'string' && pattern.test(raw) ? raw : undefined;
    out.push({ name: person.name ?? person.id, ...(id === undefined ? {} : { id }) });
  }
  return out;
}
