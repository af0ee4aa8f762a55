/**
 * The `destinations:` entries of the rules file, for src/config/: the schema is composed from each
 * type's own (registry.ts), so the loader and the adapters can never disagree.
 */
export {
  type DestinationConfig,
  destinationConfigSchema,
  toDestinationOptions,
} from './registry.js';
