import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Config, formatIssue, loadConfig } from '../config/load.js';
import type { RawDestination } from '../config/schema.js';
import { previewDestination } from '../destinations/index.js';
import type { Alert } from '../domain/alert.js';
import type { Item } from '../domain/item.js';
import { ruleSetFromConfig } from '../evaluate/from-config.js';
import { parseJsonBody } from '../ingest/json-body.js';
import { createIngestSource, type IngestSource } from '../ingest/source.js';
import { ingestConfigOf } from '../ingest/source-config.js';
import { formatDuration, parseDurationMs } from '../lib/duration.js';
import type { CompiledRuleSet, RuleExplanation } from '../rules/engine.js';
import { type RuleTestInput, runRuleTest } from '../rules/rule-test.js';
import { formatWhen } from '../rules/schedule.js';
import { runTimeline, type TimelineResult } from '../rules/timeline.js';
import type { CliIo } from './io.js';
import { printIssues, rulesFileFor } from './rules-file.js';

const USAGE =
  'usage: hookrelay test [rules.yaml] [--event <file.json|-> ...] [--advance 30m] [--source NAME] [--explain] [--allow-missing-env]\n' +
  '  without --event: runs the `tests:` of the rules file; exit 1 when one fails\n' +
  '  with --event:    evaluates the given webhook payloads and shows what each rule did;\n' +
  '                   --advance keeps the clock ticking that long after the last one, as serve would\n' +
  '  --allow-missing-env: an unset environment variable is a warning (a stand-in value is used), so CI needs no secrets\n';

/** InputError is an event the user gave that cannot be read or normalised (a message, not a bug). */
export class InputError extends Error {}

function readStdin(): Promise<string> {
  return new Promise((resolveText, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      text += chunk;
    });
    process.stdin.on('end', () => resolveText(text));
    process.stdin.on('error', reject);
  });
}

async function readPayload(ref: string | Record<string, unknown>, baseDir: string): Promise<unknown> {
  if (typeof ref !== 'string') return ref;
  const text =
    ref === '-'
      ? await readStdin()
      : await readFile(resolve(baseDir, ref), 'utf8').catch(() => {
          throw new InputError(`cannot read event file ${ref}`);
        });
  // The same reading as serve's, depth bound included: one code path from bytes to alerts.
  const body = parseJsonBody(text);
  if (body.ok) return body.payload;
  throw new InputError(
    body.code === 'HR_ERR_INGEST_INVALID_JSON'
      ? `event ${ref} is not valid JSON`
      : `event ${ref}: ${body.reason}`,
  );
}

/** itemsOf normalises one webhook payload with the source's normaliser, as ingest would. */
export function itemsOf(ingest: IngestSource, payload: unknown, label: string): Item[] {
  const envelopeTime = (payload as { timestamp?: unknown } | null)?.timestamp;
  const receivedAt = typeof envelopeTime === 'number' ? envelopeTime : Date.now();
  const result = ingest.normalize(payload, { source: ingest.name, receivedAt, headers: {} });
  if (!result.ok) throw new InputError(`event ${label}: ${result.reason}`);
  return result.events.map((event) => event.item);
}

/** previewFor renders an alert the way a destination of this type would show it. */
export function previewFor(destination: RawDestination | undefined, alert: Alert): string {
  return destination === undefined ? `${alert.title}\n${alert.text}` : previewDestination(destination, alert);
}

function indent(text: string, by = '      '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}

/** explanationLine names the rule, the person, the item (or the tick) and what the rule did. */
function explanationLine(ruleSet: CompiledRuleSet, e: RuleExplanation): string {
  const timezone = ruleSet.byName.get(e.rule)?.timezone ?? 'UTC';
  const who = e.who === undefined ? '' : ` [${e.who}]`;
  const subject =
    e.item !== undefined
      ? ` item ${e.item.id} at ${formatWhen(e.item.at, timezone)}`
      : e.clockAt !== undefined
        ? ` at ${formatWhen(e.clockAt, timezone)}`
        : '';
  return `    ${e.rule}${who}${subject}: ${e.outcome} — ${e.reason}\n`;
}

/** printExplanations shows what each rule did: only alerts by default, every rule with --explain. */
function printExplanations(
  io: CliIo,
  ruleSet: CompiledRuleSet,
  explanations: RuleExplanation[],
  explain: boolean,
): void {
  for (const e of explanations) {
    if (!explain && e.outcome !== 'fired' && e.outcome !== 'resolved' && e.outcome !== 'digested') continue;
    io.stdout(explanationLine(ruleSet, e));
  }
}

/**
 * explainItems evaluates items from a fresh state and explains every rule's outcome: `test --event
 * --explain`, and the admin API's `evaluate` (the dashboard's playground), which must agree with it.
 */
export function explainItems(
  ruleSet: CompiledRuleSet,
  items: readonly Item[],
  advanceMs = 0,
): TimelineResult {
  return runTimeline(ruleSet, items, { explain: true, advanceMs });
}

