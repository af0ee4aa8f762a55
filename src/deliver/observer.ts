/**
 * The one subscriber that turns DeliveryEvents into metrics and log lines, so the loop only reports
 * facts. Each event is counted and logged once, here.
 */
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../lib/log.js';
import type { Metrics } from '../lib/metrics.js';
import type { DeliveryEvent } from './events.js';

/** The labelled series every send touches, looked up once per destination (prom-client hashes labels per call). */
interface Series {
  delivered: Counter.Internal;
  seconds: Histogram.Internal<'destination'>;
}

/** createDeliveryObserver returns the subscriber for one deliverer's events. */
export function createDeliveryObserver(logger: Logger, metrics: Metrics): (event: DeliveryEvent) => void {
  const series = new Map<string, Series>();
  const seriesOf = (destination: string): Series => {
    let found = series.get(destination);
    if (found === undefined) {
      found = {
        delivered: metrics.deliveries.labels({ destination, outcome: 'delivered', reason: 'ok' }),
        seconds: metrics.deliverySeconds.labels({ destination }),
      };
      series.set(destination, found);
    }
    return found;
  };
  const count = (destination: string, outcome: string, reason: string): void => {
    metrics.deliveries.inc({ destination, outcome, reason });
  };

  return (event) => {
    switch (event.type) {
      case 'delivery:delivered': {
        const { destination, id } = event;
        const own = seriesOf(destination);
        own.seconds.observe(event.durationMs / 1000);
        own.delivered.inc();
        if (!event.recorded)
          logger.debug({ destination, id }, 'delivered, but another worker had finished it');
        if (event.detail) logger.info({ destination, id, detail: event.detail }, 'delivered, with a note');
        return;
      }
      case 'delivery:retry': {
        const { destination } = event;
        seriesOf(destination).seconds.observe(event.durationMs / 1000);
        count(destination, 'retry', event.reason);
        logger.warn(
          {
            destination,
            id: event.id,
            attempt: event.attempts,
            reason: event.reason,
            detail: event.detail,
            retryInMs: event.delayMs,
          },
          `delivery to "${destination}" failed; will retry`,
        );
        return;
      }
      case 'delivery:dead': {
        const { destination } = event;
        seriesOf(destination).seconds.observe(event.durationMs / 1000);
        count(destination, 'dead', event.cause);
        const log = {
          destination,
          id: event.id,
          attempt: event.attempts,
          reason: event.failure.reason,
          detail: event.failure.detail,
        };
        if (event.gaveUp !== undefined) {
          logger.error(
            { ...log, deadReason: event.reason },
            `gave up delivering to "${destination}": ${event.gaveUp}`,
          );
        } else {
          logger.error(
            log,
            `"${destination}" refused this notification; it is a dead letter (hookrelay dlq list)`,
          );
        }
        return;
      }
      case 'delivery:broken':
        seriesOf(event.destination).seconds.observe(event.durationMs / 1000);
        count(event.destination, 'broken', event.reason);
        return;
      case 'destination:paused': {
        const { destination } = event;
        logger.error(
          {
            destination,
            id: event.id,
            attempt: event.attempts,
            reason: event.failure.reason,
            detail: event.failure.detail,
          },
          `destination "${destination}" is paused: ${event.failure.detail}. To fix: ${event.hint}. Its notifications are kept; ` +
            `then reload the config (SIGHUP) or run: hookrelay dlq resume ${destination}`,
        );
        return;
      }
      case 'destination:resumed':
        logger.info(
          { destination: event.destination },
          event.by === 'reload'
            ? `destination "${event.destination}" resumed by the configuration`
            : `destination "${event.destination}" resumed`,
        );
        return;
      case 'destination:unconfigured':
        logger.warn(
          { destination: event.destination, pending: event.pending },
          `${event.pending} notification(s) wait for destination "${event.destination}", which is no longer configured; ` +
            'they are kept and sent once it is configured again',
        );
        return;
      case 'deliver:leases-released':
        logger.info(
          { released: event.released },
          `released ${event.released} notification(s) a previous run had claimed but not settled; they are sent again`,
        );
        return;
      case 'deliver:error':
        logger.error(
          { err: event.error, destination: event.destination },
          event.in === 'adapter'
            ? 'a destination adapter threw'
            : 'delivery loop error; trying again shortly',
        );
        return;
    }
  };
}
