import { compileLinearRegex, type LinearRegex } from '../lib/linear-regex.js';
import { compilePath, type FieldPath, numberOf, readPath, showValue } from './path.js';
import type { Condition, Operators, Scalar } from './schema.js';

/*
 * Matching: which event types a rule watches (`on`) and whether an item satisfies its `if`. A compiled
 * condition answers `test` (the hot path: a boolean, no strings built) and `explain` (the first condition
 * that failed, in words, for `hookrelay test --explain`).
 */

/** ProblemSink receives compile-time problems at a path relative to what is being compiled. */
export type ProblemSink = (path: ReadonlyArray<string | number>, message: string) => void;

/** EventPattern is a compiled `on`: exact event types, globs, or everything. */
export interface EventPattern {
  /** Exact event types (no glob characters). */
  readonly exact: readonly string[];
  /** Glob patterns as written (`desktop.*`). */
  readonly globs: readonly string[];
  /** True for `"*"`: every event type. */
  readonly any: boolean;
  test(event: string): boolean;
  /** describe renders the pattern for messages: `desktop.app_tracking.captured`, `desktop.* or x`. */
  describe(): string;
}

/** globToRegExp compiles an event-type glob: `*` matches any characters, dots included. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** compileEventPattern compiles `on`: a type, a glob (`*` matches any characters, dots too), or a list. */
export function compileEventPattern(on: string | readonly string[]): EventPattern {
  const list = typeof on === 'string' ? [on] : [...on];
  const any = list.includes('*');
  const exact = list.filter((entry) => !entry.includes('*'));
  const globs = list.filter((entry) => entry.includes('*') && entry !== '*');
  const exactSet = new Set(exact);
  const regexps = globs.map(globToRegExp);
  return {
    exact,
    globs,
    any,
    test: (event) => any || exactSet.has(event) || regexps.some((regexp) => regexp.test(event)),
    describe: () => list.join(' or '),
  };
}

/** CompiledCondition is a compiled `if` (or silence matchers). */
export interface CompiledCondition {
  /** test says whether the subject satisfies the condition. */
  test(subject: unknown): boolean;
  /** explain returns the first failing condition in words, or undefined when the subject satisfies it. */
  explain(subject: unknown): string | undefined;
  /** describe renders the condition itself, e.g. `app.name is "Steam"` (used under `not`). */
  describe(): string;
  /** Every field path the condition reads (for the field warnings at compile time). */
  readonly paths: readonly string[];
}

/** sameValue is equality as rules mean it: numbers and numeric strings compare by text, null matches missing. */
export function sameValue(actual: unknown, expected: Scalar): boolean {
  if (actual === expected) return true;
  if (expected === null) return actual === null || actual === undefined;
  if (typeof actual === 'number' && typeof expected === 'string') return String(actual) === expected;
  if (typeof actual === 'string' && typeof expected === 'number') return actual === String(expected);
  return false;
}

const show = (value: Scalar): string => showValue(value);

/**
 * parseRegex reads `pattern` or `/pattern/flags` for linear-time matching (RE2: see lib/linear-regex.ts).
 * It returns an error message instead of throwing, so a bad or unsupported regex becomes a positioned
 * config problem.
 */
export function parseRegex(text: string): LinearRegex | string {
  return compileLinearRegex(text);
}

// Regexes run on text from payloads; matching is linear in the text, and capping it bounds that too.
const MAX_REGEX_INPUT = 10_000;

interface Leaf {
  test(value: unknown): boolean;
  /** What was expected, in words: `"unproductive"`, `> 30`, `to match /^Steam/`. */
  expected: string;
  /** The condition as a predicate of the field: `is "Steam"`, `> 30`, `matches /^Steam/`. */
  phrase: string;
}