async function runEvents(
  config: Config,
  ruleSet: CompiledRuleSet,
  refs: string[],
  ingest: IngestSource,
  options: { explain: boolean; advanceMs: number },
  io: CliIo,
): Promise<number> {
  const baseDir = io.cwd;
  const items: Item[] = [];
  for (const ref of refs) items.push(...itemsOf(ingest, await readPayload(ref, baseDir), ref));
  // The same clock as a test of the file: items at their receivedAt, ticks every second until advance.
  const evaluation = explainItems(ruleSet, items, options.advanceMs);
  const advanced = options.advanceMs > 0 ? `, clock run on ${formatDuration(options.advanceMs)}` : '';
  io.stdout(`${items.length} item(s) from ${refs.length} event(s)${advanced}\n`);
  printExplanations(io, ruleSet, evaluation.explanations ?? [], options.explain);
  if (evaluation.firings.length === 0) io.stdout('no alerts\n');
  evaluation.firings.forEach((firing, i) => {
    const timezone = ruleSet.byName.get(firing.alert.rule)?.timezone ?? 'UTC';
    const sent = evaluation.sentAt[i];
    const when = sent === undefined ? '' : ` — sent at ${formatWhen(sent, timezone)}`;
    io.stdout(
      `\nALERT ${firing.alert.rule} (${firing.alert.status}, ${firing.alert.severity}): ${firing.alert.title}${when}\n`,
    );
    for (const to of firing.destinations) {
      io.stdout(`  → ${to}\n${indent(previewFor(config.raw.destinations[to], firing.alert))}\n`);
    }
  });
  return 0;
}

async function runFileTests(
  config: Config,
  ruleSet: CompiledRuleSet,
  file: string,
  ingest: IngestSource,
  explain: boolean,
  io: CliIo,
): Promise<number> {
  const tests = config.raw.tests;
  if (tests.length === 0) {
    io.stdout(`${file}: no tests: section; nothing to run\n`);
    return 0;
  }
  const baseDir = dirname(resolve(io.cwd, file));
  let failed = 0;
  for (const test of tests) {
    const items: Item[] = [];
    for (const ref of test.events) {
      const label = typeof ref === 'string' ? ref : 'inline event';
      items.push(...itemsOf(ingest, await readPayload(ref, baseDir), label));
    }
    const advanceMs = test.advance === undefined ? undefined : parseDurationMs(test.advance);
    const input: RuleTestInput = { items, advanceMs, expect: test.expect };
    if (test.allowOthers !== undefined) input.allowOthers = test.allowOthers;
    const result = runRuleTest(ruleSet, input, { explain });
    if (result.passed) io.stdout(`ok    ${test.name}\n`);
    else {
      failed += 1;
      io.stdout(`FAIL  ${test.name}\n`);
      for (const failure of result.failures) io.stdout(`      ${failure}\n`);
    }
    if (explain) printExplanations(io, ruleSet, result.explanations ?? [], true);
  }
  io.stdout(`\n${tests.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

/**
 * runTest is `hookrelay test`: it proves rules before they are deployed, without sending anything, by
 * running the file's `tests:` or by evaluating given webhook payloads and explaining every rule's outcome.
 */
export async function runTest(args: string[], io: CliIo): Promise<number> {
  let values: {
    event?: string[];
    source?: string;
    explain?: boolean;
    advance?: string;
    help?: boolean;
    'allow-missing-env'?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        event: { type: 'string', multiple: true },
        source: { type: 'string' },
        explain: { type: 'boolean', default: false },
        'allow-missing-env': { type: 'boolean', default: false },
        advance: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    }));
  } catch (error) {
    io.stderr(`hookrelay test: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (positionals.length > 1) {
    io.stderr(`hookrelay test: at most one rules file\n${USAGE}`);
    return 2;
  }
  const advanceMs = values.advance === undefined ? 0 : parseDurationMs(values.advance);
  if (advanceMs === undefined || advanceMs < 0) {
    io.stderr(`hookrelay test: --advance takes a duration such as 30m, 2h or 1d\n${USAGE}`);
    return 2;
  }
  if (values.advance !== undefined && !(values.event && values.event.length > 0)) {
    io.stderr(
      `hookrelay test: --advance goes with --event (a test in the file says advance: itself)\n${USAGE}`,
    );
    return 2;
  }
  const rulesFile = rulesFileFor(positionals[0], io);
  const file = rulesFile.path;
  const allowMissingEnv = values['allow-missing-env'] ?? false;
  const loaded = await loadConfig(file, io.env, { cwd: io.cwd, allowMissingEnv });
  if (!loaded.ok) {
    printIssues(io, rulesFile, loaded.issues);
    return 1;
  }
  for (const warning of loaded.warnings.filter((w) => w.code === 'HR_ERR_CONFIG_ENV_MISSING')) {
    io.stderr(`warning: ${formatIssue(warning)}\n`);
  }
  const config = loaded.config;
  const sourceName = values.source ?? Object.keys(config.sources)[0];
  const source = sourceName === undefined ? undefined : config.sources[sourceName];
  if (sourceName === undefined || source === undefined) {
    io.stderr(
      sourceName === undefined
        ? 'hookrelay test: the rules file has no sources to normalise events with\n'
        : `hookrelay test: no source named "${sourceName}" in the rules file\n`,
    );
    return 1;
  }
  // Built once: the verifier keys and normaliser serve every event of the run.
  const ingest = createIngestSource(sourceName, ingestConfigOf(source));
  const ruleSet = ruleSetFromConfig(config);
  try {
    return values.event && values.event.length > 0
      ? await runEvents(
          config,
          ruleSet,
          values.event,
          ingest,
          { explain: values.explain ?? false, advanceMs },
          io,
        )
      : await runFileTests(config, ruleSet, file, ingest, values.explain ?? false, io);
  } catch (error) {
    if (error instanceof InputError) {
      io.stderr(`hookrelay test: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
