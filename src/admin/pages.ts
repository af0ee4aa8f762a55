import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AdminErrorCode, adminError } from './errors.js';
import { intField, optionalText, parseTime, parseWith } from './params.js';
import { emailHtmlOf } from './previews.js';
import { alertQueryOf, eventQueryOf, replaySelectionOf } from './requests.js';
import type { AdminActions } from './server.js';
import { OVERVIEW_MINUTES } from './service.js';

/*
 * The dashboard's pages: server-rendered HTML (views/*.liquid), each working without JavaScript; htmx
 * (vendored) swaps parts of a page where that reads better, and app.js keeps the overview live. Forms
 * post to the page routes below, which call the same operations as the JSON API, then redirect (so a
 * reload never posts twice) or render the page with the result.
 */

export const NAV = [
  { path: '/', page: 'overview', label: 'Overview' },
  { path: '/events', page: 'events', label: 'Events' },
  { path: '/alerts', page: 'alerts', label: 'Alerts' },
  { path: '/dead-letters', page: 'dead-letters', label: 'Dead letters' },
  { path: '/destinations', page: 'destinations', label: 'Destinations' },
  { path: '/silences', page: 'silences', label: 'Silences' },
  { path: '/rules', page: 'rules', label: 'Rules' },
  { path: '/playground', page: 'playground', label: 'Playground' },
];

/** Durations the silence form offers. */
const SILENCE_DURATIONS = ['30m', '1h', '2h', '4h', '8h', '1d', '3d', '1w'];

/** Notices after a redirect: a code in the query picks the text, so no page text comes from a URL. */
function noticeOf(query: Record<string, unknown>): string {
  const count = typeof query['count'] === 'string' ? Number(query['count']) : Number.NaN;
  const name = typeof query['name'] === 'string' ? query['name'].slice(0, 200) : '';
  switch (query['done']) {
    case 'replayed':
      return `${Number.isFinite(count) ? count : 0} dead letter(s) replayed: they are pending again.`;
    case 'resumed':
      return `Destination ${name} resumed.`;
    case 'not-paused':
      return `Destination ${name} was not paused.`;
    case 'silenced':
      return 'Silence created. Matching alerts are muted from now on.';
    case 'expired':
      return 'Silence expired. Matching alerts are sent again.';
    case 'extended':
      return 'Silence extended.';
    default:
      return '';
  }
}

/** matchersFromForm builds `{ rule, path: value, … }` from the silence form's rows. */
export function matchersFromForm(form: Record<string, unknown>): Record<string, unknown> {
  const matchers: Record<string, unknown> = {};
  const text = (key: string) => (typeof form[key] === 'string' ? (form[key] as string).trim() : '');
  if (text('rule') !== '') matchers['rule'] = text('rule');
  for (let i = 1; i <= 4; i++) {
    const field = text(`field${i}`);
    if (field === '') continue;
    const value = text(`value${i}`);
    // Forms send text; true/false are the booleans of fields such as screenshot.isIdle.
    matchers[field] = value === 'true' ? true : value === 'false' ? false : value;
  }
  return matchers;
}

/** SPARK_HEIGHT is the sparkline's drawing height; bars are 8 wide with a gap of 2 (see spark.liquid). */
const SPARK_HEIGHT = 26;

/** sparkBars lays out one bar per minute, scaled to the largest count on the page (SVG attributes, no styles). */
export function sparkBars(
  perMinute: number[],
  max: number,
): Array<{ x: number; y: number; h: number; n: number }> {
  return perMinute.map((n, i) => {
    const h = n === 0 ? 1 : Math.max(2, Math.round((n / max) * SPARK_HEIGHT));
    return { x: i * 10, y: 28 - h, h, n };
  });
}

function redirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header('location', location).send();
}