function leafFor(op: keyof Operators, operand: unknown, problem: ProblemSink): Leaf | undefined {
  switch (op) {
    case 'eq': {
      const expected = operand as Scalar;
      return {
        test: (v) => sameValue(v, expected),
        expected: show(expected),
        phrase: `is ${show(expected)}`,
      };
    }
    case 'ne': {
      const expected = operand as Scalar;
      return {
        test: (v) => !sameValue(v, expected),
        expected: `not ${show(expected)}`,
        phrase: `is not ${show(expected)}`,
      };
    }
    case 'in': {
      const list = operand as Scalar[];
      return {
        test: (v) => list.some((candidate) => sameValue(v, candidate)),
        expected: `one of ${list.map(show).join(', ')}`,
        phrase: `is one of ${list.map(show).join(', ')}`,
      };
    }
    case 'nin': {
      const list = operand as Scalar[];
      return {
        test: (v) => !list.some((candidate) => sameValue(v, candidate)),
        expected: `none of ${list.map(show).join(', ')}`,
        phrase: `is none of ${list.map(show).join(', ')}`,
      };
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = operand as number;
      const compare = COMPARE[op];
      return {
        test: (v) => {
          const n = numberOf(v);
          return n !== undefined && compare(n, bound);
        },
        expected: `${OP_SYMBOL[op]} ${bound}`,
        phrase: `${OP_SYMBOL[op]} ${bound}`,
      };
    }
    case 'between': {
      const [low, high] = operand as [number, number];
      if (low > high) problem([], `between [${low}, ${high}]: the first bound must not exceed the second`);
      return {
        test: (v) => {
          const n = numberOf(v);
          return n !== undefined && n >= low && n <= high;
        },
        expected: `between ${low} and ${high}`,
        phrase: `between ${low} and ${high}`,
      };
    }
    case 'regex': {
      const regexp = parseRegex(operand as string);
      if (typeof regexp === 'string') {
        problem([], regexp);
        return undefined;
      }
      return {
        test: (v) => {
          if (typeof v === 'string')
            return regexp.test(v.length > MAX_REGEX_INPUT ? v.slice(0, MAX_REGEX_INPUT) : v);
          if (typeof v === 'number' || typeof v === 'boolean') return regexp.test(String(v));
          return false;
        },
        expected: `to match ${regexp.source}`,
        phrase: `matches ${regexp.source}`,
      };
    }
    case 'exists': {
      const wanted = operand as boolean;
      return {
        test: (v) => (v !== undefined && v !== null) === wanted,
        expected: wanted ? 'to exist' : 'to be missing',
        phrase: wanted ? 'exists' : 'is missing',
      };
    }
    case 'contains': {
      const needle = operand as Scalar;
      return {
        test: (v) => {
          if (typeof v === 'string') return needle !== null && v.includes(String(needle));
          if (Array.isArray(v)) return v.some((element) => sameValue(element, needle));
          return false;
        },
        expected: `to contain ${show(needle)}`,
        phrase: `contains ${show(needle)}`,
      };
    }
    default:
      problem([], `unknown operator "${String(op)}"`);
      return undefined;
  }
}

/** COMPARE holds the four numeric comparisons by name. */
export const COMPARE = {
  gt: (a: number, b: number) => a > b,
  gte: (a: number, b: number) => a >= b,
  lt: (a: number, b: number) => a < b,
  lte: (a: number, b: number) => a <= b,
} as const;

/** OP_SYMBOL renders a comparison for people. */
export const OP_SYMBOL = { gt: '>', gte: '≥', lt: '<', lte: '≤' } as const;

