import { Liquid } from 'liquidjs';
import { hostOf, isBlockedAddress } from '../lib/safe-fetch.js';
import { ITEM_COMMON_FIELDS, KNOWN_EVENT_FIELDS, missingField } from '../rules/fields.js';
import { compileEventPattern, type EventPattern, globToRegExp } from '../rules/match.js';
import { suggest } from './issues.js';
import type { RawConfig } from './schema.js';
import type { IssueDraft } from './zod-issues.js';

/*
 * Warnings about rules that are valid but very likely not what was meant (issue 9 §3): a rule `on:` an
 * event type no source produces, and a template variable that no item has. They never refuse a file:
 * another source may produce a type hookrelay does not know, and a template may read `raw.*`.
 */

/** TRACKPILOTS_TYPES are the event types a `type: trackpilots` source produces. */
const TRACKPILOTS_TYPES = [...KNOWN_EVENT_FIELDS.keys()];

/** The names a template can read at its top level: the item's fields and what the alert adds. */
const TEMPLATE_ROOTS = [
  // The normalised item (DESIGN.md "The normalised item").
  ...ITEM_COMMON_FIELDS,
  'person',
  'app',
  'time',
  'screenshot',
  'activity',
  'operatingSystem',
  'workType',
  'trackingMode',
  'raw',
  // Added for every alert (rules/alert.ts), and by absence rules.
  'rule',
  'key',
  'name',
  'status',
  'severity',
  'value',
  'threshold',
  'alert',
  'for',
  'quietSince',
];

/** Item objects whose fields are known per event type; the rest (raw, person, activity) are open. */
const CLOSED_OBJECTS = new Set(['app', 'time', 'screenshot']);

// Only for static analysis (which variables a template reads): filters need not exist here.
const analyser = new Liquid({ strictFilters: false, templates: {} });

function onTypes(on: string | readonly string[]): string[] {
  return typeof on === 'string' ? [on] : [...on];
}

/** typeWarning says why no source produces `type`, or undefined when one may. */
function typeWarning(type: string, onlyTrackpilots: boolean): IssueDraft['hint'] | null {
  if (type === '*') return null;
  if (type.includes('*')) {
    const regexp = globToRegExp(type);
    if (!onlyTrackpilots || TRACKPILOTS_TYPES.some((known) => regexp.test(known))) return null;
    return `it matches none of ${TRACKPILOTS_TYPES.join(', ')}`;
  }
  if (TRACKPILOTS_TYPES.includes(type)) return null;
  const close = suggest(type, TRACKPILOTS_TYPES);
  // With a generic source any type may come in; only a near miss of a Trackpilots type is flagged there.
  if (!onlyTrackpilots && close === undefined) return null;
  return close === undefined
    ? `Trackpilots sends ${TRACKPILOTS_TYPES.join(', ')}`
    : `did you mean "${close}"?`;
}

function templatePaths(source: string): string[][] | undefined {
  try {
    return analyser
      .globalVariableSegmentsSync(source)
      .map((segments) => segments.filter((s): s is string => typeof s === 'string'));
  } catch {
    // A template that does not parse is reported by the compiler, with its position.
    return undefined;
  }
}

