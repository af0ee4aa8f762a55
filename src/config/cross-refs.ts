import type { Person } from '../domain/item.js';
import { didYouMean, type PathKey } from './issues.js';
import type { RawConfig } from './schema.js';
import type { IssueDraft } from './zod-issues.js';

/*
 * Checks that run once the schema has passed: every name used somewhere is defined, rule names are
 * unique, and definitions nobody uses are flagged as warnings (usually a typo on the other side).
 */

/** ReferenceCheck holds the errors and warnings found by checkReferences. */
export interface ReferenceCheck {
  errors: IssueDraft[];
  warnings: IssueDraft[];
}

/** ShowValue quotes a value for a message, or names the variables it came from (env values are secrets). */
export type ShowValue = (path: PathKey[], value: string) => { text: string; secret: boolean };

/** ReferenceContext is how checkReferences talks about positions and values. */
export interface ReferenceContext {
  /** Renders a path's position as `file:line:col`, for "first defined at" hints. */
  locate: (path: PathKey[]) => string;
  show: ShowValue;
}

/**
 * checkReferences cross-checks a schema-valid rules file. `people` is the expanded list (people files
 * read).
 */
export function checkReferences(
  raw: RawConfig,
  people: readonly Person[],
  ctx: ReferenceContext,
): ReferenceCheck {
  const reference = (
    path: PathKey[],
    name: string,
    defined: readonly string[],
    noun: string,
    hintWhenNone?: string,
  ): IssueDraft => {
    const shown = ctx.show(path, name);
    const draft: IssueDraft = {
      code: 'HR_ERR_CONFIG_UNDEFINED_REFERENCE',
      path,
      anchor: 'value',
      message: `undefined ${noun} ${shown.text}`,
    };
    // A did-you-mean would hint at a secret's value, so secrets get none.
    const hint = shown.secret
      ? undefined
      : defined.length === 0 && hintWhenNone !== undefined
        ? hintWhenNone
        : didYouMean(name, defined, noun);
    if (hint !== undefined) draft.hint = hint;
    return draft;
  };

  const errors: IssueDraft[] = [];
  const warnings: IssueDraft[] = [];
  const destinations = Object.keys(raw.destinations);
  const schedules = Object.keys(raw.schedules);
  const ruleNames = [...new Set(raw.rules.map((rule) => rule.name))];
  const userNames = [...new Set(people.flatMap((p) => (p.name === undefined ? [p.id] : [p.id, p.name])))];
  const teams = [...new Set(people.flatMap((p) => (p.team === undefined ? [] : [p.team])))];
  const usedDestinations = new Set<string>();
  const usedSchedules = new Set<string>();
  const firstRuleIndex = new Map<string, number>();

  const checkSchedule = (path: PathKey[], name: string | undefined) => {
    if (name === undefined) return;
    usedSchedules.add(name);
    if (!schedules.includes(name)) errors.push(reference(path, name, schedules, 'schedule'));
  };

  raw.rules.forEach((rule, i) => {
    const first = firstRuleIndex.get(rule.name);
    if (first === undefined) firstRuleIndex.set(rule.name, i);
    else {
      errors.push({
        code: 'HR_ERR_CONFIG_DUPLICATE',
        path: ['rules', i, 'name'],
        anchor: 'value',
        message: `duplicate rule name ${ctx.show(['rules', i, 'name'], rule.name).text}`,
        hint: `first defined at ${ctx.locate(['rules', first, 'name'])}`,
      });
    }
    rule.to.forEach((name, j) => {
      usedDestinations.add(name);
      if (!destinations.includes(name))
        errors.push(reference(['rules', i, 'to', j], name, destinations, 'destination'));
    });
    checkSchedule(['rules', i, 'during'], rule.during);
    checkSchedule(['rules', i, 'outside'], rule.outside);
    checkSchedule(['rules', i, 'digest', 'schedule'], rule.digest?.schedule);
    rule.users?.forEach((name, j) => {
      if (!userNames.includes(name)) {
        errors.push(reference(['rules', i, 'users', j], name, userNames, 'person', 'add them to people:'));
      }
    });
    rule.teams?.forEach((name, j) => {
      if (!teams.includes(name)) {
        errors.push(
          reference(['rules', i, 'teams', j], name, teams, 'team', 'no person in people: has a team'),
        );
      }
    });
  });

  raw.silences.forEach((silence, i) => {
    checkSchedule(['silences', i, 'during'], silence.during);
    silence.rules?.forEach((name, j) => {
      if (!ruleNames.includes(name))
        errors.push(reference(['silences', i, 'rules', j], name, ruleNames, 'rule'));
    });
  });

  raw.tests.forEach((test, i) => {
    test.expect.forEach((expectation, j) => {
      if (!ruleNames.includes(expectation.rule)) {
        errors.push(reference(['tests', i, 'expect', j, 'rule'], expectation.rule, ruleNames, 'rule'));
      }
      if (expectation.to !== undefined && !destinations.includes(expectation.to)) {
        errors.push(reference(['tests', i, 'expect', j, 'to'], expectation.to, destinations, 'destination'));
      }
    });
  });

  for (const name of destinations) {
    if (usedDestinations.has(name)) continue;
    warnings.push({
      code: 'HR_ERR_CONFIG_UNUSED',
      path: ['destinations', name],
      anchor: 'key',
      message: `destination "${name}" is not used by any rule`,
      hint: "add it to a rule's to: list, or remove it",
    });
  }
  for (const name of schedules) {
    if (usedSchedules.has(name)) continue;
    warnings.push({
      code: 'HR_ERR_CONFIG_UNUSED',
      path: ['schedules', name],
      anchor: 'key',
      message: `schedule "${name}" is not used by any rule or silence`,
    });
  }
  return { errors, warnings };
}
