/**
 * From the `destinations:` of a loaded rules file to what createDeliverer takes: one adapter and one
 * policy per name. The composition root (app.ts) calls this at start and on every reload.
 */
import {
  createDestination,
  type Destination,
  type DestinationConfig,
  type DestinationDeps,
  toDestinationOptions,
} from '../destinations/index.js';
import type { DeliveryPolicy } from './deliverer.js';
import { pacingPolicyFor } from './pacing.js';
import { retryPolicyFor } from './retry-policy.js';

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

/**
 * buildDelivery creates an adapter and a policy for each entry (`config.raw.destinations` as the loader
 * returns it). It opens no connection; the caller owns the adapters and closes them with closeDestinations.
 */
export function buildDelivery(
  configs: Readonly<Record<string, DestinationConfig>>,
  deps: DestinationDeps,
): DeliverySetup {
  const destinations = new Map<string, Destination>();
  const policies = new Map<string, DeliveryPolicy>();
  for (const [name, config] of Object.entries(configs)) {
    destinations.set(name, createDestination(name, toDestinationOptions(config), deps));
    policies.set(name, deliveryPolicyFor(config));
  }
  return { destinations, policies };
}

/** closeDestinations closes every adapter (pools, sockets); one that fails to close does not stop the rest. */
export async function closeDestinations(destinations: ReadonlyMap<string, Destination>): Promise<void> {
  await Promise.allSettled([...destinations.values()].map((destination) => destination.close()));
}
