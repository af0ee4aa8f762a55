import type { Alert, Severity } from '../domain/alert.js';
import type { Item, Person } from '../domain/item.js';
import type { CompiledTemplate } from '../render/template.js';
import type { CompiledDigest } from './engine/digest.js';
import type { CompiledCondition, EventPattern } from './match.js';
import type { FieldPath } from './path.js';
import type { CompiledSchedule } from './schedule.js';
import type { RuleConfig } from './schema.js';
import type { Aggregate } from './window.js';

/** Comparison is a threshold's comparison operator. */
export type Comparison = 'gt' | 'gte' | 'lt' | 'lte';

/** CompiledThreshold is a rule's `threshold:` in runtime units. */
export interface CompiledThreshold {
  per: FieldPath;
  windowMs: number;
  /** How far behind the key's newest item an item may be and still count (default: the window). */
  latenessMs: number;
  aggregate: Aggregate;
  /** The aggregated field (absent for count). */
  field?: FieldPath;
  op: Comparison;
  bound: number;
  minCount?: number;
  repeatMs?: number;
  resolve: boolean;
  /**
   * True when more items can only make the condition truer (count/sum/max above a bound, min below
   * one): then a late item can never undo it, and the alert goes out as soon as the condition holds.
   * Other conditions (low activity, averages, ratios) alert once the window is settled: when an item
   * `latenessMs` newer has arrived, so no late item can still change the answer.
   */
  eager: boolean;
  /** lt/lte wait until the window holds enough data (minCount, or a full window of activity). */
  needsData: boolean;
  /** `sum(time.durationInSeconds)`, `count`. */
  label: string;
  /** The window as written (`1h`). */
  windowText: string;
}

/** CompiledAbsence is a rule's `absent:` in runtime units. */
export interface CompiledAbsence {
  per: FieldPath;
  forMs: number;
  forText: string;
  /**
   * `seen`: keys that sent a matching item (with `during:`, since the current stretch began); `people`:
   * those and the directory's keys, watched before they are first seen.
   */
  watch: 'seen' | 'people';
  /** Keys known from the directory (people, or their teams); empty unless `watch: people`. */
  directoryKeys: readonly string[];
}

/** RuleKind says which machinery a rule uses. */
export type RuleKind = 'match' | 'threshold' | 'absence';

/** CompiledRule is one rule ready to evaluate. */
export interface CompiledRule {
  /** Position in `rules:` (explanations and problems refer to it). */
  index: number;
  name: string;
  /**
   * Hash of the rule's state-relevant config (name, on, if, scope, threshold, absence, cooldown, per,
   * resolve, simulation, digest). State is stored under it: a reload keeps the state of a rule whose
   * fingerprint is unchanged, and a changed rule starts afresh. Message, destinations, severity and
   * schedules are not part of it, so rewording an alert keeps its window.
   */
  fingerprint: string;
  kind: RuleKind;
  config: RuleConfig;
  /** The watched event types (for absence rules: `absent.on`). */
  on: EventPattern;
  /** `if` (for absence rules: `absent.if`). */
  condition: CompiledCondition;
  hasCondition: boolean;
  /** `users:` resolved to ids. */
  users?: ReadonlySet<string>;
  teams?: ReadonlySet<string>;
  simulation: 'include' | 'ignore' | 'only';
  threshold?: CompiledThreshold;
  absence?: CompiledAbsence;
  /** The key of cooldown and resolve for plain rules (default user). */
  per: FieldPath;
  cooldownMs?: number;
  /** Plain rules: a resolved alert when the key's next item no longer matches. Absence: when seen again. */
  resolve: boolean;
  during?: CompiledSchedule;
  outside?: CompiledSchedule;
  /** The timezone the rule's times are shown in: its schedule's (or digest's), else UTC. */
  timezone: string;
  digest?: CompiledDigest;
  severity: Severity;
  attachScreenshot: boolean;
  to: readonly string[];
  title?: CompiledTemplate;
  text?: CompiledTemplate;
}

