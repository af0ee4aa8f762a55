import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Config } from '../config/load.js';
import type { Alert } from '../domain/alert.js';
import type { Item, Person } from '../domain/item.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { CompiledRuleSet } from '../rules/types.js';
import type {
  EventPageQuery,
  EventSummary,
  NotificationStatus,
  NotificationView,
  StoredSilence,
} from '../store/admin-ports.js';
import type { DeadLetter, Store } from '../store/ports.js';
import { AdminErrorCode, adminError } from './errors.js';
import { type AlertPreviews, previewsOf } from './previews.js';
import { redact, secretValuesOf, summarizeDestination } from './redact.js';
import type {
  AlertView,
  DeliveryView,
  DestinationView,
  EventView,
  OverviewView,
  RuleView,
  SilenceView,
} from './view-types.js';

/*
 * What the dashboard, the JSON API and the CLI can see and do, in one place: routes parse and format,
 * this module reads and acts. Everything it returns is plain data (JSON as the API sends it) with
 * configuration values redacted.
 */

/** ReloadOutcome is what reloading the rules file did. */
export type ReloadOutcome = { ok: true; rules: number; warnings: string[] } | { ok: false; errors: string[] };

/** AdminContext is what the admin listener needs from the running relay. */
export interface AdminContext {
  store: Store;
  /** The configuration in force (it changes on reload). */
  config(): Config;
  /** The rule set in force, stored silences included (what the evaluator runs). */
  ruleSet(): CompiledRuleSet;
  /** Re-reads stored silences into the evaluator; resolves once the next evaluation uses them. */
  refreshSilences(): Promise<void>;
  /** Reloads the rules file as SIGHUP does; undefined where the process cannot (tests of the app alone). */
  reload?: () => Promise<ReloadOutcome>;
  clock: Clock;
  logger: Logger;
  env: Readonly<Record<string, string | undefined>>;
  /** The directory relative paths of the rules file are read from. */
  cwd: string;
}

const MINUTE_MS = 60_000;
/** The overview's window: this many minutes, one bar each. */
export const OVERVIEW_MINUTES = 15;
const STATUS_ORDER: Record<NotificationStatus, number> = { dead: 0, pending: 1, delivered: 2 };

function deliveryOf(view: NotificationView, types: Record<string, string>): DeliveryView {
  const delivery: DeliveryView = {
    notificationId: view.id,
    destination: view.destination,
    status: view.status,
    createdAt: view.createdAt,
    attemptCount: view.attemptCount,
    attempts: view.attempts ?? [],
  };
  const type = types[view.destination];
  if (type !== undefined) delivery.destinationType = type;
  if (view.status === 'pending') delivery.dueAt = view.dueAt;
  if (view.deliveredAt !== undefined) delivery.deliveredAt = view.deliveredAt;
  if (view.deadAt !== undefined) delivery.deadAt = view.deadAt;
  if (view.deadReason !== undefined) delivery.deadReason = view.deadReason;
  return delivery;
}

/** describeRule says in one line what a rule watches for. */
function describeRule(config: Record<string, unknown>): string {
  const parts: string[] = [];
  if (config['absent'] !== undefined) parts.push('absence');
  if (config['threshold'] !== undefined) parts.push('threshold');
  if (config['if'] !== undefined) parts.push('with conditions');
  if (config['cooldown'] !== undefined) parts.push(`cooldown ${String(config['cooldown'])}`);
  if (config['during'] !== undefined) parts.push(`during ${String(config['during'])}`);
  if (config['digest'] !== undefined) parts.push('digest');
  return parts.length > 0 ? parts.join(', ') : 'every matching event';
}

/** AdminService is the set of reads and actions behind every admin route. */
export type AdminService = ReturnType<typeof createAdminService>;

