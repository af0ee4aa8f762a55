import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from './config/load.js';
import { createDeliverer, type Deliverer } from './deliver/deliverer.js';
import { buildDelivery, closeDestinations, deliveryConfigOf } from './deliver/setup.js';
import { createEvaluator, type Evaluator } from './evaluate/evaluator.js';
import { forwardPolicyFromConfig, ruleSetFromConfig } from './evaluate/from-config.js';
import { webhookRoutes } from './ingest/plugin.js';
import { createIngestSource, type IngestSource } from './ingest/source.js';
import { ingestConfigOf } from './ingest/source-config.js';
import { type Clock, systemClock } from './lib/clock.js';
import type { Logger } from './lib/log.js';
import { createMetrics, type Metrics } from './lib/metrics.js';
import type { Store } from './store/ports.js';
import { startRetention } from './store/retention.js';

export interface AppDeps {
  config: Config;
  store: Store;
  logger: Logger;
  clock?: Clock;
  /** How often retention runs; tests shorten it. */
  retentionIntervalMs?: number;
  /** Test-only fault injection between evaluating and committing (see test/e2e). */
  beforeEvaluatorCommit?: () => void;
}

export interface App {
  server: FastifyInstance;
  metrics: Metrics;
  evaluator: Evaluator;
  deliverer: Deliverer;
  /** start listens and starts the background stages; resolves with the address. */
  start(listen: { port: number; host: string }): Promise<string>;
  /** stop stops accepting, finishes in-flight requests and background work, then closes the store. */
  stop(): Promise<void>;
  /** reload swaps in a new configuration without dropping requests in flight. */
  reload(config: Config): Promise<void>;
}

const MB = 1024 * 1024;

function buildSources(config: Config): Map<string, IngestSource> {
  return new Map(
    Object.entries(config.sources).map(([name, source]) => [
      name,
      createIngestSource(name, ingestConfigOf(source)),
    ]),
  );
}

/** createApp is the composition root: it wires the store into the stages and the HTTP server. */
export function createApp(deps: AppDeps): App {
  const { store, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const metrics = createMetrics();
  metrics.observeStore(store);
  let sources = buildSources(deps.config);
  let config = deps.config;
  // The route's byte limit is fixed at registration; per-source limits are enforced in the handler.
  const bodyLimit = Math.max(10 * MB, ...[...sources.values()].map((s) => s.maxBodyBytes));

  const server = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request info lines would dominate ingest cost; refusals are logged where they are decided.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  let closing = false;
  // A response finished after stop() began closes its connection, so shutdown need not wait for the
  // keep-alive timeout of connections that were busy when it started.
  server.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  server.get('/healthz', async () => ({ status: 'ok' }));
  server.get('/readyz', async (_request, reply) => {
    const writable = await store.checkWritable();
    if (!writable) return reply.code(503).send({ status: 'not ready', store: 'not writable' });
    return { status: 'ready', sources: [...sources.keys()] };
  });
  server.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  server.register(webhookRoutes, {
    getSource: (name: string) => sources.get(name),
    bodyLimit,
    events: store.events,
    clock,
    metrics,
  });

  const evaluator = createEvaluator({
    store,
    ruleSet: ruleSetFromConfig(config),
    forwards: forwardPolicyFromConfig(config),
    clock,
    logger,
    beforeCommit: deps.beforeEvaluatorCommit,
  });

  const destinationDeps = { logger, now: () => clock.now() };
  let delivery = buildDelivery(deliveryConfigOf(config), destinationDeps);
  const deliverer = createDeliverer({ store, ...delivery, clock, logger, metrics });

  let stopRetention: (() => Promise<void>) | undefined;
  const retentionFor = (current: Config) =>
    startRetention({
      store,
      maxAgeMs: current.retention.eventsMs,
      intervalMs: deps.retentionIntervalMs ?? 10 * 60_000,
      clock,
      logger,
    });
  let stopping: Promise<void> | undefined;

  return {
    server,
    metrics,
    evaluator,
    deliverer,
    async start(listen) {
      await evaluator.start();
      await deliverer.start();
      const address = await server.listen({ port: listen.port, host: listen.host });
      stopRetention = retentionFor(config);
      logger.info({ address, sources: [...sources.keys()], engine: store.engine }, 'hookrelay listening');
      return address;
    },
    stop() {
      stopping ??= (async () => {
        closing = true;
        await server.close();
        await evaluator.stop();
        await deliverer.stop();
        await closeDestinations(delivery.destinations);
        await stopRetention?.();
        await store.close();
        logger.info('hookrelay stopped');
      })();
      return stopping;
    },
    async reload(next) {
      sources = buildSources(next);
      const previousRetentionMs = config.retention.eventsMs;
      config = next;
      if (stopRetention && next.retention.eventsMs !== previousRetentionMs) {
        await stopRetention();
        stopRetention = retentionFor(next);
      }
      await evaluator.reload(ruleSetFromConfig(next), forwardPolicyFromConfig(next));
      const previous = delivery;
      delivery = buildDelivery(deliveryConfigOf(next), destinationDeps);
      await deliverer.reload(delivery.destinations, delivery.policies);
      await closeDestinations(previous.destinations);
      logger.info({ sources: [...sources.keys()], rules: next.raw.rules.length }, 'configuration reloaded');
    },
  };
}