/** safeNext keeps a post-login target on this site: a path, never `//host` or a scheme. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

/** registerPages adds the HTML routes. */
export function registerPages(server: FastifyInstance, actions: AdminActions): void {
  const { service, silences, views, auth, now } = actions;

  const render = async (
    request: FastifyRequest,
    reply: FastifyReply,
    template: string,
    data: Record<string, unknown>,
    status = 200,
  ) => {
    let identity = actions.identity(request);
    // A first visit without a token configured gets a session, only to carry its CSRF token.
    if (identity.kind === 'open') {
      identity = auth.startSession(request, reply);
      actions.setIdentity(request, identity);
    }
    const html = await views.renderFile(template, {
      nav: NAV,
      page: template,
      csrfToken: identity.kind === 'session' ? identity.csrfToken : '',
      tokenRequired: auth.tokenRequired,
      loggedIn: identity.kind === 'session' && auth.tokenRequired,
      notice: noticeOf(request.query as Record<string, unknown>),
      now: now(),
      ...data,
    });
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  };

  server.get('/login', async (request, reply) => {
    if (!auth.tokenRequired) return redirect(reply, '/');
    const next = safeNext((request.query as Record<string, unknown>)['next']);
    const html = await views.renderFile('login', { page: 'login', next, error: '', tokenRequired: true });
    return reply.type('text/html; charset=utf-8').send(html);
  });

  server.post('/login', async (request, reply) => {
    if (!auth.tokenRequired) return redirect(reply, '/');
    auth.checkOrigin(request);
    const body = parseWith(
      z.object({ token: z.string().max(1_000), next: z.string().optional() }),
      request.body,
      'form',
    );
    const next = safeNext(body.next);
    if (!auth.tokenMatches(body.token.trim())) {
      request.log.warn(
        { code: AdminErrorCode.unauthorized, ip: request.ip },
        'admin login refused: wrong token',
      );
      const html = await views.renderFile('login', {
        page: 'login',
        next,
        error: 'That token is not right.',
        tokenRequired: true,
      });
      return reply.code(401).type('text/html; charset=utf-8').send(html);
    }
    auth.startSession(request, reply);
    return redirect(reply, next);
  });

  server.post('/logout', async (request, reply) => {
    auth.endSession(request, reply);
    return redirect(reply, auth.tokenRequired ? '/login' : '/');
  });

  server.get('/', async (request, reply) => {
    const [overview, events, alerts] = await Promise.all([
      service.overview(),
      service.listEvents({ limit: 10 }),
      service.listAlerts({ limit: 10 }),
    ]);
    const withBars = (
      rows: Array<{ name: string; perMinute: number[]; lastMinute: number; total: number }>,
    ) => {
      const max = Math.max(1, ...rows.flatMap((row) => row.perMinute));
      return rows.map((row) => ({ ...row, bars: sparkBars(row.perMinute, max) }));
    };
    return render(request, reply, 'overview', {
      overview,
      sources: withBars(overview.sources),
      rules: withBars(overview.rules),
      paused: overview.destinations.filter((destination) => destination.paused !== undefined),
      events: events.events,
      alerts: alerts.alerts,
      minutes: OVERVIEW_MINUTES,
    });
  });

  server.get('/events', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const result = await service.listEvents(eventQueryOf(query, now));
    const filters = Object.fromEntries(
      ['source', 'type', 'user', 'since', 'until'].map((key) => [
        key,
        typeof query[key] === 'string' ? query[key] : '',
      ]),
    );
    const params = new URLSearchParams(
      Object.entries(filters).filter(([, value]) => value !== '') as Array<[string, string]>,
    );
    if (result.next !== undefined) params.set('before', String(result.next));
    return render(request, reply, 'events', {
      events: result.events,
      filters,
      sources: service.sourceNames(),
      nextUrl: result.next === undefined ? '' : `/events?${params.toString()}`,
    });
  });

  server.get('/events/:seq', async (request, reply) => {
    const { seq } = parseWith(z.object({ seq: intField }), request.params, 'path');
    const detail = await service.getEvent(seq);
    return render(request, reply, 'event', {
      ...detail,
      raw: detail.raw === undefined ? '' : JSON.stringify(detail.raw, null, 2),
      rawText: detail.rawText ?? '',
      screenshot: detail.screenshot ?? '',
      item: JSON.stringify(detail.event.item, null, 2),
    });
  });

  server.get('/alerts', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const parsed = alertQueryOf(query);
    const result = await service.listAlerts(parsed);
    const params = new URLSearchParams();
    for (const key of ['rule', 'destination', 'status'] as const) {
      const value = parsed[key];
      if (value !== undefined) params.set(key, value);
    }
    if (result.next !== undefined) params.set('before', String(result.next));
    return render(request, reply, 'alerts', {
      alerts: result.alerts,
      filters: {
        rule: parsed.rule ?? '',
        destination: parsed.destination ?? '',
        status: parsed.status ?? '',
      },
      rules: service.ruleNames(),
      destinations: Object.keys(service.destinationTypes()),
      nextUrl: result.next === undefined ? '' : `/alerts?${params.toString()}`,
    });
  });

  server.get('/alerts/:id', async (request, reply) => {
    const { id } = parseWith(z.object({ id: z.string().min(1).max(200) }), request.params, 'path');
    const alert = await service.getAlert(id);
    return render(request, reply, 'alert', {
      view: alert,
      alertJson: JSON.stringify(alert.alert, null, 2),
      silenceUser: alert.alert.user ?? '',
    });
  });

  server.get('/alerts/:id/email-preview', async (request, reply) => {
    const { id } = parseWith(z.object({ id: z.string().min(1).max(200) }), request.params, 'path');
    const alert = await service.getAlert(id);
    const html = emailHtmlOf(alert.alert, service.emailSubjectPrefix(alert));
    // The email's HTML as sent: its own inline styles, no script of any kind, framed by this site only.
    return reply
      .header(
        'content-security-policy',
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'",
      )
      .header('x-frame-options', 'SAMEORIGIN')
      .type('text/html; charset=utf-8')
      .send(html);
  });

  server.get('/dead-letters', async (request, reply) => {
    const query = parseWith(z.object({ destination: optionalText }).passthrough(), request.query, 'query');
    const deadLetters = await service.deadLetters({
      limit: 500,
      ...(query.destination !== undefined ? { destination: query.destination } : {}),
    });
    const destinations = await service.destinations();
    return render(request, reply, 'dead-letters', {
      deadLetters,
      destination: query.destination ?? '',
      destinations: destinations.filter((d) => d.dead > 0),
      confirm: false,
      selection: {},
      matching: 0,
      ids: [],
    });
  });

  server.post('/dead-letters/replay', async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    const selection = replaySelectionOf({ ...body, dryRun: undefined });
    if (body['confirm'] !== 'yes') {
      const matching = await service.countDead(selection);
      return render(request, reply, 'dead-letters', {
        deadLetters: [],
        destination: '',
        destinations: [],
        confirm: true,
        selection,
        ids: selection.ids ?? [],
        matching,
      });
    }
    const replayed = await service.replay(selection);
    request.log.info({ replayed }, 'dead letters replayed from the dashboard');
    return redirect(reply, `/dead-letters?done=replayed&count=${replayed}`);
  });

  server.get('/destinations', async (request, reply) =>
    render(request, reply, 'destinations', { destinations: await service.destinations() }),
  );

  server.post('/destinations/:name/resume', async (request, reply) => {
    const { name } = parseWith(z.object({ name: z.string().min(1).max(200) }), request.params, 'path');
    const resumed = await service.resume(name);
    const params = new URLSearchParams({ done: resumed ? 'resumed' : 'not-paused', name });
    return redirect(reply, `/destinations?${params.toString()}`);
  });

  const silencesPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
  ) => {
    const query = request.query as Record<string, unknown>;
    const prefill = (key: string) => (typeof query[key] === 'string' ? (query[key] as string) : '');
    return render(
      request,
      reply,
      'silences',
      {
        silences: await service.silences({ all: true, limit: 200 }),
        fileSilences: await service.yamlSilences(),
        rules: service.ruleNames(),
        durations: SILENCE_DURATIONS,
        form: { rule: prefill('rule'), field1: prefill('user') ? 'user' : '', value1: prefill('user') },
        preview: null,
        formError: '',
        ...extra,
      },
      status,
    );
  };

  server.get('/silences', async (request, reply) => silencesPage(request, reply, {}));

  const silenceForm = z
    .object({
      rule: z.string().optional(),
      duration: z.string().optional(),
      until: z.string().optional(),
      comment: z.string().optional(),
      createdBy: z.string().optional(),
    })
    .passthrough();

  server.post('/silences', async (request, reply) => {
    const form = parseWith(silenceForm, request.body, 'form') as Record<string, unknown>;
    const current = now();
    const until =
      typeof form['until'] === 'string' && form['until'] !== ''
        ? parseTime(`${form['until']}Z`.replace('ZZ', 'Z'), current)
        : undefined;
    const duration =
      typeof form['duration'] === 'string' ? parseTime(form['duration'], current, 'future') : undefined;
    try {
      await silences.create({
        matchers: matchersFromForm(form),
        endsAt: until ?? duration ?? Number.NaN,
        comment:
          typeof form['comment'] === 'string' && form['comment'].trim() !== ''
            ? form['comment'].trim()
            : 'created on the dashboard',
        createdBy:
          typeof form['createdBy'] === 'string' && form['createdBy'].trim() !== ''
            ? form['createdBy'].trim()
            : 'dashboard',
      });
    } catch (error) {
      if (error instanceof Error && 'statusCode' in error && error.statusCode === 400) {
        return silencesPage(request, reply, { form, formError: error.message }, 400);
      }
      throw error;
    }
    return redirect(reply, '/silences?done=silenced');
  });

  server.post('/silences/preview', async (request, reply) => {
    const form = parseWith(silenceForm, request.body, 'form') as Record<string, unknown>;
    try {
      const preview = await silences.preview(matchersFromForm(form));
      return silencesPage(request, reply, { form, preview });
    } catch (error) {
      if (error instanceof Error && 'statusCode' in error && error.statusCode === 400) {
        return silencesPage(request, reply, { form, formError: error.message }, 400);
      }
      throw error;
    }
  });

  server.post('/silences/:id/expire', async (request, reply) => {
    const { id } = parseWith(z.object({ id: z.string().min(1).max(200) }), request.params, 'path');
    await silences.expire(id);
    return redirect(reply, '/silences?done=expired');
  });

  server.post('/silences/:id/extend', async (request, reply) => {
    const { id } = parseWith(z.object({ id: z.string().min(1).max(200) }), request.params, 'path');
    const { duration } = parseWith(z.object({ duration: z.string() }).passthrough(), request.body, 'form');
    const silence = await service.getSilence(id);
    const ms = parseTime(duration, 0, 'future');
    if (ms === undefined) throw adminError(AdminErrorCode.badRequest, 'duration: expected e.g. 2h', 400);
    await silences.extend(id, Math.max(silence.endsAt, now()) + ms);
    return redirect(reply, '/silences?done=extended');
  });

  const rulesPage = async (request: FastifyRequest, reply: FastifyReply, reload: unknown, status = 200) =>
    render(
      request,
      reply,
      'rules',
      {
        rules: await service.rules(),
        fileSilences: await service.yamlSilences(),
        reload,
        configFile: service.configFile(),
      },
      status,
    );

  server.get('/rules', async (request, reply) => rulesPage(request, reply, null));

  server.post('/rules/reload', async (request, reply) => {
    const outcome = await actions.reload();
    return rulesPage(request, reply, outcome, outcome.ok ? 200 : 422);
  });

  const playgroundPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status = 200,
  ) =>
    render(
      request,
      reply,
      'playground',
      {
        sources: service.sourceNames(),
        recent: (await service.listEvents({ limit: 15 })).events,
        payload: '',
        source: '',
        seq: '',
        result: null,
        error: '',
        ...extra,
      },
      status,
    );

  server.get('/playground', async (request, reply) => {
    const { seq } = parseWith(
      z.object({ seq: z.union([z.literal(''), intField]).optional() }),
      request.query,
      'query',
    );
    if (seq === undefined || seq === '') return playgroundPage(request, reply, {});
    const event = await service.getEvent(seq);
    return playgroundPage(request, reply, {
      seq: String(seq),
      payload: event.raw === undefined ? (event.rawText ?? '') : JSON.stringify(event.raw, null, 2),
      source: event.event.item.source,
      result: await actions.evaluate({ seq }),
    });
  });

  server.post('/playground', async (request, reply) => {
    const form = parseWith(
      z.object({
        payload: z.string().max(12 * 1024 * 1024),
        source: optionalText,
        _csrf: z.string().optional(),
      }),
      request.body,
      'form',
    );
    let payload: unknown;
    try {
      payload = JSON.parse(form.payload);
    } catch {
      return playgroundPage(
        request,
        reply,
        { payload: form.payload, source: form.source ?? '', error: 'The event is not valid JSON.' },
        400,
      );
    }
    try {
      const result = await actions.evaluate({ payload, ...(form.source ? { source: form.source } : {}) });
      return playgroundPage(request, reply, { payload: form.payload, source: form.source ?? '', result });
    } catch (error) {
      if (error instanceof Error && 'statusCode' in error && error.statusCode === 400) {
        return playgroundPage(
          request,
          reply,
          { payload: form.payload, source: form.source ?? '', error: error.message },
          400,
        );
      }
      throw error;
    }
  });
}
