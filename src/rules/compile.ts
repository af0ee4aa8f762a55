import type { Person } from '../domain/item.js';
import { parseDurationMs } from '../lib/duration.js';
import { compileTemplate } from '../render/template.js';
import { buildCandidateIndex } from './candidates.js';
import { directoryKeys } from './engine/absence.js';
import { compileDigest } from './engine/digest.js';
import { missingField } from './fields.js';
import { hashParts, stableStringify } from './hash.js';
import {
  type CompiledCondition,
  compileCondition,
  compileEventPattern,
  type EventPattern,
  MATCH_ALL,
} from './match.js';
import { compilePath } from './path.js';
import { type CompiledSchedule, compileSchedule, type ScheduleInput } from './schedule.js';
import type { RuleConfig, SilenceConfig } from './schema.js';
import { compileSilences } from './silence.js';
import type {
  Comparison,
  CompiledAbsence,
  CompiledRule,
  CompiledRuleSet,
  CompiledThreshold,
  CompileProblem,
} from './types.js';
import type { Aggregate } from './window.js';

/*
 * compileRules turns the rules of one config load into an indexed, ready-to-run rule set: durations in
 * ms, regexes and templates compiled, people names resolved to ids, schedules and silences compiled,
 * and an index from event type (then user/team) to the rules that may care (candidates.ts), so an item
 * costs only the rules that watch it. Everything wrong comes back as positioned problems; nothing
 * throws. References (schedules, people, rule names) are checked once, by the config loader
 * (config/cross-refs.ts), which compiles even a file with a wrong one so that one run lists every
 * problem: here a name that resolves to nothing only leaves its rule out (CompiledRuleSet.unresolved).
 */

/** CompileInput is what compileRules needs from a loaded config. */
export interface CompileInput {
  rules: readonly RuleConfig[];
  people?: readonly Person[];
  schedules?: Readonly<Record<string, ScheduleInput>>;
  silences?: readonly SilenceConfig[];
}

// Bumped when the meaning of stored state changes, so old state is dropped rather than misread.
const STATE_VERSION = 'hookrelay-rule-state/1';
const AGGREGATES: readonly Aggregate[] = ['count', 'sum', 'avg', 'min', 'max', 'ratio'];
const COMPARISONS: readonly Comparison[] = ['gt', 'gte', 'lt', 'lte'];

interface Directory {
  people: Map<string, Person>;
  byName: Map<string, string[]>;
}

function directoryOf(people: readonly Person[]): Directory {
  const map = new Map<string, Person>();
  const byName = new Map<string, string[]>();
  for (const person of people) {
    map.set(person.id, person);
    if (person.name !== undefined) {
      const name = person.name.trim().toLowerCase();
      byName.set(name, [...(byName.get(name) ?? []), person.id]);
    }
  }
  return { people: map, byName };
}

type Problem = (path: Array<string | number>, message: string, severity?: 'error' | 'warning') => void;

function durationMs(text: string, path: Array<string | number>, problem: Problem): number | undefined {
  const ms = parseDurationMs(text);
  if (ms === undefined) problem(path, `"${text}" is not a duration such as 30s, 5m, 2h or 1d`);
  else if (ms <= 0) problem(path, 'the duration must be longer than 0');
  else return ms;
  return undefined;
}

