import type { z } from 'zod';
import type { Alert } from '../domain/alert.js';
import type { PacingDefaults, RetryDefaults } from './delivery-config.js';
import type { Destination, DestinationDeps } from './types.js';

/**
 * DestinationKind is everything hookrelay knows about one destination `type:`, as one value exported by
 * `destinations/<type>/index.ts` and listed once in `registry.ts`: the rules-file schema, the mapping to
 * the adapter's options, the adapter factory, the preview `hookrelay test` prints, and the retry and
 * pacing defaults the deliver stage applies. Adding a destination is a new folder and one registry line.
 *
 * A kind is light to import (zod schemas, renderers, numbers): `create` loads the adapter module, with its
 * SDK, only when a destination is built, so reading the rules file never pays for the SDKs.
 */
export interface DestinationKind<
  Schema extends z.core.$ZodTypeDiscriminable = z.core.$ZodTypeDiscriminable,
  Options = unknown,
> {
  /** The `type:` of the rules file (a stable name, DESIGN.md). */
  readonly type: z.output<Schema> extends { type: infer Type extends string } ? Type : never;
  /** One entry of `destinations:` as written; the config loader composes it into the file's schema. */
  readonly schema: Schema;
  /** options maps a parsed entry (defaults applied, durations in ms) to what the adapter takes. */
  options(config: z.output<Schema>): Options;
  /**
   * create builds the adapter. It opens no connection, and throws HookrelayError `HR_ERR_DEST_CONFIG` only
   * for options that config validation already refuses.
   */
  create(name: string, options: Options, deps: DestinationDeps): Destination;
  /** preview shows an alert the way this destination would send it (`hookrelay test --event`). */
  preview(config: z.output<Schema>, alert: Alert): string;
  /** Retry policy when the entry's `retry:` leaves a key out. */
  readonly retry: Readonly<RetryDefaults>;
  /** Pacing when the entry's `rate:` leaves a key out. */
  readonly pacing: Readonly<PacingDefaults>;
}

/** defineDestinationKind returns `kind` as it is, typed from its schema (so `type` is checked against it). */
export function defineDestinationKind<Schema extends z.core.$ZodTypeDiscriminable, Options>(
  kind: DestinationKind<Schema, Options>,
): DestinationKind<Schema, Options> {
  return kind;
}
