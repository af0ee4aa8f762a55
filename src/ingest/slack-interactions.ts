/**
 * `POST /integrations/slack/interactions` (DESIGN.md stable name): the Acknowledge / Silence buttons of
 * Slack alerts. Slack signs every request with the app's signing secret: `v0=` + hex HMAC-SHA256 of
 * `v0:{X-Slack-Request-Timestamp}:{raw body}` (https://docs.slack.dev/authentication/verifying-requests-from-slack).
 * A request is accepted only with a signature of a destination's `signingSecret` (constant time), a
 * timestamp within 5 minutes, and a signature not seen before in that window by any instance sharing the
 * database (kept in the store's nonces). Anything else is a 401 and
 * changes nothing. Who clicked is read only from the signed body.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../lib/clock.js';
import { ACTION_IDS, ACTIONS_BLOCK_ID } from '../render/slack-actions.js';
import type { SilenceStore } from '../store/admin-ports.js';
import type { ConversationStore } from '../store/conversation-port.js';
import type { NonceStore } from '../store/nonce-port.js';
import { hmacDigest, matchHmac } from './verify/hmac.js';

/** The path Slack's "Interactivity Request URL" points at. */
export const SLACK_INTERACTIONS_PATH = '/integrations/slack/interactions';
/** Slack's own replay window: requests older (or newer) than this are refused. */
export const REPLAY_WINDOW_MS = 5 * 60_000;
/** An interaction payload is a few kB (the message's blocks included); more is not Slack. */
const MAX_BODY_BYTES = 256 * 1024;
const HOUR_MS = 3_600_000;

/** SlackInteractionTarget is one Slack destination that has buttons: its secret and how to update its messages. */
export interface SlackInteractionTarget {
  name: string;
  signingSecret: string;
  /** update replaces a message the destination posted (chat.update); resolves with a problem or undefined. */
  update(channel: string, ts: string, text: string, blocks: unknown[]): Promise<string | undefined>;
}

export interface SlackInteractionsOptions {
  /** Read per request, so a reload swaps secrets and tokens. */
  targets: () => readonly SlackInteractionTarget[];
  silences: Pick<SilenceStore, 'create'>;
  conversations: Pick<ConversationStore, 'acknowledge'>;
  /** Where used signatures are kept for the replay window (shared by every instance on the database). */
  nonces: NonceStore;
  /** The timezone of the rule's schedule (`during`/`outside`), for "until tomorrow 09:00"; UTC otherwise. */
  timezoneOf: (rule: string) => string | undefined;
  /** untilTomorrowMorning returns tomorrow 09:00 in `timezone` after `now` (epoch ms). */
  tomorrowAt9: (now: number, timezone: string) => number;
  clock: Clock;
}

const buttonValueSchema = z.object({ d: z.string().min(1), r: z.string().min(1), k: z.string() });

/** The parts of a `block_actions` payload used here. https://docs.slack.dev/reference/interaction-payloads/block_actions-payload */
const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1), name: z.string().optional(), username: z.string().optional() }),
  container: z
    .object({ channel_id: z.string().min(1), message_ts: z.string().min(1) })
    .partial()
    .optional(),
  channel: z.object({ id: z.string().min(1) }).optional(),
  message: z
    .object({
      ts: z.string().min(1),
      text: z.string().optional(),
      blocks: z.array(z.unknown()).max(50).optional(),
    })
    .optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

type Refusal = 'unsigned' | 'stale' | 'bad signature' | 'replayed';

/**
 * verify checks the signature against every target's secret (each one compared in constant time) and
 * returns the names of the destinations whose secret signed it.
 */
function verify(
  targets: readonly SlackInteractionTarget[],
  timestamp: string,
  signature: string,
  body: Buffer,
): string[] {
  const match = /^v0=([0-9a-f]{64})$/.exec(signature);
  if (!match?.[1]) return [];
  const candidate = Buffer.from(match[1], 'hex');
  const content = ['v0:', timestamp, ':', body];
  const signedBy: string[] = [];
  for (const target of targets) {
    const key = Buffer.from(target.signingSecret, 'utf8');
    if (matchHmac({ content, candidates: [candidate], keys: [key], algorithm: 'sha256' }).matched) {
      signedBy.push(target.name);
    }
  }
  return signedBy;
}

/** escapeMrkdwn escapes the three characters Slack treats as control characters. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** stateBlocks is the original's blocks without the buttons, with the state line after the header. */
function stateBlocks(blocks: readonly unknown[], line: string): unknown[] {
  const kept = blocks.filter(
    (block) =>
      !(
        typeof block === 'object' &&
        block !== null &&
        (block as { block_id?: unknown }).block_id === ACTIONS_BLOCK_ID
      ),
  );
  const state = { type: 'section', text: { type: 'mrkdwn', text: line } };
  return kept.length === 0 ? [state] : [kept[0], state, ...kept.slice(1)];
}

