import { z } from 'zod';
import { AdminErrorCode, adminError } from '../admin/errors.js';
import { HookrelayError } from '../lib/errors.js';
import type { DeadLetter, DeadQuery, PausedDestination, Store } from '../store/ports.js';
import { adminTargetOf, createAdminClient } from './admin-client.js';

/*
 * What `hookrelay dlq` acts on: the database (the store, as before) or a running relay's admin API
 * (`--url`, HOOKRELAY_ADMIN_URL), so the same commands, words and exit codes work against a relay in a
 * container or on PostgreSQL elsewhere. The API's answers are checked with zod before they are shown.
 */

/** ReplaySelection is exactly one of: some ids, one destination, or all. */
export type ReplaySelection = { ids: string[] } | { destination: string } | { all: true };

/** DlqTarget is the dead-letter operations `dlq` needs, on one store or one admin API. */
export interface DlqTarget {
  listDead(query: DeadQuery): Promise<DeadLetter[]>;
  /** replay resolves with how many dead letters were requeued (due now). */
  replay(selection: ReplaySelection): Promise<number>;
  listPaused(): Promise<PausedDestination[]>;
  /** resume resolves false when the destination was not paused. */
  resume(destination: string): Promise<boolean>;
  /** pending is how many notifications of the destination wait to be sent. */
  pending(destination: string): Promise<number>;
  close(): Promise<void>;
}

/** localTarget works on the store (the database file named by HOOKRELAY_DB). */
export function localTarget(store: Store): DlqTarget {
  return {
    listDead: (query) => store.deadLetters.listDead(query),
    replay: (selection) => store.deadLetters.replayDead({ ...selection, now: Date.now() }),
    listPaused: () => store.deadLetters.listPausedDestinations(),
    resume: (destination) => store.deadLetters.resumeDestination(destination),
    pending: async (destination) => (await store.outbox.pendingCounts())[destination] ?? 0,
    close: () => store.close(),
  };
}

const attemptSchema = z.looseObject({
  at: z.number(),
  durationMs: z.number(),
  outcome: z.enum(['delivered', 'retry', 'dead', 'broken']),
  reason: z.string().optional(),
  detail: z.string().optional(),
});

const deadLettersAnswer = z.object({
  deadLetters: z.array(
    z.looseObject({
      notification: z.looseObject({
        id: z.string(),
        destination: z.string(),
        alert: z.looseObject({ id: z.string(), rule: z.string() }),
        createdAt: z.number(),
        requestId: z.string().optional(),
      }),
      eventSeq: z.number().optional(),
      reason: z.string(),
      deadAt: z.number(),
      attempts: z.array(attemptSchema),
    }),
  ),
});

const destinationsAnswer = z.object({
  destinations: z.array(
    z.looseObject({
      name: z.string(),
      pending: z.number(),
      paused: z.object({ reason: z.string(), pausedAt: z.number() }).optional(),
    }),
  ),
});

const replayAnswer = z.object({ replayed: z.number() });
const resumeAnswer = z.object({ resumed: z.boolean() });

/** checked parses an admin API answer, or says the URL is not the admin API it should be. */
function checked<T>(schema: z.ZodType<T>, answer: unknown, what: string): T {
  const parsed = schema.safeParse(answer);
  if (!parsed.success) {
    throw adminError(
      AdminErrorCode.badResponse,
      `the admin API's answer to ${what} is not what this hookrelay reads`,
    );
  }
  return parsed.data;
}

/** remoteTarget works through the admin API at `--url` (or HOOKRELAY_ADMIN_URL), with HOOKRELAY_ADMIN_TOKEN. */
export function remoteTarget(
  url: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): DlqTarget {
  const client = createAdminClient(adminTargetOf(url, env));
  const destinations = async () =>
    checked(destinationsAnswer, await client.get('/api/v1/destinations'), 'GET /api/v1/destinations')
      .destinations;
  return {
    async listDead(query) {
      const answer = await client.get('/api/v1/dead-letters', {
        limit: query.limit,
        destination: query.destination,
      });
      // The schema checks what is shown; the shape is the store's DeadLetter, sent as JSON.
      return checked(deadLettersAnswer, answer, 'GET /api/v1/dead-letters')
        .deadLetters as unknown as DeadLetter[];
    },
    async replay(selection) {
      const answer = await client.post('/api/v1/dead-letters/replay', selection);
      return checked(replayAnswer, answer, 'POST /api/v1/dead-letters/replay').replayed;
    },
    async listPaused() {
      return (await destinations()).flatMap((d) =>
        d.paused ? [{ destination: d.name, reason: d.paused.reason, pausedAt: d.paused.pausedAt }] : [],
      );
    },
    async resume(destination) {
      try {
        const answer = await client.post(`/api/v1/destinations/${encodeURIComponent(destination)}/resume`);
        return checked(resumeAnswer, answer, 'POST /api/v1/destinations/:name/resume').resumed;
      } catch (error) {
        // 404: neither configured nor paused; `dlq resume` words that itself, as it does locally.
        if (error instanceof HookrelayError && error.statusCode === 404) return false;
        throw error;
      }
    },
    async pending(destination) {
      return (await destinations()).find((d) => d.name === destination)?.pending ?? 0;
    },
    close: async () => undefined,
  };
}

/**
 * takeUrlOption removes `--url VALUE` / `--url=VALUE` from a subcommand's arguments (before a `--`), so
 * each subcommand's own options stay as they are. It throws a TypeError (a usage error) for a bare --url.
 */
export function takeUrlOption(args: readonly string[]): { url: string | undefined; args: string[] } {
  const rest: string[] = [];
  let url: string | undefined;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === '--') {
      rest.push(...args.slice(index));
      break;
    }
    if (arg === '--url' || arg.startsWith('--url=')) {
      if (arg === '--url') index += 1;
      const value = arg === '--url' ? args[index] : arg.slice('--url='.length);
      if (value === undefined || value.trim() === '' || value.startsWith('--')) {
        throw new TypeError('--url needs the admin URL, such as http://127.0.0.1:3001');
      }
      url = value;
      continue;
    }
    rest.push(arg);
  }
  return { url, args: rest };
}
