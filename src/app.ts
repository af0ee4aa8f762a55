import type { Server as HttpServer } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { type AdminServer, createAdminServer } from './admin/server.js';
import type { ReloadOutcome } from './admin/service.js';
import type { AdminSettings } from './admin/settings.js';
import type { Config } from './config/load.js';
import { createDeliverer, type Deliverer } from './deliver/deliverer.js';
import { buildDelivery, closeDestinations, deliveryConfigOf } from './deliver/setup.js';
import type { DestinationDeps } from './destinations/types.js';
import { createEvaluator, type Evaluator } from './evaluate/evaluator.js';
import { forwardPolicyFromConfig, ruleSetFromConfig } from './evaluate/from-config.js';
import { createLeadership, type Leadership } from './evaluate/leadership.js';
import { createSilenceSync, withStoredSilences } from './evaluate/stored-silences.js';
import { createByteBudget } from './ingest/body-budget.js';
import {
  applyHttpLimits,
  clientErrorHandler,
  createHttpServer,
  type TlsCredentials,
} from './ingest/http-server.js';
import { webhookRoutes } from './ingest/plugin.js';
import { type SlackInteractionTarget, slackInteractionRoutes } from './ingest/slack-interactions.js';
import { createIngestSource, type IngestSource } from './ingest/source.js';
import { ingestConfigOf } from './ingest/source-config.js';
import { createWebhookHandler } from './ingest/webhook-handler.js';
import { createRequestIds, createWebhookServe, withWebhookFastPath } from './ingest/webhook-listener.js';
import { type Clock, systemClock } from './lib/clock.js';
import type { Logger } from './lib/log.js';
import { createMetrics, type Metrics } from './lib/metrics.js';
import { nextTimeOfDay } from './rules/schedule.js';
import { createLocalLeaderLease, type LeaderLease } from './store/leader-port.js';
import type { Store } from './store/ports.js';
import { startRetention } from './store/retention.js';

export interface AppDeps {
  config: Config;
  store: Store;
  logger: Logger;
  clock?: Clock;
  /** How often retention runs; tests shorten it. */
  retentionIntervalMs?: number;
  /**
   * The evaluator's leader lease (PostgreSQL: shared by every instance on the database). Default: an
   * in-process lease this app always holds (SQLite, one process per file). Closed by stop() when it has
   * a close().
   */
  lease?: LeaderLease & { close?(): Promise<void> };
  /** Lease timing (tests shorten it); defaults in evaluate/leadership.ts. */
  leaseTiming?: { ttlMs?: number; renewMs?: number; pollMs?: number };
  /** Test-only fault injection between evaluating and committing (see test/e2e). */
  beforeEvaluatorCommit?: () => void;
  /** Serve HTTPS with this certificate and key (TLS_CERT_FILE / TLS_KEY_FILE); plain HTTP without. */
  tls?: TlsCredentials;
  /** The admin listener (dashboard, JSON API); none when undefined (ADMIN_PORT=off). */
  admin?: AdminSettings & {
    /** Reloads the rules file as SIGHUP does (serve passes its own). */
    reload?: () => Promise<ReloadOutcome>;
    env?: Readonly<Record<string, string | undefined>>;
    cwd?: string;
  };
}