/** slackInteractionRoutes registers the interactions endpoint in its own scope (its own body parser). */
export async function slackInteractionRoutes(
  fastify: FastifyInstance,
  options: SlackInteractionsOptions,
): Promise<void> {
  // The signature covers the raw bytes: every content type is read as a Buffer and verified first.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) =>
    done(null, body),
  );

  fastify.post<{ Body: Buffer | undefined }>(SLACK_INTERACTIONS_PATH, async (request, reply) => {
    const now = options.clock.now();
    const timestamp = String(request.headers['x-slack-request-timestamp'] ?? '');
    const signature = String(request.headers['x-slack-signature'] ?? '');
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const refuse = (why: Refusal) => {
      request.log.warn({ code: 'HR_ERR_SLACK_INTERACTION_REFUSED', why }, 'slack interaction refused');
      return reply.code(401).header('cache-control', 'no-store').send({ error: 'unauthorized' });
    };
    if (!/^\d{1,12}$/.test(timestamp) || signature === '') return refuse('unsigned');
    const sentAt = Number(timestamp) * 1000;
    if (Math.abs(now - sentAt) > REPLAY_WINDOW_MS) return refuse('stale');
    const signedBy = verify(options.targets(), timestamp, signature, body);
    if (signedBy.length === 0) return refuse('bad signature');
    // The signature is used once, by any instance sharing the database (a replay to another instance
    // behind the load balancer is refused too); its digest is kept until the window has passed.
    const nonce = `slack:${createHash('sha256').update(signature).digest('hex')}`;
    let fresh: boolean;
    try {
      fresh = await options.nonces.claim(nonce, sentAt + REPLAY_WINDOW_MS, now);
    } catch (error) {
      request.log.error({ err: error }, 'slack interaction not handled: the store refused its nonce');
      return reply.code(503).header('retry-after', '5').send({ error: 'unavailable' });
    }
    if (!fresh) return refuse('replayed');

    const parsed = parsePayload(body);
    if (!parsed) return reply.code(400).send({ error: 'bad request' });
    const action = parsed.actions[0];
    const value = parseValue(action?.value);
    // A button of another app, or of a destination this secret does not belong to, changes nothing.
    if (!action || !value || !signedBy.includes(value.d)) return reply.code(200).send();
    const target = options.targets().find((t) => t.name === value.d);
    const who = parsed.user.name ?? parsed.user.username ?? parsed.user.id;
    const by = `slack:${parsed.user.id} (${who})`;

    let label: string;
    if (action.action_id === ACTION_IDS.acknowledge) {
      await options.conversations.acknowledge({ rule: value.r, key: value.k }, by, now);
      label = `Acknowledged by ${who}`;
    } else if (action.action_id === ACTION_IDS.silence1h || action.action_id === ACTION_IDS.silenceTomorrow) {
      const timezone = options.timezoneOf(value.r) ?? 'UTC';
      const oneHour = action.action_id === ACTION_IDS.silence1h;
      const endsAt = oneHour ? now + HOUR_MS : options.tomorrowAt9(now, timezone);
      const until = oneHour ? 'for 1h' : `until tomorrow 09:00 (${timezone})`;
      await options.silences.create({
        matchers: { rule: value.r, key: value.k },
        endsAt,
        comment: `Silenced ${until} from Slack`,
        createdBy: by,
        createdAt: now,
      });
      label = `Silenced ${until} by ${who}`;
    } else {
      return reply.code(200).send();
    }
    request.log.info(
      { destination: value.d, rule: value.r, action: action.action_id, by },
      'slack interaction',
    );

    const channel = parsed.container?.channel_id ?? parsed.channel?.id;
    const ts = parsed.container?.message_ts ?? parsed.message?.ts;
    if (target && channel && ts && parsed.message) {
      const line = `*${escapeMrkdwn(label)}* at ${new Date(now).toISOString()}`;
      const text = `${label}: ${parsed.message.text ?? ''}`.slice(0, 3000);
      // Slack wants the answer within 3 s; the update (up to the destination's timeout) runs after it.
      void target.update(channel, ts, text, stateBlocks(parsed.message.blocks ?? [], line)).then(
        (problem) => {
          if (problem) request.log.warn({ destination: value.d, problem }, 'slack message not updated');
        },
        (error: unknown) =>
          request.log.warn({ destination: value.d, err: error }, 'slack message not updated'),
      );
    }
    return reply.code(200).send();
  });
}

function parsePayload(body: Buffer): z.infer<typeof blockActionsSchema> | undefined {
  const raw = new URLSearchParams(body.toString('utf8')).get('payload');
  if (raw === null) return undefined;
  try {
    const parsed = blockActionsSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function parseValue(raw: string | undefined): z.infer<typeof buttonValueSchema> | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = buttonValueSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** signSlackRequest signs a body as Slack does (tests, `hookrelay` tools): the `x-slack-signature` value. */
export function signSlackRequest(secret: string, timestamp: string, body: string | Buffer): string {
  const digest = hmacDigest(Buffer.from(secret, 'utf8'), 'sha256', ['v0:', timestamp, ':', body]);
  return `v0=${digest.toString('hex')}`;
}
