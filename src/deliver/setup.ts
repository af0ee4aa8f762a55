/**
 * From a loaded rules file to what createDeliverer takes: one adapter and one policy per destination
 * name. The composition root (app.ts) calls this at start and on every reload.
 */
import type { Config } from '../config/load.js';
import {
  createDestination,
  type Destination,
  type DestinationConfig,
  type DestinationDeps,
  type DestinationOptions,
  toDestinationOptions,
} from '../destinations/index.js';
import type { DeliveryPolicy } from './deliverer.js';
import { pacingPolicyFor } from './pacing.js';
import { retryPolicyFor } from './retry-policy.js';

/**
 * DeliveryStageConfig is the deliver stage's slice of the configuration: per destination name, the
 * adapter's options and the stage's retry and pacing. Nothing else of the rules file reaches the stage.
 */
export interface DeliveryStageConfig {
  destinations: ReadonlyMap<string, { options: DestinationOptions; policy: DeliveryPolicy }>;
}

/** DeliverySetup is the adapters and policies of every configured destination, by name. */
export interface DeliverySetup {
  destinations: Map<string, Destination>;
  policies: Map<string, DeliveryPolicy>;
}

/** deliveryPolicyFor is a destination's retry and pacing: its `retry:`/`rate:` over its type's defaults. */
export function deliveryPolicyFor(config: DestinationConfig): DeliveryPolicy {
  return {
    retry: retryPolicyFor(config.type, config.retry),
    pacing: pacingPolicyFor(config.type, config.rate),
  };
}

/** deliveryConfigOf takes the deliver stage's slice out of a loaded configuration (`destinations:`). */
export function deliveryConfigOf(config: Pick<Config, 'raw'>): DeliveryStageConfig {
  return {
    destinations: new Map(
      Object.entries(config.raw.destinations).map(([name, entry]) => [
        name,
        { options: toDestinationOptions(entry), policy: deliveryPolicyFor(entry) },
      ]),
    ),
  };
}

/**
 * buildDelivery creates an adapter for each destination of the slice and pairs it with its policy. It
 * opens no connection; the caller owns the adapters and closes them with closeDestinations.
 */
export function buildDelivery(config: DeliveryStageConfig, deps: DestinationDeps): DeliverySetup {
  const destinations = new Map<string, Destination>();
  const policies = new Map<string, DeliveryPolicy>();
  for (const [name, { options, policy }] of config.destinations) {
    destinations.set(name, createDestination(name, options, deps));
    policies.set(name, policy);
  }
  return { destinations, policies };
}

/** closeDestinations closes every adapter (pools, sockets); one that fails to close does not stop the rest. */
export async function closeDestinations(destinations: ReadonlyMap<string, Destination>): Promise<void> {
  await Promise.allSettled([...destinations.values()].map((destination) => destination.close()));
}