/** CompiledSilence is one entry of `silences:` ready to match alerts. */
export interface CompiledSilence {
  index: number;
  /** `name`, else `silences[i]`. */
  name: string;
  rules?: ReadonlySet<string>;
  matchers?: CompiledCondition;
  startsMs?: number;
  endsMs?: number;
  schedule?: CompiledSchedule;
  comment?: string;
}

/**
 * CompileProblem is one thing wrong with the rules. `path` is from the root of the rules file
 * (`['rules', 2, 'if', 'app.name', 'regex']`), so the config loader can map it to a line and column.
 * Errors make the rule set unusable; warnings are worth a look but do not stop a load.
 */
export interface CompileProblem {
  severity: 'error' | 'warning';
  ruleIndex?: number;
  path: Array<string | number>;
  message: string;
}

/** CompiledRuleSet is the rules of one config load, indexed for evaluation. */
export interface CompiledRuleSet {
  readonly rules: readonly CompiledRule[];
  readonly byName: ReadonlyMap<string, CompiledRule>;
  readonly people: ReadonlyMap<string, Person>;
  readonly silences: readonly CompiledSilence[];
  readonly problems: readonly CompileProblem[];
  /**
   * Paths (`rules[2].during`) of references compileRules could not resolve, and of duplicate rule names:
   * what they name does not exist, so the rule or silence is left out. The config loader checks every
   * reference first and says what is wrong (config/cross-refs.ts); compileRules does not word it again.
   */
  readonly unresolved: readonly string[];
  /** True when no problem is an error and every reference resolved. */
  readonly ok: boolean;
  readonly fingerprints: ReadonlySet<string>;
  /** Some rule's condition (or a silence) reads `person.*`, so items get their person attached first. */
  readonly conditionsReadPerson: boolean;
  /** Absence rules (ticked by the clock). */
  readonly absenceRules: readonly CompiledRule[];
  /** Rules with `digest:` (flushed by the clock). */
  readonly digestRules: readonly CompiledRule[];
  /** Threshold rules (ticks judge their points once the lateness allowance has passed). */
  readonly thresholdRules: readonly CompiledRule[];
  /** Threshold rules and plain rules with cooldown/resolve: their idle keys are pruned on ticks. */
  readonly keyedRules: readonly CompiledRule[];
  /**
   * candidates returns the rules that may care about an item, in rule order: those watching its event
   * type (exact index, then globs), narrowed by `users:`/`teams:` through a per-user/per-team index.
   */
  candidates(item: Item): readonly CompiledRule[];
}

/** Firing is one alert and where it goes; the evaluator turns it into one notification per destination. */
export interface Firing {
  alert: Alert;
  destinations: string[];
}

/** Outcome is what a rule did with an item or a tick, for explanations. */
export type Outcome =
  | 'fired'
  | 'resolved'
  | 'not-watched'
  | 'no-match'
  | 'ignored'
  | 'late'
  | 'duplicate'
  | 'below-threshold'
  | 'not-ready'
  | 'pending'
  | 'holding'
  | 'cooldown'
  | 'silenced'
  | 'outside-schedule'
  | 'digested'
  | 'seen'
  | 'quiet';

/** RuleExplanation says what one rule did and why, in words. */
export interface RuleExplanation {
  rule: string;
  ruleIndex: number;
  outcome: Outcome;
  reason: string;
  key?: string;
  /** The aggregate at the item, for threshold rules. */
  value?: number;
  /** Ids of the alerts this rule produced in this call. */
  alertIds?: string[];
  /** The item this is about: the one evaluated, or for a tick the point it judged. */
  item?: { id: string; at: number; event?: string };
  /** Who: the person's name for a user key (else the key), or the item's user. */
  who?: string;
  /** For ticks: the clock time of the tick. */
  clockAt?: number;
}

/** Evaluation is the result of one engine call. */
export interface Evaluation {
  firings: Firing[];
  /** Present when `explain` was asked for: one entry per rule (per absence key on ticks). */
  explanations?: RuleExplanation[];
}

/** EvaluateOptions tunes one engine call. */
export interface EvaluateOptions {
  /** Explain every rule's outcome (slower; for `hookrelay test --explain`). */
  explain?: boolean;
}
