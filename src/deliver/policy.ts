import { type PacingPolicy, pacingPolicyFor } from './pacing.js';
import { type RetryPolicy, retryPolicyFor } from './retry-policy.js';

/** DeliveryPolicy is how one destination is retried and paced. */
export interface DeliveryPolicy {
  retry: RetryPolicy;
  pacing: PacingPolicy;
}

/** DEFAULT_POLICY is used for a destination the policies map does not name (the webhook defaults). */
export const DEFAULT_POLICY: DeliveryPolicy = {
  retry: retryPolicyFor('webhook'),
  pacing: pacingPolicyFor('webhook'),
};
