import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AdminErrorCode, adminError } from './errors.js';
import type { EvaluateInput } from './evaluate.js';
import { intField, limitField, optionalText, parseWith, timeField } from './params.js';
import { alertQueryOf, eventQueryOf, replaySelectionOf, silenceInputOf } from './requests.js';
import type { AdminActions } from './server.js';
import type { ReloadOutcome } from './service.js';

/*
 * The JSON API under /api/v1 (documented in the README's Dashboard section). The page and the CLI use
 * it; scripts may rely on its paths and field names. Errors are `{ error: { code, message } }`.
 */

/** Image types the screenshot route serves inline; anything else is sent as a download. */
const INLINE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** registerApi adds the /api/v1 routes. */
export function registerApi(server: FastifyInstance, actions: AdminActions): void {
  const { service, silences, evaluate, stream, now } = actions;

  const seqParams = z.object({ seq: intField });
  const idParams = z.object({ id: z.string().min(1).max(200) });

  server.get('/api/v1/overview', async () => service.overview());

  server.get('/api/v1/events', async (request) => service.listEvents(eventQueryOf(request.query, now)));

  server.get('/api/v1/events/:seq', async (request) => {
    const { seq } = parseWith(seqParams, request.params, 'path');
    return service.getEvent(seq);
  });

  server.get('/api/v1/events/:seq/screenshot', async (request, reply) => {
    const { seq } = parseWith(seqParams, request.params, 'path');
    const image = await service.screenshot(seq);
    const inline = INLINE_IMAGES.has(image.mime);
    reply.header('content-type', inline ? image.mime : 'application/octet-stream');
    // The bytes come from a webhook: never let a browser treat them as a page.
    reply.header('content-security-policy', "default-src 'none'; sandbox");
    if (!inline) reply.header('content-disposition', `attachment; filename="screenshot-${seq}"`);
    return reply.send(image.bytes);
  });

  server.get('/api/v1/alerts', async (request) => service.listAlerts(alertQueryOf(request.query)));

  server.get('/api/v1/alerts/:id', async (request) => {
    const { id } = parseWith(idParams, request.params, 'path');
    return service.getAlert(id);
  });

  const deadQuery = z.object({ destination: optionalText, limit: limitField(100, 1_000) });
  server.get('/api/v1/dead-letters', async (request) => {
    const query = parseWith(deadQuery, request.query, 'query');
    const deadLetters = await service.deadLetters({
      limit: query.limit,
      ...(query.destination !== undefined ? { destination: query.destination } : {}),
    });
    return { deadLetters };
  });

  server.post('/api/v1/dead-letters/replay', async (request) => {
    const selection = replaySelectionOf(request.body);
    if (selection.dryRun) return { matching: await service.countDead(selection) };
    const replayed = await service.replay(selection);
    request.log.info({ replayed, ...selection }, 'dead letters replayed from the admin API');
    return { replayed };
  });

  server.get('/api/v1/destinations', async () => ({ destinations: await service.destinations() }));

  server.post('/api/v1/destinations/:name/resume', async (request) => {
    const { name } = parseWith(z.object({ name: z.string().min(1).max(200) }), request.params, 'path');
    const resumed = await service.resume(name);
    request.log.info({ destination: name, resumed }, 'destination resume asked from the admin API');
    return { destination: name, resumed };
  });

  const silencesQuery = z.object({
    all: z
      .enum(['true', 'false', '1', '0'])
      .optional()
      .transform((value) => value === 'true' || value === '1'),
    limit: limitField(200, 1_000),
  });
  server.get('/api/v1/silences', async (request) => {
    const query = parseWith(silencesQuery, request.query, 'query');
    return { silences: await service.silences(query) };
  });

  server.post('/api/v1/silences', async (request, reply) => {
    const silence = await silences.create(silenceInputOf(request.body, now));
    return reply.code(201).send(silence);
  });

  server.post('/api/v1/silences/preview', async (request) => {
    const { matchers } = parseWith(
      z.object({ matchers: z.record(z.string(), z.unknown()) }),
      request.body,
      'body',
    );
    return silences.preview(matchers);
  });

  server.get('/api/v1/silences/:id', async (request) => {
    const { id } = parseWith(idParams, request.params, 'path');
    return service.getSilence(id);
  });

  server.post('/api/v1/silences/:id/expire', async (request) => {
    const { id } = parseWith(idParams, request.params, 'path');
    return silences.expire(id);
  });

  server.post('/api/v1/silences/:id/extend', async (request) => {
    const { id } = parseWith(idParams, request.params, 'path');
    const { endsAt } = parseWith(z.object({ endsAt: timeField(now, 'future') }), request.body, 'body');
    return silences.extend(id, endsAt);
  });

  server.get('/api/v1/rules', async () => ({
    rules: await service.rules(),
    silences: {
      file: await service.yamlSilences(),
      stored: await service.silences({ all: false, limit: 1_000 }),
    },
  }));

  const evaluateBody = z.union([
    z.object({ seq: intField }).strict(),
    z.object({ payload: z.unknown(), source: optionalText }).strict(),
  ]);
  server.post('/api/v1/evaluate', async (request) => {
    const body = parseWith(evaluateBody, request.body, 'body');
    const input: EvaluateInput =
      'seq' in body
        ? { seq: body.seq }
        : { payload: body.payload, ...(body.source !== undefined ? { source: body.source } : {}) };
    if (!('seq' in input) && input.payload === undefined) {
      throw adminError(AdminErrorCode.badRequest, 'body: give "payload" (a webhook body) or "seq"', 400);
    }
    return evaluate(input);
  });

  server.get('/api/v1/stream', async (_request, reply) => stream.handle(reply, actions.securityHeaders()));

  server.post('/api/v1/reload', async (_request, reply) => {
    const outcome: ReloadOutcome = await actions.reload();
    if (outcome.ok) return outcome;
    return reply.code(422).send({
      ok: false,
      error: {
        code: AdminErrorCode.reloadRejected,
        message: 'the rules file was not reloaded; the running configuration stays',
      },
      errors: outcome.errors,
    });
  });
}
