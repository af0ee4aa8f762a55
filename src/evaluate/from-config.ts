import type { Config } from '../config/load.js';
import type { CompiledRuleSet } from '../rules/engine.js';
import type { ForwardPolicy } from './notifications.js';

/** ruleSetFromConfig returns the rules of a loaded file, compiled once by the loader. */
export function ruleSetFromConfig(config: Config): CompiledRuleSet {
  return config.ruleSet;
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
