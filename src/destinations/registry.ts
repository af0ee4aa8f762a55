/**
 * The one list of destination types. Each entry is a DestinationKind exported by its folder's index.ts;
 * everything else (the rules-file schema, the adapter options, createDestination, the previews of
 * `hookrelay test`, the retry and pacing defaults of the deliver stage) is read from here.
 */
import { z } from 'zod';
import type { Alert } from '../domain/alert.js';
import { discordKind } from './discord/index.js';
import { emailKind } from './email/index.js';
import type { DestinationKind } from './kind.js';
import { logKind } from './log/index.js';
import { slackKind } from './slack/index.js';
import type { Destination, DestinationDeps } from './types.js';
import { webhookKind } from './webhook/index.js';

/** DESTINATION_KINDS lists every destination type, in the order the docs and the schema show them. */
export const DESTINATION_KINDS = [slackKind, discordKind, emailKind, webhookKind, logKind] as const;

type Kinds = typeof DESTINATION_KINDS;
type AnyKind = Kinds[number];
type SchemasOf<T extends readonly AnyKind[]> = { -readonly [K in keyof T]: T[K]['schema'] };
type OptionsOf<K> = K extends DestinationKind<infer _Schema, infer Options> ? Options : never;

/** DestinationType is the `type:` of a destination in the rules file (stable names, DESIGN.md). */
export type DestinationType = AnyKind['type'];

/** destinationConfigSchema is one destination as written in the rules file, discriminated on `type`. */
export const destinationConfigSchema = z.discriminatedUnion(
  'type',
  DESTINATION_KINDS.map((kind) => kind.schema) as SchemasOf<Kinds>,
);

/** DestinationConfig is a parsed (defaults applied, durations in ms) destination entry. */
export type DestinationConfig = z.output<typeof destinationConfigSchema>;

/** DestinationOptions is the options of any destination, discriminated on `type`. */
export type DestinationOptions = OptionsWithType<AnyKind>;
type OptionsWithType<K> = K extends AnyKind ? { type: K['type'] } & OptionsOf<K> : never;

const KINDS: ReadonlyMap<string, DestinationKind> = new Map(
  DESTINATION_KINDS.map((kind) => [kind.type, kind]),
);

/** kindOf returns the kind of a destination type. */
export function kindOf(type: DestinationType): DestinationKind {
  const kind = KINDS.get(type);
  if (kind === undefined) throw new Error(`unknown destination type ${type}`);
  return kind;
}

/** toDestinationOptions maps a parsed entry to the options `createDestination` takes. */
export function toDestinationOptions(config: DestinationConfig): DestinationOptions {
  return { type: config.type, ...(kindOf(config.type).options(config) as object) } as DestinationOptions;
}

/**
 * createDestination builds the adapter for `options.type`. It opens no connection (pools connect on the
 * first send) and throws HookrelayError `HR_ERR_DEST_CONFIG` only for options that config validation
 * should already have refused (e.g. a Discord URL without id/token).
 */
export function createDestination(
  name: string,
  options: DestinationOptions,
  deps: DestinationDeps,
): Destination {
  const { type, ...rest } = options;
  return kindOf(type).create(name, rest, deps);
}

/** previewDestination renders an alert the way a destination with this config would send it. */
export function previewDestination(config: DestinationConfig, alert: Alert): string {
  return kindOf(config.type).preview(config, alert);
}
