import { RE2JS } from 're2js';

/*
 * Regular expressions from rules files run on text from payloads, so they must never backtrack: a
 * pattern such as `(a+)+$` and one hostile app name would otherwise spin the event loop for ever
 * (issue 15 §1). Rules' regexes are matched with RE2 (re2js, pure JavaScript), which runs in time
 * linear in the input whatever the pattern. What RE2 cannot express in linear time — backreferences and
 * lookaround — is refused when the rules are loaded, with the reason, instead of being compiled into
 * something that matches differently.
 */

/** LinearRegex is a compiled rule regex: a boolean test that runs in linear time, and how it was written. */
export interface LinearRegex {
  test(text: string): boolean;
  /** The pattern as written in the rules file (`/^steam/i` or `^Steam`), for explanations. */
  readonly source: string;
}

/** REGEX_SYNTAX_HINT is what a refused pattern's message ends with. */
export const REGEX_SYNTAX_HINT =
  'rules match regexes with RE2, in linear time: backreferences (\\1, \\k<name>) and lookaround ((?=…), (?!…), (?<=…), (?<!…)) are not supported';

/** RE2_SYNTAX_HINT ends the message of a pattern RE2 cannot parse. */
export const RE2_SYNTAX_HINT = 'rules use RE2 syntax: https://github.com/google/re2/wiki/Syntax';

const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
};

/**
 * unsupportedConstruct names the first construct of `pattern` that RE2 does not support, or undefined.
 * It is checked before translation because re2js' JavaScript-syntax translation would silently turn
 * `\k<name>` into literal text, changing what the pattern means.
 */
function unsupportedConstruct(pattern: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) return `the backreference \\${next}`;
      if (!inClass && next === 'k' && pattern[i + 2] === '<') return 'the named backreference \\k<…>';
      i += 1;
    } else if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') {
      inClass = true;
    } else if (ch === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2, i + 4);
      if (rest.startsWith('=')) return 'the lookahead (?=…)';
      if (rest.startsWith('!')) return 'the negative lookahead (?!…)';
      if (rest === '<=') return 'the lookbehind (?<=…)';
      if (rest === '<!') return 'the negative lookbehind (?<!…)';
    }
  }
  return undefined;
}

/**
 * compileLinearRegex reads `pattern` or `/pattern/flags` (flags i, m, s; g, y, u, d and v change nothing
 * for a yes/no test and are ignored) and compiles it for linear-time matching. It returns an error
 * message instead of throwing, so a bad pattern becomes a positioned config problem. The message quotes
 * the pattern; the config loader never shows it for a pattern that came from the environment.
 */
export function compileLinearRegex(text: string): LinearRegex | string {
  const shown = JSON.stringify(text);
  const literal = /^\/(.*)\/([dgimsuvy]*)$/s.exec(text);
  const pattern = literal === null ? text : (literal[1] ?? '');
  const flags = literal === null ? '' : (literal[2] ?? '');
  const construct = unsupportedConstruct(pattern);
  if (construct !== undefined) {
    return `regular expression ${shown} uses ${construct} (${REGEX_SYNTAX_HINT})`;
  }
  let bits = 0;
  for (const flag of flags) bits |= FLAG_BITS[flag] ?? 0;
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(pattern), bits);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(
      /^error parsing regexp: /,
      '',
    );
    return `invalid regular expression ${shown}: ${reason} (${RE2_SYNTAX_HINT})`;
  }
  return { test: (input) => compiled.test(input), source: literal === null ? `/${pattern}/` : text };
}
