import type { Alert } from '../domain/alert.js';
import type { Item, Person } from '../domain/item.js';
import { formatDuration } from '../lib/duration.js';
import { OP_SYMBOL } from './match.js';
import type { CompiledRule, CompiledThreshold } from './types.js';

/*
 * Turning a decision into an Alert: a deterministic id, the rendered title and text (the rule's Liquid
 * templates, or a readable default), and the structured fields destinations use. Simulation alerts say
 * so in the title, whatever the template, so nobody mistakes a test for a real event.
 */

/** SIMULATION_PREFIX starts the title of every alert triggered by a simulation. */
export const SIMULATION_PREFIX = '[simulation] ';
/** RESOLVED_PREFIX starts the title of every resolved alert, so plain-text destinations show it too. */
export const RESOLVED_PREFIX = '[resolved] ';

/**
 * AlertDraft is what the engine knows when it decides to alert. The engine writes every field but
 * `digest`, unset ones as undefined, so all drafts share one hidden class and buildAlert's reads stay
 * monomorphic.
 */
export interface AlertDraft {
  rule: CompiledRule;
  id: string;
  status: 'firing' | 'resolved';
  key: string;
  /** The triggering item's own time, or the clock for absence and digests. */
  at: number;
  item?: Item;
  person?: Person;
  user?: string;
  value?: number;
  simulation: boolean;
  /** Title and text when the rule has no message (or its template fails). */
  defaultTitle: string;
  defaultText: string;
  /** Extra template variables (absence: `for`; digests: `count`, `names`). */
  vars?: Record<string, unknown>;
  digest?: { count: number; keys: string[] };
}

/** displayName is how alerts name a key: the person's name when the key is a known user, else the key. */
export function displayName(key: string, person: Person | undefined): string {
  return person?.name ?? key;
}

const isSeconds = (path: string) => /seconds$/i.test(path) || /duration$/i.test(path);

/** formatThresholdValue renders an aggregate for people: `31m 40s` for second fields, `62%` for ratios. */
export function formatThresholdValue(threshold: CompiledThreshold, value: number | undefined): string {
  if (value === undefined) return 'no data';
  if (threshold.aggregate === 'ratio') return `${Math.round(value * 1000) / 10}%`;
  if (threshold.aggregate !== 'count' && threshold.field && isSeconds(threshold.field.text)) {
    return formatDuration(value * 1000);
  }
  return String(Math.round(value * 100) / 100);
}

/** describeThreshold renders the comparison: `≥ 30m 00s`, `< 5`. */
export function describeThreshold(threshold: CompiledThreshold): string {
  return `${OP_SYMBOL[threshold.op]} ${formatThresholdValue(threshold, threshold.bound)}`;
}

/** thresholdSentence is the default text of a threshold alert. */
export function thresholdSentence(threshold: CompiledThreshold, value: number | undefined): string {
  if (threshold.aggregate === 'count') {
    const n = value ?? 0;
    return `${n} matching item${n === 1 ? '' : 's'} in ${threshold.windowText} (alert when ${describeThreshold(threshold)})`;
  }
  return `${threshold.label} over ${threshold.windowText} is ${formatThresholdValue(threshold, value)} (alert when ${describeThreshold(threshold)})`;
}

/** buildAlert renders a draft into the Alert the outbox stores. It never throws. */
export function buildAlert(draft: AlertDraft): Alert {
  const { rule, item } = draft;
  const threshold = rule.threshold
    ? {
        op: rule.threshold.op,
        value: rule.threshold.bound,
        aggregate: rule.threshold.label,
        window: rule.threshold.windowText,
      }
    : undefined;
  const name = displayName(draft.key, draft.person);
  const needsScope = rule.title !== undefined || rule.text !== undefined;
  let title = draft.defaultTitle;
  let text = draft.defaultText;
  if (needsScope) {
    const scope: Record<string, unknown> = {
      ...(item ?? {}),
      person: draft.person,
      user: draft.user ?? item?.user,
      rule: rule.name,
      key: draft.key,
      name,
      status: draft.status,
      severity: rule.severity,
      value: draft.value,
      threshold,
      simulation: draft.simulation,
      at: draft.at,
      alert: { id: draft.id, status: draft.status },
      ...(draft.vars ?? {}),
    };
    if (rule.title) {
      const rendered = rule.title.render(scope);
      // A title is one line everywhere (subject, header block, embed title), so a line break from a
      // payload field becomes a space here rather than surprising a consumer of the alert JSON.
      if (rendered.error === undefined && rendered.text.trim() !== '')
        title = rendered.text.replace(/\s*[\r\n]+\s*/g, ' ');
    }
    if (rule.text) {
      const rendered = rule.text.render(scope);
      text =
        rendered.error === undefined
          ? rendered.text
          : `${draft.defaultText}\n(template error: ${rendered.error})`;
    }
  }
  if (draft.status === 'resolved') title = RESOLVED_PREFIX + title;
  if (draft.simulation) title = SIMULATION_PREFIX + title;

  const alert: Alert = {
    id: draft.id,
    rule: rule.name,
    status: draft.status,
    severity: rule.severity,
    title,
    text,
    key: draft.key,
    at: draft.at,
    simulation: draft.simulation,
  };
  const user = draft.user ?? item?.user;
  if (user !== undefined) alert.user = user;
  if (draft.person !== undefined) alert.person = draft.person;
  if (item !== undefined) {
    alert.event = item.event;
    alert.item = item;
  }
  if (draft.value !== undefined) alert.value = draft.value;
  if (threshold !== undefined) alert.threshold = threshold;
  if (draft.digest !== undefined) alert.digest = draft.digest;
  if (rule.attachScreenshot && item?.screenshot?.image?.kind === 'bytes') alert.attachScreenshot = true;
  return alert;
}
