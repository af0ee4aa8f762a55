import type { Config } from '../config/load.js';
import { type CompiledRuleSet, compileRules } from '../rules/engine.js';
import type { ForwardPolicy } from './notifications.js';

/** ruleSetFromConfig compiles the rules of a loaded file (its problems were reported by the loader). */
export function ruleSetFromConfig(config: Config): CompiledRuleSet {
  return compileRules({
    rules: config.raw.rules,
    people: config.people,
    schedules: config.raw.schedules,
    silences: config.raw.silences,
  });
}

/** forwardPolicyFromConfig answers which destinations forward the received payload (`body: event`). */
export function forwardPolicyFromConfig(config: Config): ForwardPolicy {
  const forwarding = new Set(
    Object.entries(config.raw.destinations)
      .filter(([, destination]) => destination.type === 'webhook' && destination.body === 'event')
      .map(([name]) => name),
  );
  return { forwardsEvent: (destination) => forwarding.has(destination) };
}
