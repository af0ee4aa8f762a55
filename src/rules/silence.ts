import { compileCondition } from './match.js';
import type { CompiledSchedule } from './schedule.js';
import type { Condition, SilenceConfig } from './schema.js';
import type { CompiledSilence, CompileProblem } from './types.js';

/*
 * Silences mute matching alerts while active (between `starts` and `ends`, and inside `during` when
 * given), as Alertmanager's do. A muted alert is not sent and the explanation names the silence. The
 * matchers see the item's fields plus `rule`, `key` and `severity`.
 */

/**
 * compileSilences checks and compiles `silences:`; problems have paths from the file root. Names of rules
 * and schedules are references, which the config loader checks (config/cross-refs.ts): a silence whose
 * schedule does not exist is left out and its path noted in `unresolved`, without a message of its own.
 */
export function compileSilences(
  silences: readonly SilenceConfig[],
  schedules: ReadonlyMap<string, CompiledSchedule>,
  problems: CompileProblem[],
  unresolved: string[],
): CompiledSilence[] {
  const compiled: CompiledSilence[] = [];
  silences.forEach((config, index) => {
    const at = (path: Array<string | number>, message: string, severity: 'error' | 'warning' = 'error') =>
      problems.push({ severity, path: ['silences', index, ...path], message });
    const silence: CompiledSilence = { index, name: config.name ?? `silences[${index}]` };
    if (config.comment !== undefined) silence.comment = config.comment;
    if (config.matchers !== undefined) {
      silence.matchers = compileCondition(config.matchers as Condition, (path, message) =>
        at(['matchers', ...path], message),
      );
    }
    // A rule name that is no rule mutes nothing; the loader says it is undefined.
    if (config.rules !== undefined) silence.rules = new Set(config.rules);
    for (const field of ['starts', 'ends'] as const) {
      const text = config[field];
      if (text === undefined) continue;
      const ms = Date.parse(text);
      if (Number.isNaN(ms)) at([field], `"${text}" is not a time such as 2026-03-02T14:00:00Z`);
      else if (field === 'starts') silence.startsMs = ms;
      else silence.endsMs = ms;
    }
    if (
      silence.startsMs !== undefined &&
      silence.endsMs !== undefined &&
      silence.endsMs <= silence.startsMs
    ) {
      at(['ends'], 'ends must be after starts');
    }
    if (config.during !== undefined) {
      const schedule = schedules.get(config.during);
      if (schedule === undefined) {
        // Without its schedule it would mute all day: leave it out.
        unresolved.push(`silences[${index}].during`);
        return;
      }
      silence.schedule = schedule;
    }
    if (config.matchers === undefined && config.rules === undefined) {
      at([], 'this silence has no matchers and no rules, so it mutes every alert while active', 'warning');
    }
    compiled.push(silence);
  });
  return compiled;
}

/** SilenceSubject is what silence matchers see: the item's fields plus the alert's rule, key and severity. */
export type SilenceSubject = Record<string, unknown>;

/** activeSilence returns the first silence that mutes this alert at `at`, or undefined. */
export function activeSilence(
  silences: readonly CompiledSilence[],
  rule: string,
  at: number,
  subject: () => SilenceSubject,
): CompiledSilence | undefined {
  let built: SilenceSubject | undefined;
  for (const silence of silences) {
    if (silence.startsMs !== undefined && at < silence.startsMs) continue;
    if (silence.endsMs !== undefined && at >= silence.endsMs) continue;
    if (silence.rules !== undefined && !silence.rules.has(rule)) continue;
    if (silence.schedule !== undefined && !silence.schedule.contains(at)) continue;
    if (silence.matchers !== undefined) {
      built ??= subject();
      if (!silence.matchers.test(built)) continue;
    }
    return silence;
  }
  return undefined;
}

/** describeSilence renders a silence for explanations. */
export function describeSilence(silence: CompiledSilence): string {
  const until = silence.endsMs !== undefined ? ` until ${new Date(silence.endsMs).toISOString()}` : '';
  const comment = silence.comment !== undefined ? ` (${silence.comment})` : '';
  return `silenced by "${silence.name}"${until}${comment}`;
}
