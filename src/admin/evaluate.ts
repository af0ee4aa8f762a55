import { explainItems, InputError, itemsOf, previewFor } from '../cli/test-rules.js';
import type { Config } from '../config/load.js';
import type { Alert } from '../domain/alert.js';
import type { Item } from '../domain/item.js';
import { createIngestSource, type IngestSource } from '../ingest/source.js';
import { ingestConfigOf } from '../ingest/source-config.js';
import type { RuleExplanation } from '../rules/types.js';
import { AdminErrorCode, adminError } from './errors.js';
import { redact } from './redact.js';
import type { AdminContext, AdminService } from './service.js';

/*
 * The playground and `POST /api/v1/evaluate`: an event in, which rules fire and why, and the message each
 * destination would get. It runs the engine through the same entry point as `hookrelay test --event
 * --explain` (explainItems, imported, not copied), on the rules in force with their stored silences.
 * Nothing is stored or sent.
 */

/** EvaluateInput is a webhook payload (normalised by a source) or a stored event's seq. */
export type EvaluateInput = { payload: unknown; source?: string } | { seq: number };

/** EvaluateResult is what the engine decided, explained. */
export interface EvaluateResult {
  source: string;
  items: Item[];
  explanations: RuleExplanation[];
  alerts: Array<{
    alert: Alert;
    destinations: Array<{ name: string; type?: string; preview: string }>;
  }>;
}

/** createEvaluate returns the evaluate operation; ingest sources are built once per configuration. */
export function createEvaluate(context: AdminContext, service: AdminService) {
  const sources = new WeakMap<Config, Map<string, IngestSource>>();
  const sourceFor = (config: Config, name: string): IngestSource => {
    let built = sources.get(config);
    if (built === undefined) {
      built = new Map();
      sources.set(config, built);
    }
    let source = built.get(name);
    if (source === undefined) {
      const sourceConfig = config.sources[name];
      if (sourceConfig === undefined) {
        throw adminError(AdminErrorCode.badRequest, `no source named "${name}" in the rules file`, 400);
      }
      source = createIngestSource(name, ingestConfigOf(sourceConfig));
      built.set(name, source);
    }
    return source;
  };

  return async function evaluate(input: EvaluateInput): Promise<EvaluateResult> {
    const config = context.config();
    let items: Item[];
    let sourceName: string;
    if ('seq' in input) {
      const event = await context.store.admin.getEvent(input.seq);
      if (event === undefined) throw adminError(AdminErrorCode.notFound, `no stored event ${input.seq}`, 404);
      items = [event.item];
      sourceName = event.item.source;
    } else {
      const name = input.source ?? Object.keys(config.sources)[0];
      if (name === undefined) {
        throw adminError(
          AdminErrorCode.badRequest,
          'the rules file has no sources to normalise events with',
          400,
        );
      }
      sourceName = name;
      try {
        items = itemsOf(sourceFor(config, name), input.payload, 'the event');
      } catch (error) {
        if (error instanceof InputError) throw adminError(AdminErrorCode.badRequest, error.message, 400);
        throw error;
      }
    }
    // The engine attaches the directory's person itself, as it does in serve and in `test`.
    const evaluation = explainItems(context.ruleSet(), items);
    const hidden = await service.secrets();
    const destinations = config.raw.destinations;
    return redact(
      {
        source: sourceName,
        items,
        explanations: evaluation.explanations ?? [],
        alerts: evaluation.firings.map((firing) => ({
          alert: firing.alert,
          destinations: firing.destinations.map((name) => {
            const type = destinations[name]?.type;
            return {
              name,
              ...(type === undefined ? {} : { type }),
              preview: previewFor(destinations[name], firing.alert),
            };
          }),
        })),
      },
      hidden,
    );
  };
}