function compileThreshold(
  config: NonNullable<RuleConfig['threshold']>,
  on: EventPattern,
  rule: RuleConfig,
  problem: Problem,
): CompiledThreshold | undefined {
  const given = AGGREGATES.filter((name) => config[name] !== undefined);
  const ops = COMPARISONS.filter((op) => config[op] !== undefined);
  if (given.length !== 1) {
    problem(
      ['threshold'],
      given.length === 0
        ? 'a threshold needs one aggregate: count, sum, avg, min, max or ratio'
        : `a threshold takes one aggregate, got ${given.join(' and ')}`,
    );
    return undefined;
  }
  const aggregate = given[0] as Aggregate;
  let op: Comparison;
  let bound: number;
  if (aggregate === 'count' && typeof config.count === 'number') {
    if (ops.length > 0) {
      problem(
        ['threshold', ops[0] as string],
        `count: ${config.count} already means "at least ${config.count}"; to compare the count, write count: true with ${ops[0]}`,
      );
      return undefined;
    }
    op = 'gte';
    bound = config.count;
  } else {
    if (ops.length !== 1) {
      problem(
        ['threshold'],
        ops.length === 0
          ? `${aggregate} needs one comparison: gt, gte, lt or lte (e.g. gte: 1800)`
          : `a threshold takes one comparison, got ${ops.join(' and ')}`,
      );
      return undefined;
    }
    op = ops[0] as Comparison;
    bound = config[op] as number;
  }
  const windowMs = durationMs(config.window, ['threshold', 'window'], problem);
  const latenessMs = config.lateness === undefined ? windowMs : parseDurationMs(config.lateness);
  if (config.lateness !== undefined && latenessMs === undefined) {
    problem(['threshold', 'lateness'], `"${config.lateness}" is not a duration such as 5m`);
  }
  const repeatMs =
    config.repeat === undefined ? undefined : durationMs(config.repeat, ['threshold', 'repeat'], problem);
  if (windowMs === undefined || latenessMs === undefined) return undefined;
  if (config.repeat !== undefined && repeatMs === undefined) return undefined;
  const fieldText = aggregate === 'count' ? undefined : (config[aggregate] as string);
  if (fieldText !== undefined) {
    const lacking = missingField(on, fieldText);
    if (lacking) {
      problem(
        ['threshold', aggregate],
        `${lacking.join(' and ')} items never have ${fieldText}, so this threshold never sees a value`,
        'warning',
      );
    }
  }
  const per = config.per ?? 'user';
  if (!['user', 'team', 'org'].includes(per)) {
    const lacking = missingField(on, per);
    if (lacking) problem(['threshold', 'per'], `${lacking.join(' and ')} items never have ${per}`, 'warning');
  }
  const needsData = op === 'lt' || op === 'lte';
  if (config.minCount !== undefined && !needsData) {
    problem(
      ['threshold', 'minCount'],
      'minCount only applies to lt/lte thresholds ("low activity")',
      'warning',
    );
  }
  const monotoneUp =
    ((aggregate === 'count' || aggregate === 'sum' || aggregate === 'max') &&
      (op === 'gt' || op === 'gte')) ||
    (aggregate === 'min' && needsData);
  // Unset fields are written as undefined so every threshold has one hidden class (as for rules).
  return {
    per: compilePath(per),
    windowMs,
    latenessMs,
    aggregate,
    field: fieldText === undefined ? undefined : compilePath(fieldText),
    op,
    bound,
    minCount: config.minCount,
    repeatMs,
    resolve: config.resolve ?? rule.resolve ?? false,
    eager: monotoneUp,
    needsData,
    label: fieldText === undefined ? 'count' : `${aggregate}(${fieldText})`,
    windowText: config.window,
  };
}

function compileTemplateAt(source: string | undefined, path: Array<string | number>, problem: Problem) {
  if (source === undefined) return undefined;
  const result = compileTemplate(source);
  if ('error' in result) {
    problem(path, `template: ${result.error}`);
    return undefined;
  }
  return result.template;
}

/** pathText renders a path as the config loader does: `rules[2].users[0]`. */
function pathText(path: ReadonlyArray<string | number>): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

function resolveUsers(
  names: readonly string[],
  directory: Directory,
  problem: Problem,
  unresolved: (path: Array<string | number>) => void,
): Set<string> {
  const ids = new Set<string>();
  names.forEach((entry, i) => {
    if (directory.people.has(entry)) {
      ids.add(entry);
      return;
    }
    const byName = directory.byName.get(entry.trim().toLowerCase());
    if (byName !== undefined && byName.length === 1) {
      ids.add(byName[0] as string);
      return;
    }
    if (byName !== undefined && byName.length > 1) {
      problem(['users', i], `"${entry}" names ${byName.length} people (${byName.join(', ')}); use the id`);
      return;
    }
    // Without a directory, ids cannot be checked: take them as written.
    if (directory.people.size === 0) ids.add(entry);
    else unresolved(['users', i]);
  });
  return ids;
}