function templateWarnings(
  source: string,
  on: EventPattern | undefined,
  at: Array<string | number>,
): IssueDraft[] {
  const drafts: IssueDraft[] = [];
  const seen = new Set<string>();
  for (const segments of templatePaths(source) ?? []) {
    const [root] = segments;
    if (root === undefined) continue;
    const path = segments.slice(0, 2).join('.');
    if (seen.has(path)) continue;
    seen.add(path);
    if (!TEMPLATE_ROOTS.includes(root)) {
      const close = suggest(root, TEMPLATE_ROOTS);
      drafts.push({
        code: 'HR_ERR_CONFIG_UNKNOWN_FIELD',
        path: at,
        anchor: 'value',
        message: `the template reads "${segments.join('.')}", which no item or alert has (it renders empty)`,
        hint:
          close === undefined
            ? `items have ${TEMPLATE_ROOTS.slice(0, 19).join(', ')}`
            : `did you mean "${close}"?`,
      });
      continue;
    }
    if (on !== undefined && CLOSED_OBJECTS.has(root) && segments.length > 1) {
      const lacking = missingField(on, path);
      if (lacking === undefined) continue;
      const fields = [
        ...new Set(lacking.flatMap((type) => [...(KNOWN_EVENT_FIELDS.get(type)?.fields ?? [])])),
      ];
      const close = suggest(
        path,
        fields.filter((field) => field.startsWith(`${root}.`)),
      );
      const draft: IssueDraft = {
        code: 'HR_ERR_CONFIG_UNKNOWN_FIELD',
        path: at,
        anchor: 'value',
        message: `the template reads "${path}", which ${lacking.join(' and ')} items never have (it renders empty)`,
      };
      if (close !== undefined) draft.hint = `did you mean "${close}"?`;
      drafts.push(draft);
    }
  }
  return drafts;
}

/** lintRules returns the warnings about rules that are valid but very likely wrong. */
export function lintRules(raw: RawConfig): IssueDraft[] {
  const warnings: IssueDraft[] = [];
  const sources = Object.values(raw.sources);
  const onlyTrackpilots = sources.length > 0 && sources.every((source) => source.type === 'trackpilots');
  raw.rules.forEach((rule, i) => {
    const ons: Array<{ on: string | readonly string[]; path: Array<string | number> }> = [];
    if (rule.on !== undefined) ons.push({ on: rule.on, path: ['rules', i, 'on'] });
    if (rule.absent !== undefined) ons.push({ on: rule.absent.on, path: ['rules', i, 'absent', 'on'] });
    for (const { on, path } of ons) {
      onTypes(on).forEach((type, j) => {
        const hint = typeWarning(type, onlyTrackpilots);
        if (hint === null) return;
        const draft: IssueDraft = {
          code: 'HR_ERR_CONFIG_UNKNOWN_EVENT_TYPE',
          path: typeof on === 'string' ? path : [...path, j],
          anchor: 'value',
          message: `no source produces events of type "${type}", so this rule never sees one`,
        };
        if (hint !== undefined) draft.hint = hint;
        warnings.push(draft);
      });
    }
    const watched = rule.on ?? rule.absent?.on;
    const pattern = watched === undefined ? undefined : compileEventPattern(watched);
    for (const part of ['title', 'text'] as const) {
      const source = rule.message?.[part];
      if (source !== undefined)
        warnings.push(...templateWarnings(source, pattern, ['rules', i, 'message', part]));
    }
  });
  return warnings;
}

/** The destination options that hold a URL hookrelay connects to. */
const URL_FIELDS = ['url', 'webhookUrl', 'apiUrl', 'smtp'] as const;

/** isPrivateHost says whether a URL's host is a literal private/loopback/link-local address or localhost. */
function isPrivateHost(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  const host = hostOf(url).toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || isBlockedAddress(host);
}

/**
 * lintDestinations warns about a destination URL that points at a private address without
 * `allowPrivateNetworks`: every delivery would be refused (issue 15 §9). Only literal addresses and
 * localhost are known here (names are resolved at delivery). The URL is never quoted: it may carry a token.
 */
export function lintDestinations(raw: RawConfig): IssueDraft[] {
  const warnings: IssueDraft[] = [];
  for (const [name, destination] of Object.entries(raw.destinations)) {
    const options = destination as Record<string, unknown>;
    if (options.allowPrivateNetworks === true) continue;
    for (const field of URL_FIELDS) {
      const value = options[field];
      if (typeof value !== 'string' || !isPrivateHost(value)) continue;
      warnings.push({
        code: 'HR_ERR_CONFIG_PRIVATE_ADDRESS',
        path: ['destinations', name, field],
        anchor: 'value',
        message: `this URL points at a loopback, private or link-local address, so every delivery to "${name}" will be refused`,
        hint: 'use a public address, or set allowPrivateNetworks: true on the destination if it is meant',
      });
    }
  }
  return warnings;
}
