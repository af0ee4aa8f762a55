import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Metrics is the set of counters every stage reports to; one per app, so tests can build many apps. */
export interface Metrics {
  registry: Registry;
  webhooksReceived: Counter<'source' | 'outcome'>;
  eventsStored: Counter<'source'>;
  eventsDuplicate: Counter<'source'>;
  ingestSeconds: Histogram<'source'>;
}

/** createMetrics builds a fresh registry with the process's default metrics and hookrelay's own. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooksReceived: new Counter({
      name: 'hookrelay_webhooks_received_total',
      help: 'Webhook requests received, by source and outcome (accepted, or the refusal code)',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    eventsStored: new Counter({
      name: 'hookrelay_events_stored_total',
      help: 'Normalised items appended to the event log',
      labelNames: ['source'],
      registers: [registry],
    }),
    eventsDuplicate: new Counter({
      name: 'hookrelay_events_duplicate_total',
      help: 'Items already in the event log, acknowledged without storing again',
      labelNames: ['source'],
      registers: [registry],
    }),
    ingestSeconds: new Histogram({
      name: 'hookrelay_ingest_duration_seconds',
      help: 'Time from request body received to durable commit',
      labelNames: ['source'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
