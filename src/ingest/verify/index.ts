import { createGenericHmacVerifier, type GenericHmacVerifierConfig } from './generic-hmac.js';
import type { Verifier } from './result.js';
import { createStandardWebhooksVerifier, type StandardWebhooksVerifierConfig } from './standard-webhooks.js';
import { createTrackpilotsVerifier, type TrackpilotsVerifierConfig } from './trackpilots.js';

// Callers (the plugin, the config loader) import verification types from here, not from the adapters.
export type { GenericHmacVerifierConfig } from './generic-hmac.js';
export type { HeaderMap, Verifier, VerifyFailure, VerifyResult } from './result.js';
export type { StandardWebhooksVerifierConfig } from './standard-webhooks.js';
export type { TrackpilotsVerifierConfig } from './trackpilots.js';

/** VerifierConfig is a source's verification settings, told apart by the source `type`. */
export type VerifierConfig =
  | TrackpilotsVerifierConfig
  | StandardWebhooksVerifierConfig
  | GenericHmacVerifierConfig;

/**
 * createVerifier builds the verifier for a source's type. Keys are decoded here, once; the returned
 * function is the hot path and never throws. It throws HR_ERR_CONFIG_INVALID for a config it cannot use
 * (no secret, a secret that does not decode, a bad signed-content template).
 */
export function createVerifier(config: VerifierConfig): Verifier {
  switch (config.type) {
    case 'trackpilots':
      return createTrackpilotsVerifier(config);
    case 'standard-webhooks':
      return createStandardWebhooksVerifier(config);
    case 'hmac':
      return createGenericHmacVerifier(config);
  }
}
