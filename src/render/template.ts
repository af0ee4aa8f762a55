import { filters as builtinFilters, Liquid } from 'liquidjs';

// liquidjs does not export its filter handler type; this is its shape.
type FilterHandler = (this: unknown, value: unknown, ...args: unknown[]) => unknown;

import { formatDuration } from '../lib/duration.js';

/*
 * Alert templates: Liquid (liquidjs), an established template language that cannot run code. Templates
 * are parsed once when the rules are compiled, so an unknown filter or a syntax error is a config
 * error with its line, never a surprise at 3 a.m. Output is plain text: the destination adapters escape
 * it for their medium (Slack mrkdwn, Discord markdown, HTML email), so nothing is escaped here.
 */

// Limits against a template (or a value) that would take the relay down: characters parsed per template,
// milliseconds per render, and a rough allocation budget (liquidjs counts string building).
const PARSE_LIMIT = 20_000;
const RENDER_LIMIT_MS = 100;
const MEMORY_LIMIT = 1_000_000;

// A template has no files to include: include/render/layout would reach the file system.
const FILE_TAGS = ['include', 'render', 'layout'] as const;

function createLiquid(): Liquid {
  const liquid = new Liquid({
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    // An empty in-memory template map: no lookup ever touches the file system.
    templates: {},
    timezoneOffset: 'UTC',
    locale: 'en-US',
    parseLimit: PARSE_LIMIT,
    renderLimit: RENDER_LIMIT_MS,
    memoryLimit: MEMORY_LIMIT,
  });
  for (const name of FILE_TAGS) {
    liquid.registerTag(name, {
      parse() {
        throw new Error(`the {% ${name} %} tag is not available in alert templates`);
      },
      render: () => '',
    });
  }
  liquid.registerFilter('duration', (value: unknown, unit: unknown = 's') => {
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isFinite(n)) return value;
    const perUnit = unit === 'ms' ? 1 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 1000;
    return formatDuration(n * perUnit);
  });
  const builtin = builtinFilters.date;
  const builtinDate = (typeof builtin === 'function' ? builtin : builtin?.handler) as
    | FilterHandler
    | undefined;
  // Times in hookrelay are epoch milliseconds; Liquid's own date filter reads numbers as seconds.
  liquid.registerFilter(
    'date',
    function (this: unknown, value: unknown, format?: unknown, timezone?: unknown) {
      const input = typeof value === 'number' ? new Date(value) : value;
      return builtinDate === undefined ? value : builtinDate.call(this, input, format, timezone);
    },
  );
  return liquid;
}

const liquid = createLiquid();

/** CompiledTemplate is a parsed template, rendered per alert. */
export interface CompiledTemplate {
  readonly source: string;
  /** render fills the template; it never throws (a render failure is reported in `error`). */
  render(scope: Record<string, unknown>): { text: string; error?: string };
}

/**
 * compileTemplate parses a template once. Unknown filters, unknown or file tags and syntax errors come
 * back as `{ error }` (with the template's own line and column), so the config loader can point at them.
 */
export function compileTemplate(source: string): { template: CompiledTemplate } | { error: string } {
  let parsed: ReturnType<Liquid['parse']>;
  try {
    parsed = liquid.parse(source);
  } catch (error) {
    return { error: cleanMessage(error) };
  }
  return {
    template: {
      source,
      render(scope) {
        try {
          const out: unknown = liquid.renderSync(parsed, scope);
          return { text: typeof out === 'string' ? out : String(out) };
        } catch (error) {
          return { text: '', error: cleanMessage(error) };
        }
      },
    },
  };
}

function cleanMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // liquidjs appends the offending source lines after a newline; the first line says it all.
  return message.split('\n')[0] ?? message;
}

/** TEMPLATE_FILTERS lists the filters hookrelay adds to Liquid's standard ones (for docs and hints). */
export const TEMPLATE_FILTERS = ['duration', 'date'] as const;