function compileRule(
  config: RuleConfig,
  index: number,
  directory: Directory,
  schedules: ReadonlyMap<string, CompiledSchedule>,
  problems: CompileProblem[],
  unresolvedPaths: string[],
): CompiledRule | undefined {
  let failed = false;
  const problem: Problem = (path, message, severity = 'error') => {
    if (severity === 'error') failed = true;
    problems.push({ severity, ruleIndex: index, path: ['rules', index, ...path], message });
  };
  // A name that resolves to nothing: the loader words it (config/cross-refs.ts); the rule is left out.
  const unresolved = (path: Array<string | number>) => {
    failed = true;
    unresolvedPaths.push(pathText(['rules', index, ...path]));
  };
  const absent = config.absent;
  const kind = absent ? 'absence' : config.threshold ? 'threshold' : 'match';
  if (absent && config.on !== undefined) problem(['on'], 'an absence rule watches absent.on; remove on');
  if (absent && config.threshold)
    problem(['threshold'], 'a rule is either a threshold or an absence rule, not both');
  if (absent && config.cooldown !== undefined) {
    problem(['cooldown'], 'an absence rule alerts once per quiet spell already; remove cooldown');
  }
  if (config.threshold && config.per !== undefined)
    problem(['per'], 'for a threshold rule, write per inside threshold');
  const onConfig = absent ? absent.on : config.on;
  if (onConfig === undefined) {
    problem(
      [],
      'missing on: the event type(s) the rule watches, such as desktop.app_tracking.captured or "*"',
    );
    return undefined;
  }
  const on = compileEventPattern(onConfig);

  const conditions: CompiledCondition[] = [];
  if (config.if !== undefined) {
    conditions.push(compileCondition(config.if, (path, message) => problem(['if', ...path], message)));
  }
  if (absent?.if !== undefined) {
    conditions.push(
      compileCondition(absent.if, (path, message) => problem(['absent', 'if', ...path], message)),
    );
  }
  const condition: CompiledCondition =
    conditions.length === 0
      ? MATCH_ALL
      : conditions.length === 1
        ? (conditions[0] as CompiledCondition)
        : {
            paths: conditions.flatMap((c) => c.paths),
            test: (subject) => conditions.every((c) => c.test(subject)),
            explain: (subject) => conditions.map((c) => c.explain(subject)).find((r) => r !== undefined),
            describe: () => conditions.map((c) => c.describe()).join(' and '),
          };
  for (const path of new Set(condition.paths)) {
    const lacking = missingField(on, path);
    if (lacking)
      problem([absent?.if ? 'absent' : 'if'], `${lacking.join(' and ')} items never have ${path}`, 'warning');
  }

  const users = config.users ? resolveUsers(config.users, directory, problem, unresolved) : undefined;
  const teams = config.teams ? new Set(config.teams) : undefined;

  const threshold = config.threshold ? compileThreshold(config.threshold, on, config, problem) : undefined;
  let absence: CompiledAbsence | undefined;
  if (absent) {
    const forMs = durationMs(absent.for, ['absent', 'for'], problem);
    if (forMs !== undefined) {
      const per = absent.per ?? 'user';
      const watch = absent.watch ?? 'seen';
      absence = {
        per: compilePath(per),
        forMs,
        forText: absent.for,
        watch,
        directoryKeys: watch === 'people' ? directoryKeys(per, directory.people.values(), users, teams) : [],
      };
    }
  }
  const cooldownMs =
    config.cooldown === undefined ? undefined : durationMs(config.cooldown, ['cooldown'], problem);
  const scheduleAt = (name: string | undefined, field: 'during' | 'outside') => {
    if (name === undefined) return undefined;
    const schedule = schedules.get(name);
    if (!schedule) unresolved([field]);
    return schedule;
  };
  const during = scheduleAt(config.during, 'during');
  const outside = scheduleAt(config.outside, 'outside');
  const digest = config.digest
    ? compileDigest(
        config.digest,
        during?.timezone ?? outside?.timezone,
        (name) => schedules.get(name),
        problem,
        unresolved,
      )
    : undefined;

  const title = compileTemplateAt(config.message?.title, ['message', 'title'], problem);
  const text = compileTemplateAt(config.message?.text, ['message', 'text'], problem);

  if (failed) return undefined;

  // Only what decides state goes into the fingerprint (see CompiledRule.fingerprint).
  const fingerprint = hashParts(
    STATE_VERSION,
    stableStringify({
      name: config.name,
      kind,
      on: onConfig,
      if: config.if,
      users: users ? [...users].sort() : undefined,
      teams: teams ? [...teams].sort() : undefined,
      threshold: config.threshold,
      absent: config.absent,
      cooldown: config.cooldown,
      per: config.per,
      resolve: config.resolve,
      simulation: config.simulation,
      digest: config.digest,
    }),
  );

  // Every field is written, unset ones as undefined, so all rules share one hidden class: the engine's
  // per-item loop then reads rules through monomorphic inline caches instead of megamorphic lookups
  // (measured: several % of evaluation time at 100 rules).
  return {
    index,
    name: config.name,
    fingerprint,
    kind,
    config,
    on,
    condition,
    hasCondition: conditions.length > 0,
    users,
    teams,
    simulation: config.simulation ?? 'include',
    threshold,
    absence,
    per: compilePath(config.per ?? 'user'),
    cooldownMs,
    resolve: absent ? (config.resolve ?? true) : (config.resolve ?? false),
    during,
    outside,
    timezone: during?.timezone ?? outside?.timezone ?? digest?.timezone ?? 'UTC',
    digest,
    severity: config.severity ?? 'warning',
    attachScreenshot: config.attach === 'screenshot',
    to: config.to,
    title,
    text,
  };
}

