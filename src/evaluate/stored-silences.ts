import type { Clock } from '../lib/clock.js';
import { coerceError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { compileCondition } from '../rules/match.js';
import { type Condition, silenceSchema } from '../rules/schema.js';
import type { CompiledRuleSet, CompiledSilence } from '../rules/types.js';
import type { SilenceMatchers, SilenceStore, StoredSilence } from '../store/admin-ports.js';

/*
 * Silences created at run time (dashboard, API, CLI) are stored, and the evaluator applies them exactly
 * like the YAML file's `silences:`: they are compiled into the same CompiledSilence and appended to the
 * rule set's list, which the engine's gate already checks. No rule or engine code knows where a silence
 * came from. The rules themselves (and so their state and memos) are the same objects in the new set.
 */

/** How far back a stored silence that has ended still matters: an item this late is not muted by it. */
export const ENDED_SILENCE_KEPT_MS = 7 * 24 * 3_600_000;

/** How often the sync asks the store whether silences changed (another instance, the CLI on the file). */
export const SILENCE_POLL_MS = 5_000;

/** The shape of a YAML silence's `matchers:` (field path → value, list of values, or operators). */
const MATCHERS = silenceSchema.shape.matchers;

/** MatcherProblem is one reason stored matchers cannot be used, with the path inside the matchers. */
export interface MatcherProblem {
  path: string;
  message: string;
}

/**
 * checkMatchers checks and compiles a silence's matchers as a YAML silence's are; no problems means they
 * are usable. An empty object is refused: a silence that mutes every alert must be written in the file.
 */
export function checkMatchers(matchers: SilenceMatchers): MatcherProblem[] {
  if (Object.keys(matchers).length === 0) {
    return [{ path: '', message: 'at least one matcher is needed, e.g. { "rule": "went-quiet" }' }];
  }
  const parsed = MATCHERS.safeParse(matchers);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.'),
      message: issue.message,
    }));
  }
  if (parsed.data === undefined) return [{ path: '', message: 'matchers must be an object' }];
  const problems: MatcherProblem[] = [];
  compileCondition(parsed.data as Condition, (path, message) =>
    problems.push({ path: path.map(String).join('.'), message }),
  );
  return problems;
}

/**
 * compileStoredSilence turns a stored silence into the engine's CompiledSilence, or undefined when its
 * matchers no longer compile (a silence is checked when created, so only a changed engine could do that).
 */
export function compileStoredSilence(silence: StoredSilence, index: number): CompiledSilence | undefined {
  let broken = false;
  const matchers = compileCondition(silence.matchers as Condition, () => {
    broken = true;
  });
  if (broken || !MATCHERS.safeParse(silence.matchers).success) return undefined;
  const compiled: CompiledSilence = {
    index,
    name: `silence ${silence.id.slice(0, 8)}`,
    matchers,
    endsMs: silence.endsAt,
  };
  if (silence.startsAt !== undefined) compiled.startsMs = silence.startsAt;
  const comment = [silence.comment, silence.createdBy && `by ${silence.createdBy}`]
    .filter(Boolean)
    .join(', ');
  if (comment !== '') compiled.comment = comment;
  return compiled;
}

/**
 * withStoredSilences returns the rule set with `stored` appended to its silences (the file's come first,
 * so explanations name a YAML silence when both would mute). The same set is returned when there are none.
 */
export function withStoredSilences(
  ruleSet: CompiledRuleSet,
  stored: readonly CompiledSilence[],
): CompiledRuleSet {
  if (stored.length === 0) return ruleSet;
  const readsPerson = stored.some((silence) =>
    (silence.matchers?.paths ?? []).some((path) => path === 'person' || path.startsWith('person.')),
  );
  return {
    ...ruleSet,
    silences: [...ruleSet.silences, ...stored],
    conditionsReadPerson: ruleSet.conditionsReadPerson || readsPerson,
  };
}

/** SilenceSyncOptions configure createSilenceSync. */
export interface SilenceSyncOptions {
  silences: SilenceStore;
  clock: Clock;
  logger: Logger;
  /** Called with the compiled silences whenever they changed; the caller swaps the evaluator's rule set. */
  onChange(silences: readonly CompiledSilence[]): Promise<void>;
  pollMs?: number;
}

/** SilenceSync keeps the evaluator's stored silences in step with the database. */
export interface SilenceSync {
  /** refresh reads the silences now and applies them when they changed; resolves once applied. */
  refresh(): Promise<void>;
  /** start refreshes once (so the first event after a restart is muted), then polls the revision. */
  start(): Promise<void>;
  stop(): void;
  /** The silences applied last. */
  readonly current: readonly CompiledSilence[];
}

/**
 * createSilenceSync loads the stored silences that may still mute (not expired, ended less than
 * ENDED_SILENCE_KEPT_MS ago) and polls the store's revision, one small read every `pollMs`, reloading
 * only when it moved. Local writes call `refresh` directly, so their effect does not wait for the poll.
 */
export function createSilenceSync(options: SilenceSyncOptions): SilenceSync {
  const { silences, clock, logger } = options;
  const pollMs = options.pollMs ?? SILENCE_POLL_MS;
  let current: readonly CompiledSilence[] = [];
  let applied: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  const load = async (force: boolean) => {
    const revision = await silences.revision();
    // Ended silences drop out as time passes, so a forced refresh reloads even at the same revision.
    if (!force && revision === applied) return;
    const stored = await silences.list({ limit: 10_000, endsAfter: clock.now() - ENDED_SILENCE_KEPT_MS });
    const compiled: CompiledSilence[] = [];
    stored.forEach((silence, i) => {
      const one = compileStoredSilence(silence, i);
      if (one) compiled.push(one);
      else logger.warn({ silence: silence.id }, 'a stored silence has matchers that do not compile; ignored');
    });
    current = compiled;
    applied = revision;
    await options.onChange(compiled);
  };
  const serial = (force: boolean) => {
    const next = chain.then(() => load(force));
    chain = next.catch(() => undefined);
    return next;
  };

  return {
    get current() {
      return current;
    },
    refresh: () => serial(true),
    async start() {
      await serial(true);
      timer = setInterval(() => {
        serial(false).catch((error: unknown) =>
          logger.error({ err: coerceError(error) }, 'reading stored silences failed; will retry'),
        );
      }, pollMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