export interface App {
  server: FastifyInstance;
  metrics: Metrics;
  evaluator: Evaluator;
  /** Whether this instance evaluates; only the leader runs the evaluator and retention. */
  leadership: Leadership;
  deliverer: Deliverer;
  /** start listens and starts the background stages; resolves with the address. */
  start(listen: { port: number; host: string }): Promise<string>;
  /** stop stops accepting, finishes in-flight requests and background work, then closes the store. */
  stop(): Promise<void>;
  /** reload swaps in a new configuration without dropping requests in flight. */
  reload(config: Config): Promise<void>;
  /** setTls swaps the HTTPS certificate and key; connections already open keep theirs. HTTPS apps only. */
  setTls(tls: TlsCredentials): void;
  /** The admin listener's address once started (undefined when it is off). */
  readonly adminAddress: string | undefined;
}

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
  const budget = createByteBudget(config.server.maxBufferedSize);
  let closing = false;
  const isClosing = () => closing;
  // POST /webhooks/:source: one handler, served from node:http before Fastify (webhook-listener.ts).
  const webhooks = createWebhookServe({
    handler: createWebhookHandler({
      getSource: (name: string) => sources.get(name),
      trustProxyHops: () => config.server.trustProxyHops,
      events: store.events,
      clock,
      metrics,
      logger,
    }),
    budget,
    isClosing,
  });
  // One id sequence for Fastify's requests and the fast path's, so a reqId names one request.
  const nextRequestId = createRequestIds();

  let listener: HttpServer | HttpsServer | undefined;
  const server = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request info lines would dominate ingest cost; refusals are logged where they are decided.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => nextRequestId(),
    // The listener is built here, with its timeouts, connection cap and TLS (issue 15 §4, §10).
    serverFactory: (handler) => {
      listener = createHttpServer(withWebhookFastPath(handler, webhooks, nextRequestId, isClosing), {
        limits: config.server,
        metrics,
        ...(deps.tls ? { tls: deps.tls } : {}),
      });
      return listener;
    },
    clientErrorHandler: clientErrorHandler(metrics),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const http = listener;
  if (http === undefined) throw new Error('Fastify did not call serverFactory');
  metrics.observeHttp({
    connections: () =>
      new Promise((resolve) => http.getConnections((error, count) => resolve(error ? 0 : count))),
    bufferedBytes: () => budget.inUse(),
  });

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
  // Slack buttons (Acknowledge / Silence): destinations with a signing secret, read from the current config.
  server.register(slackInteractionRoutes, {
    targets: () => slackInteractionTargets(config, destinationDeps),
    silences: store.silences,
    conversations: store.conversations,
    nonces: store.nonces,
    timezoneOf: (rule) => {
      const compiled = config.ruleSet.byName.get(rule);
      return compiled?.during?.timezone ?? compiled?.outside?.timezone;
    },
    tomorrowAt9: (now, timezone) => nextTimeOfDay(nextTimeOfDay(now, [0], timezone) - 1, [9 * 60], timezone),
    clock,
  });
  // The request targets the fast path leaves to Fastify's router (encoded names, shutdown) end up in it too.
  server.register(webhookRoutes, { serve: webhooks });

  // Stored silences (dashboard, API, CLI) join the file's in the rule set the evaluator runs.
  let storedSilences: Parameters<typeof withStoredSilences>[1] = [];
  const rulesOf = (current: Config) => withStoredSilences(ruleSetFromConfig(current), storedSilences);
  // Created below; the evaluator asks it for the fence of every commit.
  let leadership: Leadership | undefined;
  const evaluator = createEvaluator({
    store,
    ruleSet: rulesOf(config),
    forwards: forwardPolicyFromConfig(config),
    clock,
    logger,
    metrics,
    beforeCommit: deps.beforeEvaluatorCommit,
    fence: () => leadership?.fence(),
    onFenced: () => leadership?.fenced(),
  });

  const silenceSync = createSilenceSync({
    silences: store.silences,
    clock,
    logger,
    onChange: async (compiled) => {
      storedSilences = compiled;
      await evaluator.reload(rulesOf(config), forwardPolicyFromConfig(config));
    },
  });
  let admin: AdminServer | undefined;
  let adminAddress: string | undefined;
  if (deps.admin) {
    const { reload, env, cwd, ...settings } = deps.admin;
    admin = createAdminServer(
      {
        store,
        config: () => config,
        ruleSet: () => rulesOf(config),
        refreshSilences: () => silenceSync.refresh(),
        ...(reload ? { reload } : {}),
        clock,
        logger,
        env: env ?? {},
        cwd: cwd ?? process.cwd(),
      },
      settings,
    );
  }

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

  // Only the leader evaluates and runs the clock-driven duties (absence and digests run in the
  // evaluator's tick; retention here), so each happens once across instances.
  const lease: LeaderLease & { close?(): Promise<void> } = deps.lease ?? createLocalLeaderLease();
  const elected = createLeadership({
    lease,
    logger,
    ...deps.leaseTiming,
    duties: {
      start: async () => {
        await evaluator.start();
        stopRetention = retentionFor(config);
      },
      stop: async () => {
        await evaluator.stop();
        const stopped = stopRetention;
        stopRetention = undefined;
        await stopped?.();
      },
    },
  });
  leadership = elected;
  metrics.observeLeadership({
    leader: () => elected.leader,
    term: () => elected.term,
    lagSeconds: async () => {
      // A standby reads the committed cursor (the leader's lives in its evaluator); the cursor alone, not
      // the whole rule state, as this runs on every scrape.
      const cursor = elected.leader ? evaluator.cursor : await store.evaluator.cursor();
      const [oldest] = await store.events.readAfter(cursor, 1, { images: false });
      return oldest === undefined ? 0 : Math.max(0, clock.now() - oldest.item.receivedAt) / 1000;
    },
  });

  return {
    server,
    metrics,
    evaluator,
    leadership: elected,
    deliverer,
    get adminAddress() {
      return adminAddress;
    },
    async start(listen) {
      await silenceSync.start();
      await deliverer.start();
      // Fastify names the address http:// whenever it did not build the server itself.
      const listening = await server.listen({ port: listen.port, host: listen.host });
      const address = deps.tls ? listening.replace(/^http:/, 'https:') : listening;
      // Listening first: a standby accepts webhooks while another instance evaluates. The first attempt
      // at the lease is awaited, so a lone instance evaluates before start resolves.
      await elected.start();
      if (admin) {
        const { host, port } = deps.admin ?? { host: '', port: 0 };
        adminAddress = await admin.listen().catch((error: unknown) => {
          throw new Error(
            `the admin listener cannot listen on ${host}:${port} (ADMIN_HOST, ADMIN_PORT): ${(error as Error).message}`,
          );
        });
        logger.info({ address: adminAddress, auth: deps.admin?.token ? 'token' : 'none' }, 'admin listening');
      }
      logger.info({ address, sources: [...sources.keys()], engine: store.engine }, 'hookrelay listening');
      return address;
    },
    stop() {
      stopping ??= (async () => {
        closing = true;
        silenceSync.stop();
        await admin?.close();
        await server.close();
        // Stops the evaluator and retention, then resigns, so a standby takes over at once.
        await elected.stop();
        await lease.close?.();
        await deliverer.stop();
        await closeDestinations(delivery.destinations);
        await store.close();
        logger.info('hookrelay stopped');
      })();
      return stopping;
    },
    async reload(next) {
      sources = buildSources(next);
      applyHttpLimits(http, next.server);
      budget.setLimit(next.server.maxBufferedSize);
      const previousRetentionMs = config.retention.eventsMs;
      config = next;
      if (stopRetention && next.retention.eventsMs !== previousRetentionMs) {
        await stopRetention();
        stopRetention = retentionFor(next);
      }
      await evaluator.reload(rulesOf(next), forwardPolicyFromConfig(next));
      const previous = delivery;
      delivery = buildDelivery(deliveryConfigOf(next), destinationDeps);
      await deliverer.reload(delivery.destinations, delivery.policies);
      await closeDestinations(previous.destinations);
      logger.info({ sources: [...sources.keys()], rules: next.raw.rules.length }, 'configuration reloaded');
    },
    setTls(tls) {
      if (!(http instanceof HttpsServer)) throw new Error('setTls: this app serves plain HTTP');
      http.setSecureContext({ cert: tls.cert, key: tls.key });
    },
  };
}

/**
 * slackInteractionTargets lists the Slack destinations whose alerts carry buttons (bot mode with a
 * signing secret). Updating a message loads the Slack adapter module only when a button was used.
 */
function slackInteractionTargets(config: Config, deps: DestinationDeps): SlackInteractionTarget[] {
  const targets: SlackInteractionTarget[] = [];
  for (const [name, { options }] of deliveryConfigOf(config).destinations) {
    if (options.type !== 'slack' || options.signingSecret === undefined || options.token === undefined)
      continue;
    targets.push({
      name,
      signingSecret: options.signingSecret,
      update: async (channel, ts, text, blocks) =>
        (await import('./destinations/slack/slack.js')).updateSlackMessage(name, options, deps, {
          channel,
          ts,
          text,
          blocks,
        }),
    });
  }
  return targets;
}
