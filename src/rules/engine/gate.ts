import type { Item } from '../../domain/item.js';
import { type CompiledSchedule, formatLocal } from '../schedule.js';
import { activeSilence, describeSilence } from '../silence.js';
import type { CompiledRule } from '../types.js';
import { type Call, iso } from './call.js';

/*
 * The gate: why an alert at an instant may not go out now — outside its schedule (`during`/`outside`),
 * silenced, or in its key's cooldown. Plain and threshold rules pass every alert through it; absence
 * rules ask only the silences (their schedule decides what is quiet, and a spell alerts once anyway).
 * Cooldowns are measured on the items' own time, both ways, so the order of arrival opens no gap.
 */

/** Blocked says why an alert could not go out at a point (schedule, silence, cooldown). */
export interface Blocked {
  outcome: 'outside-schedule' | 'silenced' | 'cooldown';
  /** The reason in words, built only when an explanation asks for it. */
  reason: () => string;
}

/**
 * cooldownUntil returns when the cooldown that blocks an alert at `at` ends, or undefined when the alert
 * may go out. Distance is measured both ways: an item older than the last alert (a late one) is inside
 * the cooldown as long as it is within the duration of it, so the order of arrival does not open a gap.
 */
export function cooldownUntil(
  lastAlertAt: number | null,
  at: number,
  cooldownMs: number | undefined,
): number | undefined {
  if (cooldownMs === undefined || lastAlertAt === null) return undefined;
  return Math.abs(at - lastAlertAt) < cooldownMs ? lastAlertAt + cooldownMs : undefined;
}

/**
 * gate says why an alert at `at` may not go out: schedule, silence, then cooldown. The reasons are built
 * by the helpers below: a closure here would make V8 allocate a context on every call, blocked or not.
 */
export function gate(
  call: Call,
  rule: CompiledRule,
  key: string,
  item: Item | undefined,
  at: number,
  lastAlertAt: number | null,
): Blocked | undefined {
  if (rule.during && !rule.during.contains(at)) return outsideSchedule(rule.during, at, 'is outside');
  if (rule.outside?.contains(at)) return outsideSchedule(rule.outside, at, 'is inside', ' (outside:)');
  if (call.ruleSet.silences.length > 0) {
    const silenced = silencedBy(call, rule, key, item, at);
    if (silenced) return silenced;
  }
  const until = cooldownUntil(lastAlertAt, at, rule.cooldownMs);
  if (until !== undefined && lastAlertAt !== null) return inCooldown(rule, key, lastAlertAt, until);
  return undefined;
}

function outsideSchedule(schedule: CompiledSchedule, at: number, verb: string, note = ''): Blocked {
  return {
    outcome: 'outside-schedule',
    reason: () => `${formatLocal(at, schedule.timezone)} ${verb} ${schedule.describe()}${note}`,
  };
}

function silencedBy(
  call: Call,
  rule: CompiledRule,
  key: string,
  item: Item | undefined,
  at: number,
): Blocked | undefined {
  const silence = activeSilence(call.ruleSet.silences, rule.name, at, () => ({
    ...(item ?? {}),
    user: item?.user ?? key,
    person: item?.person ?? call.ruleSet.people.get(item?.user ?? key),
    rule: rule.name,
    key,
    severity: rule.severity,
  }));
  return silence && { outcome: 'silenced', reason: () => describeSilence(silence) };
}

function inCooldown(rule: CompiledRule, key: string, lastAlertAt: number, until: number): Blocked {
  return {
    outcome: 'cooldown',
    reason: () =>
      `cooldown ${rule.config.cooldown}: last alert for ${key} at ${iso(lastAlertAt)}, next from ${iso(until)}`,
  };
}