function fieldCondition(pathText: string, spec: unknown, problem: ProblemSink): CompiledCondition {
  const path: FieldPath = compilePath(pathText);
  const leaves: Leaf[] = [];
  if (Array.isArray(spec)) {
    const leaf = leafFor('in', spec, problem);
    if (leaf) leaves.push(leaf);
  } else if (spec !== null && typeof spec === 'object') {
    const operators = spec as Record<string, unknown>;
    const names = Object.keys(operators);
    if (names.length === 0)
      problem([pathText], 'an operator object needs at least one operator, e.g. { eq: 1 }');
    for (const op of names) {
      const leaf = leafFor(op as keyof Operators, operators[op], (sub, message) =>
        problem([pathText, op, ...sub], message),
      );
      if (leaf) leaves.push(leaf);
    }
  } else {
    const leaf = leafFor('eq', spec, problem);
    if (leaf) leaves.push(leaf);
  }
  const describe = () => leaves.map((leaf) => `${pathText} ${leaf.phrase}`).join(' and ');
  if (leaves.length === 1) {
    const only = leaves[0] as Leaf;
    return {
      paths: [pathText],
      test: (subject) => only.test(readPath(subject, path)),
      explain: (subject) => {
        const value = readPath(subject, path);
        return only.test(value) ? undefined : `${pathText} is ${showValue(value)}, expected ${only.expected}`;
      },
      describe,
    };
  }
  return {
    paths: [pathText],
    test: (subject) => {
      const value = readPath(subject, path);
      for (const leaf of leaves) if (!leaf.test(value)) return false;
      return true;
    },
    explain: (subject) => {
      const value = readPath(subject, path);
      for (const leaf of leaves) {
        if (!leaf.test(value)) return `${pathText} is ${showValue(value)}, expected ${leaf.expected}`;
      }
      return undefined;
    },
    describe,
  };
}

function allOf(children: CompiledCondition[]): CompiledCondition {
  if (children.length === 1) return children[0] as CompiledCondition;
  return {
    paths: children.flatMap((child) => child.paths),
    test: (subject) => {
      for (const child of children) if (!child.test(subject)) return false;
      return true;
    },
    explain: (subject) => {
      for (const child of children) {
        const failure = child.explain(subject);
        if (failure !== undefined) return failure;
      }
      return undefined;
    },
    describe: () => children.map((child) => child.describe()).join(' and '),
  };
}

/**
 * compileCondition compiles an `if` (already shape-checked by conditionSchema). Problems (a bad regex, an
 * unknown operator) are reported through `problem` with a path relative to the condition.
 */
export function compileCondition(condition: Condition, problem: ProblemSink): CompiledCondition {
  const record = condition as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0] === 'all' && Array.isArray(record.all)) {
    return allOf(
      (record.all as Condition[]).map((child, i) =>
        compileCondition(child, (sub, message) => problem(['all', i, ...sub], message)),
      ),
    );
  }
  if (keys.length === 1 && keys[0] === 'any' && Array.isArray(record.any)) {
    const children = (record.any as Condition[]).map((child, i) =>
      compileCondition(child, (sub, message) => problem(['any', i, ...sub], message)),
    );
    return {
      paths: children.flatMap((child) => child.paths),
      test: (subject) => {
        for (const child of children) if (child.test(subject)) return true;
        return false;
      },
      explain: (subject) => {
        const failures: string[] = [];
        for (const child of children) {
          const failure = child.explain(subject);
          if (failure === undefined) return undefined;
          failures.push(failure);
        }
        return `none of ${children.length} alternatives matched: ${failures.join('; ')}`;
      },
      describe: () => children.map((child) => `(${child.describe()})`).join(' or '),
    };
  }
  if (keys.length === 1 && keys[0] === 'not' && record.not !== null && typeof record.not === 'object') {
    const child = compileCondition(record.not as Condition, (sub, message) =>
      problem(['not', ...sub], message),
    );
    return {
      paths: child.paths,
      test: (subject) => !child.test(subject),
      explain: (subject) => (child.test(subject) ? `expected not: ${child.describe()}` : undefined),
      describe: () => `not (${child.describe()})`,
    };
  }
  if (keys.length === 0) problem([], 'an empty condition matches everything; remove it or add a field');
  return allOf(keys.map((path) => fieldCondition(path, record[path], problem)));
}

/** MATCH_ALL is the condition of a rule without `if`. */
export const MATCH_ALL: CompiledCondition = {
  paths: [],
  test: () => true,
  explain: () => undefined,
  describe: () => 'everything',
};
