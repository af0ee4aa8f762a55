import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * OutboxMetricsSource is what the outbox gauges read on each scrape (the deliver stage provides it), so
 * the figures include changes made by other processes such as `hookrelay dlq resume`.
 */
export interface OutboxMetricsSource {
  /** Pending notifications per destination (configured destinations with none included, as 0). */
  pending(): Promise<Record<string, number>>;
  /** Paused destinations with a short reason class (`authError`, `notFound`, …). */
  paused(): Promise<Array<{ destination: string; reason: string }>>;
}

/** CommitStatsSource is what the store commit counters read on each scrape (the store provides it). */
export interface CommitStatsSource {
  commitStats(): { appendCommits: number; appendsCommitted: number };
}

/** HttpMetricsSource is what the listener gauges read on each scrape (the HTTP server provides it). */
export interface HttpMetricsSource {
  /** Connections open now. */
  connections(): Promise<number>;
  /** Request-body bytes held before verification now. */
  bufferedBytes(): number;
}

/** Metrics is the set of counters every stage reports to; one per app, so tests can build many apps. */
export interface Metrics {
  registry: Registry;
  webhooksReceived: Counter<'source' | 'outcome'>;
  eventsStored: Counter<'source'>;
  eventsDuplicate: Counter<'source'>;
  ingestSeconds: Histogram<'source'>;
  /** One per delivery attempt: outcome `delivered | retry | dead | broken`, reason the failure class. */
  deliveries: Counter<'destination' | 'outcome' | 'reason'>;
  deliverySeconds: Histogram<'destination'>;
  outboxPending: Gauge<'destination'>;
  destinationPaused: Gauge<'destination' | 'reason'>;
  appendCommits: Counter;
  appendsCommitted: Counter;
  /** Connections closed at once because `server.maxConnections` were open. */
  httpConnectionsDropped: Counter;
  /** Requests answered by the listener itself: reason `timeout` (408), `headers_too_large` (431), `malformed` (400). */
  httpClientErrors: Counter<'reason'>;
  /** Stored items skipped because their evaluation threw (each is logged once with its seq). */
  evaluatorItemsFailed: Counter;
  /** observeHttp sets where the listener gauges read from on scrape; `undefined` detaches it. */
  observeHttp(source: HttpMetricsSource | undefined): void;
  /**
   * observeOutbox sets where the outbox gauges read from on scrape; `undefined` detaches it (the gauges
   * then report nothing). The deliver stage calls it on start and stop.
   */
  observeOutbox(source: OutboxMetricsSource | undefined): void;
  /** observeStore sets where the store commit counters read from on scrape. */
  observeStore(source: CommitStatsSource | undefined): void;
}

/** createMetrics builds a fresh registry with the process's default metrics and hookrelay's own. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let outbox: OutboxMetricsSource | undefined;
  let store: CommitStatsSource | undefined;
  let http: HttpMetricsSource | undefined;
  new Gauge({
    name: 'hookrelay_http_connections',
    help: 'Connections open on the public listener (at most server.maxConnections)',
    registers: [registry],
    async collect() {
      this.set((await http?.connections().catch(() => undefined)) ?? 0);
    },
  });
  new Gauge({
    name: 'hookrelay_ingest_buffered_bytes',
    help: 'Request-body bytes held in memory before their signature is checked (at most server.maxBufferedSize)',
    registers: [registry],
    collect() {
      this.set(http?.bufferedBytes() ?? 0);
    },
  });
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
    evaluatorItemsFailed: new Counter({
      name: 'hookrelay_evaluator_items_failed_total',
      help: 'Stored items skipped because their evaluation threw (logged with HR_ERR_EVALUATE_ITEM_FAILED and the seq)',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'hookrelay_deliveries_total',
      help: 'Delivery attempts by destination, outcome (delivered, retry, dead, broken) and failure reason',
      labelNames: ['destination', 'outcome', 'reason'],
      registers: [registry],
    }),
    deliverySeconds: new Histogram({
      name: 'hookrelay_delivery_duration_seconds',
      help: 'Duration of one delivery attempt (the send alone), by destination',
      labelNames: ['destination'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    outboxPending: new Gauge({
      name: 'hookrelay_outbox_pending',
      help: 'Notifications waiting to be delivered, by destination (paused destinations included)',
      labelNames: ['destination'],
      registers: [registry],
      async collect() {
        this.reset();
        const counts = await outbox?.pending().catch(() => undefined);
        for (const [destination, count] of Object.entries(counts ?? {})) this.set({ destination }, count);
      },
    }),
    // Read from the store's own counters at scrape time: the commit path stays free of metric calls.
    appendCommits: new Counter({
      name: 'hookrelay_store_append_commits_total',
      help: 'Durable transactions that committed webhook requests (group commits, one fsync each)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(store?.commitStats().appendCommits ?? 0);
      },
    }),
    appendsCommitted: new Counter({
      name: 'hookrelay_store_appends_committed_total',
      help: 'Webhook requests made durable; divided by hookrelay_store_append_commits_total: requests per commit',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(store?.commitStats().appendsCommitted ?? 0);
      },
    }),
    destinationPaused: new Gauge({
      name: 'hookrelay_destination_paused',
      help: 'Destinations paused as broken (1), with the reason class; `hookrelay dlq paused` says why',
      labelNames: ['destination', 'reason'],
      registers: [registry],
      async collect() {
        this.reset();
        const paused = await outbox?.paused().catch(() => undefined);
        for (const { destination, reason } of paused ?? []) this.set({ destination, reason }, 1);
      },
    }),
    httpConnectionsDropped: new Counter({
      name: 'hookrelay_http_connections_dropped_total',
      help: 'Connections closed at once because server.maxConnections were already open',
      registers: [registry],
    }),
    httpClientErrors: new Counter({
      name: 'hookrelay_http_client_errors_total',
      help: 'Requests the listener answered itself: reason timeout (408), headers_too_large (431), malformed (400)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    observeHttp(source) {
      http = source;
    },
    observeOutbox(source) {
      outbox = source;
    },
    observeStore(source) {
      store = source;
    },
  };
}