/**
 * compileRules compiles the rules of one config load. Rules with errors are left out of the set (and
 * `ok` is false), so a caller can never run half a rule; the config loader rejects the file and keeps
 * the previous rule set running.
 */
export function compileRules(input: CompileInput): CompiledRuleSet {
  const problems: CompileProblem[] = [];
  const schedules = new Map<string, CompiledSchedule>();
  for (const [name, config] of Object.entries(input.schedules ?? {})) {
    const result = compileSchedule(name, config);
    for (const problem of result.problems) {
      problems.push({
        severity: 'error',
        path: ['schedules', name, ...problem.path],
        message: problem.message,
      });
    }
    if (result.schedule) schedules.set(name, result.schedule);
  }
  const directory = directoryOf(input.people ?? []);

  const rules: CompiledRule[] = [];
  const byName = new Map<string, CompiledRule>();
  const names = new Set<string>();
  const unresolved: string[] = [];
  input.rules.forEach((config, index) => {
    // Alerts and state are per name: a second rule of a name is left out (the loader says it is a
    // duplicate, with where the first is).
    if (names.has(config.name)) {
      unresolved.push(pathText(['rules', index, 'name']));
      return;
    }
    names.add(config.name);
    const rule = compileRule(config, index, directory, schedules, problems, unresolved);
    if (rule) {
      rules.push(rule);
      byName.set(rule.name, rule);
    }
  });
  const silences = compileSilences(input.silences ?? [], schedules, problems, unresolved);

  return {
    rules,
    byName,
    people: directory.people,
    silences,
    problems,
    unresolved,
    ok: unresolved.length === 0 && !problems.some((problem) => problem.severity === 'error'),
    fingerprints: new Set(rules.map((rule) => rule.fingerprint)),
    conditionsReadPerson: [
      ...rules.map((rule) => rule.condition),
      ...silences.flatMap((s) => s.matchers ?? []),
    ].some((condition) => condition.paths.some((path) => path === 'person' || path.startsWith('person.'))),
    absenceRules: rules.filter((rule) => rule.kind === 'absence'),
    digestRules: rules.filter((rule) => rule.digest !== undefined),
    thresholdRules: rules.filter((rule) => rule.kind === 'threshold'),
    keyedRules: rules.filter(
      (rule) =>
        rule.kind === 'threshold' ||
        (rule.kind === 'match' && (rule.cooldownMs !== undefined || rule.resolve)),
    ),
    candidates: buildCandidateIndex(rules),
  };
}