/** createAdminService builds the operations on a running relay. */
export function createAdminService(context: AdminContext) {
  const { store, clock } = context;
  const secretsByConfig = new WeakMap<Config, Promise<string[]>>();

  /** The values to hide: those of every variable the current rules file references. */
  const secrets = (): Promise<string[]> => {
    const config = context.config();
    let found = secretsByConfig.get(config);
    if (found === undefined) {
      found = readFile(resolve(context.cwd, config.file), 'utf8').then(
        (text) => secretValuesOf(text, context.env),
        // Unreadable now: hide every value of the environment that is long enough to be a secret.
        () =>
          secretValuesOf(
            Object.keys(context.env)
              .map((name) => `\${${name}}`)
              .join('\n'),
            context.env,
          ),
      );
      secretsByConfig.set(config, found);
    }
    return found;
  };

  const destinationTypes = (): Record<string, string> =>
    Object.fromEntries(
      Object.entries(context.config().raw.destinations).map(([name, destination]) => [
        name,
        destination.type,
      ]),
    );

  const personOf = (user: string | undefined): Person | undefined =>
    user === undefined ? undefined : context.config().ruleSet.people.get(user);

  const eventView = (event: EventSummary): EventView => {
    const person = personOf(event.item.user);
    return person === undefined ? event : { ...event, person };
  };

  /** Groups notifications into alerts, each with all of its deliveries (loaded by alert id). */
  const alertsOf = async (views: NotificationView[]): Promise<AlertView[]> => {
    const ids = [...new Set(views.map((view) => view.alert.id))];
    const types = destinationTypes();
    const groups = await Promise.all(
      ids.map((id) => store.admin.listNotifications({ limit: 100, alertId: id, withAttempts: true })),
    );
    return groups
      .filter((group) => group.length > 0)
      .map((group) => {
        const deliveries = group
          .map((view) => deliveryOf(view, types))
          .sort((a, b) => a.destination.localeCompare(b.destination));
        const first = group[group.length - 1] as NotificationView;
        const status = deliveries.reduce<NotificationStatus>(
          (worst, delivery) =>
            STATUS_ORDER[delivery.status] < STATUS_ORDER[worst] ? delivery.status : worst,
          'delivered',
        );
        const view: AlertView = { alert: first.alert, createdAt: first.createdAt, status, deliveries };
        if (first.eventSeq !== undefined) view.eventSeq = first.eventSeq;
        return view;
      });
  };

  const destinations = async (): Promise<DestinationView[]> => {
    const hidden = await secrets();
    const configured = context.config().raw.destinations;
    const [overview, paused] = await Promise.all([
      store.admin.overview(clock.now()),
      store.deadLetters.listPausedDestinations(),
    ]);
    const views = new Map<string, DestinationView>();
    for (const [name, destination] of Object.entries(configured)) {
      views.set(name, {
        name,
        type: destination.type,
        configured: true,
        settings: summarizeDestination(destination, hidden),
        pending: 0,
        dead: 0,
      });
    }
    const ensure = (name: string): DestinationView => {
      let view = views.get(name);
      if (view === undefined) {
        view = { name, configured: false, settings: [], pending: 0, dead: 0 };
        views.set(name, view);
      }
      return view;
    };
    for (const backlog of overview.backlog) {
      const view = ensure(backlog.destination);
      view.pending = backlog.pending;
      view.dead = backlog.dead;
      if (backlog.oldestPendingAt !== undefined) view.oldestPendingAt = backlog.oldestPendingAt;
    }
    for (const pause of paused) {
      ensure(pause.destination).paused = { reason: redact(pause.reason, hidden), pausedAt: pause.pausedAt };
    }
    return [...views.values()].sort((a, b) => a.name.localeCompare(b.name));
  };

  const silenceView = (silence: StoredSilence): SilenceView => {
    const now = clock.now();
    const state =
      silence.expiredAt !== undefined || silence.endsAt <= now
        ? 'expired'
        : silence.startsAt !== undefined && silence.startsAt > now
          ? 'pending'
          : 'active';
    return { ...silence, state };
  };

  return {
    secrets,
    destinationTypes,
    sourceNames: (): string[] => Object.keys(context.config().sources),
    ruleNames: (): string[] => context.config().ruleSet.rules.map((rule) => rule.name),
    configFile: (): string => context.config().file,

    async overview(): Promise<OverviewView> {
      const now = clock.now();
      const since = Math.floor(now / MINUTE_MS) * MINUTE_MS - (OVERVIEW_MINUTES - 1) * MINUTE_MS;
      const [summary, destinationViews] = await Promise.all([store.admin.overview(since), destinations()]);
      const series = (counts: Array<{ key: string; minute: number; count: number }>, names: string[]) => {
        const byKey = new Map<string, number[]>(names.map((name) => [name, Array(OVERVIEW_MINUTES).fill(0)]));
        for (const { key, minute, count } of counts) {
          const slot = Math.round((minute - since) / MINUTE_MS);
          if (slot < 0 || slot >= OVERVIEW_MINUTES) continue;
          let row = byKey.get(key);
          if (row === undefined) {
            row = Array(OVERVIEW_MINUTES).fill(0);
            byKey.set(key, row);
          }
          row[slot] = (row[slot] ?? 0) + count;
        }
        return [...byKey.entries()].map(([name, perMinute]) => ({
          name,
          perMinute,
          lastMinute: perMinute[OVERVIEW_MINUTES - 1] ?? 0,
          total: perMinute.reduce((sum, n) => sum + n, 0),
        }));
      };
      const config = context.config();
      const { evaluator } = summary;
      return {
        now,
        since,
        sources: series(summary.eventsPerMinute, Object.keys(config.sources)),
        rules: series(
          summary.alertsPerMinute,
          config.ruleSet.rules.map((rule) => rule.name),
        ).filter((row) => row.total > 0 || config.ruleSet.byName.has(row.name)),
        destinations: destinationViews,
        deadLetters: destinationViews.reduce((sum, view) => sum + view.dead, 0),
        evaluator: {
          cursor: evaluator.cursor,
          newestSeq: evaluator.newestSeq,
          lagItems: Math.max(0, evaluator.newestSeq - evaluator.cursor),
          lagSeconds:
            evaluator.oldestPendingAt === undefined
              ? 0
              : Math.max(0, (now - evaluator.oldestPendingAt) / 1000),
        },
      };
    },

    async listEvents(query: EventPageQuery): Promise<{ events: EventView[]; next?: number }> {
      const rows = await store.admin.listEvents({ ...query, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit).map(eventView);
      const last = page[page.length - 1];
      return rows.length > query.limit && last ? { events: page, next: last.seq } : { events: page };
    },

    async getEvent(seq: number) {
      const event = await store.admin.getEvent(seq);
      if (event === undefined) throw adminError(AdminErrorCode.notFound, `no stored event ${seq}`, 404);
      const { body, ...summary } = event;
      let raw: unknown;
      let rawText: string | undefined;
      if (body !== undefined) {
        rawText = body.toString('utf8');
        try {
          raw = JSON.parse(rawText) as unknown;
        } catch {
          raw = undefined;
        }
      }
      const notifications = await store.admin.listNotifications({ limit: 200, eventSeq: seq });
      return {
        event: eventView(summary),
        raw,
        rawText,
        screenshot: event.hasImage ? `/api/v1/events/${seq}/screenshot` : undefined,
        alerts: await alertsOf(notifications),
      };
    },

    async screenshot(seq: number) {
      const image = await store.blobs.getImage(seq);
      if (image === undefined)
        throw adminError(AdminErrorCode.notFound, `event ${seq} has no screenshot`, 404);
      return image;
    },

    async listAlerts(query: {
      limit: number;
      before?: number;
      rule?: string;
      destination?: string;
      status?: NotificationStatus;
    }): Promise<{ alerts: AlertView[]; next?: number }> {
      // Notifications of one alert sit side by side, so a page of `limit` alerts needs at most a few
      // times `limit` notifications; grouping then loads each alert's deliveries whole.
      const views = await store.admin.listNotifications({
        limit: query.limit * 4 + 1,
        ...(query.before !== undefined ? { beforeSeq: query.before } : {}),
        ...(query.rule !== undefined ? { rule: query.rule } : {}),
        ...(query.destination !== undefined ? { destination: query.destination } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
      });
      const order: string[] = [];
      const lowestSeq = new Map<string, number>();
      for (const view of views) {
        if (!lowestSeq.has(view.alert.id)) order.push(view.alert.id);
        lowestSeq.set(view.alert.id, view.seq);
      }
      const pageIds = order.slice(0, query.limit);
      const alerts = await alertsOf(views.filter((view) => pageIds.includes(view.alert.id)));
      alerts.sort((a, b) => pageIds.indexOf(a.alert.id) - pageIds.indexOf(b.alert.id));
      const more = order.length > query.limit || views.length > query.limit * 4;
      const lastId = pageIds[pageIds.length - 1];
      const next = lastId === undefined ? undefined : lowestSeq.get(lastId);
      return more && next !== undefined ? { alerts, next } : { alerts };
    },

    async getAlert(id: string): Promise<AlertView & { previews: AlertPreviews }> {
      const views = await store.admin.listNotifications({ limit: 100, alertId: id, withAttempts: true });
      const [alert] = await alertsOf(views);
      if (alert === undefined) throw adminError(AdminErrorCode.notFound, 'no such alert', 404);
      return { ...alert, previews: previewsOf(alert.alert) };
    },

    /** emailSubjectPrefix returns the subject prefix of the alert's first email destination, if any. */
    emailSubjectPrefix(alert: AlertView): string | undefined {
      const configured = context.config().raw.destinations;
      for (const delivery of alert.deliveries) {
        const destination = configured[delivery.destination];
        if (destination?.type === 'email' && destination.subjectPrefix) return destination.subjectPrefix;
      }
      return undefined;
    },

    async deadLetters(query: { limit: number; destination?: string }): Promise<DeadLetter[]> {
      const hidden = await secrets();
      const dead = await store.deadLetters.listDead({
        limit: query.limit,
        ...(query.destination !== undefined ? { destination: query.destination } : {}),
      });
      return dead.map((letter) => ({ ...letter, reason: redact(letter.reason, hidden) }));
    },

    /** countDead says how many dead letters a replay of this selection would move (for the confirmation). */
    async countDead(selection: { ids?: string[]; destination?: string; all?: boolean }): Promise<number> {
      if (selection.ids !== undefined) {
        const found = await Promise.all(selection.ids.map((id) => store.admin.getNotification(id)));
        return found.filter((view) => view?.status === 'dead').length;
      }
      const backlog = (await store.admin.overview(clock.now())).backlog;
      return backlog
        .filter((entry) => selection.all === true || entry.destination === selection.destination)
        .reduce((sum, entry) => sum + entry.dead, 0);
    },

    async replay(selection: { ids?: string[]; destination?: string; all?: boolean }): Promise<number> {
      const now = clock.now();
      if (selection.ids !== undefined) return store.deadLetters.replayDead({ ids: selection.ids, now });
      if (selection.destination !== undefined) {
        return store.deadLetters.replayDead({ destination: selection.destination, now });
      }
      return store.deadLetters.replayDead({ all: true, now });
    },

    destinations,

    async resume(name: string): Promise<boolean> {
      const resumed = await store.deadLetters.resumeDestination(name);
      if (!resumed && !(name in context.config().raw.destinations)) {
        throw adminError(AdminErrorCode.notFound, `no destination "${name}" is configured or paused`, 404);
      }
      return resumed;
    },

    async silences(query: { all: boolean; limit: number }): Promise<SilenceView[]> {
      const now = clock.now();
      const list = await store.silences.list(
        query.all ? { limit: query.limit } : { limit: query.limit, endsAfter: now },
      );
      return list.map(silenceView);
    },

    async getSilence(id: string): Promise<SilenceView> {
      const silence = await store.silences.get(id);
      if (silence === undefined) throw adminError(AdminErrorCode.notFound, 'no such silence', 404);
      return silenceView(silence);
    },

    silenceView,

    async rules(): Promise<RuleView[]> {
      const hidden = await secrets();
      const activity = new Map((await store.admin.ruleActivity()).map((entry) => [entry.rule, entry]));
      return context.config().ruleSet.rules.map((rule) => {
        const config = rule.config as unknown as Record<string, unknown>;
        const on = rule.config.absent === undefined ? rule.config.on : rule.config.absent.on;
        const { name: _name, to: _to, ...settings } = config;
        const view: RuleView = {
          name: rule.name,
          kind: rule.kind,
          on: on === undefined ? [] : Array.isArray(on) ? on : [on],
          to: [...rule.to],
          severity: rule.severity,
          description: describeRule(config),
          settings: redact(settings, hidden),
          alerts: activity.get(rule.name)?.alerts ?? 0,
        };
        const lastAt = activity.get(rule.name)?.lastAt;
        if (lastAt !== undefined) view.lastAlertAt = lastAt;
        return view;
      });
    },

    /** yamlSilences lists the rules file's own silences (they are edited in the file, not here). */
    async yamlSilences() {
      const hidden = await secrets();
      return redact(context.config().raw.silences, hidden);
    },

    /** alertsSince returns recent alerts (one per alert id), newest first, for a silence preview. */
    async alertsSince(since: number, limit: number): Promise<Alert[]> {
      const views = await store.admin.listNotifications({ limit: limit * 4, createdFrom: since });
      const seen = new Set<string>();
      const alerts: Alert[] = [];
      for (const view of views) {
        if (seen.has(view.alert.id)) continue;
        seen.add(view.alert.id);
        alerts.push(view.alert);
        if (alerts.length >= limit) break;
      }
      return alerts;
    },

    personOf,
    eventView,
  };
}

/** silenceSubject is what silence matchers see for a stored alert, as the engine's gate builds it. */
export function silenceSubject(alert: Alert, person: Person | undefined): Record<string, unknown> {
  const item: Partial<Item> = alert.item ?? {};
  const user = item.user ?? alert.user ?? alert.key;
  return {
    ...item,
    user,
    person: item.person ?? alert.person ?? person,
    rule: alert.rule,
    key: alert.key,
    severity: alert.severity,
  };
}
