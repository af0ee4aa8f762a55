import { coerceError } from '../lib/errors.js';
import type { Destination, SendFailure } from './types.js';

/** What a Destination says about itself before its adapter has loaded. */
export interface DestinationIdentity {
  name: string;
  type: Destination['type'];
  wantsRequestBody?: boolean;
  /** Known from the options, before the adapter loads: the deliverer asks before the first send. */
  threads?: boolean;
}

/**
 * deferredDestination returns a Destination whose adapter is built by `load` (which imports the adapter
 * module) in the background, from now on. A destination kind stays light that way: loading the rules
 * file (`validate`, `schema`, `test`) never imports @slack/web-api, @discordjs/rest, nodemailer and
 * undici (measured: 0.9 s for all adapters against 0.17 s for their schemas). A send that comes before
 * the import has finished waits for it; once it has, sends go straight to the adapter.
 *
 * An adapter that cannot be built (the module fails to load, its SDK refuses the options) answers every
 * send as a broken destination, so the deliver stage pauses it and says why.
 */
export function deferredDestination(
  identity: DestinationIdentity,
  load: () => Promise<Destination>,
): Destination {
  let adapter: Destination | undefined;
  let failure: SendFailure | undefined;
  const ready = load().then(
    (built) => {
      adapter = built;
    },
    (thrown: unknown) => {
      const error = coerceError(thrown);
      failure = broken(
        `${identity.type} destination "${identity.name}" could not be set up: ${error.message}`,
      );
    },
  );
  return {
    name: identity.name,
    type: identity.type,
    ...(identity.wantsRequestBody === undefined ? {} : { wantsRequestBody: identity.wantsRequestBody }),
    ...(identity.threads === undefined ? {} : { threads: identity.threads }),
    send(notification, context) {
      if (adapter !== undefined) return adapter.send(notification, context);
      return ready.then(() =>
        adapter !== undefined
          ? adapter.send(notification, context)
          : (failure ?? broken(`${identity.type} destination "${identity.name}" was not set up`)),
      );
    },
    async close() {
      await ready;
      await adapter?.close();
    },
  };
}

// Not shared.ts's fail(): that module loads the SSRF guard (undici), which a kind must not.
function broken(detail: string): SendFailure {
  return { ok: false, outcome: 'broken', reason: 'clientError', detail };
}
