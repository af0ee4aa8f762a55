import type { Alert } from '../domain/alert.js';
import { checkMatchers, compileStoredSilence } from '../evaluate/stored-silences.js';
import type { SilenceMatchers } from '../store/admin-ports.js';
import { AdminErrorCode, adminError } from './errors.js';
import { type AdminContext, type AdminService, silenceSubject } from './service.js';
import type { SilenceView } from './view-types.js';

/*
 * Creating, previewing, expiring and extending stored silences. Every change is followed by a refresh of
 * the evaluator's silences before the call resolves, so the next alert evaluated after a 2xx already
 * sees it (and another instance sees it within its poll interval).
 */

/** How far back a preview looks for alerts a new silence would have muted. */
export const PREVIEW_WINDOW_MS = 24 * 3_600_000;
/** Most recent alerts a preview tests. */
const PREVIEW_SCAN = 2_000;

/** SilenceInput is a silence as the API, the page and the CLI give it (times in epoch ms). */
export interface SilenceInput {
  matchers: SilenceMatchers;
  startsAt?: number;
  endsAt: number;
  comment: string;
  createdBy: string;
}

/** SilencePreview says which recent alerts a silence would have muted. */
export interface SilencePreview {
  windowMs: number;
  scanned: number;
  matched: number;
  sample: Array<Pick<Alert, 'id' | 'rule' | 'title' | 'severity' | 'at' | 'key'>>;
}

function matchersOrThrow(matchers: SilenceMatchers): void {
  const problems = checkMatchers(matchers);
  if (problems.length > 0) {
    const text = problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
    throw adminError(AdminErrorCode.badRequest, `matchers: ${text}`, 400);
  }
}

/** createSilenceActions builds the silence operations. */
export function createSilenceActions(context: AdminContext, service: AdminService) {
  const { store, clock } = context;
  return {
    async create(input: SilenceInput): Promise<SilenceView> {
      matchersOrThrow(input.matchers);
      const now = clock.now();
      if (!(input.endsAt > now))
        throw adminError(AdminErrorCode.badRequest, 'endsAt must be in the future', 400);
      if (input.startsAt !== undefined && !(input.endsAt > input.startsAt)) {
        throw adminError(AdminErrorCode.badRequest, 'endsAt must be after startsAt', 400);
      }
      const created = await store.silences.create({
        matchers: input.matchers,
        ...(input.startsAt !== undefined ? { startsAt: input.startsAt } : {}),
        endsAt: input.endsAt,
        comment: input.comment,
        createdBy: input.createdBy,
        createdAt: now,
      });
      await context.refreshSilences();
      context.logger.info({ silence: created.id, createdBy: created.createdBy }, 'silence created');
      return service.silenceView(created);
    },

    async preview(matchers: SilenceMatchers): Promise<SilencePreview> {
      matchersOrThrow(matchers);
      const now = clock.now();
      const silence = compileStoredSilence(
        {
          id: 'preview',
          matchers,
          endsAt: Number.MAX_SAFE_INTEGER,
          comment: '',
          createdBy: '',
          createdAt: now,
        },
        0,
      );
      const alerts = await service.alertsSince(now - PREVIEW_WINDOW_MS, PREVIEW_SCAN);
      const muted = alerts.filter(
        (alert) => silence?.matchers?.test(silenceSubject(alert, service.personOf(alert.user))) === true,
      );
      return {
        windowMs: PREVIEW_WINDOW_MS,
        scanned: alerts.length,
        matched: muted.length,
        sample: muted.slice(0, 20).map(({ id, rule, title, severity, at, key }) => ({
          id,
          rule,
          title,
          severity,
          at,
          key,
        })),
      };
    },

    async expire(id: string): Promise<SilenceView> {
      await service.getSilence(id);
      const expired = await store.silences.expire(id, clock.now());
      if (expired === undefined) throw adminError(AdminErrorCode.notFound, 'no such silence', 404);
      await context.refreshSilences();
      context.logger.info({ silence: id }, 'silence expired');
      return service.silenceView(expired);
    },

    async extend(id: string, endsAt: number): Promise<SilenceView> {
      const current = await service.getSilence(id);
      if (current.expiredAt !== undefined) {
        throw adminError(AdminErrorCode.conflict, 'this silence was expired; create a new one', 409);
      }
      if (!(endsAt > clock.now()))
        throw adminError(AdminErrorCode.badRequest, 'endsAt must be in the future', 400);
      if (current.startsAt !== undefined && !(endsAt > current.startsAt)) {
        throw adminError(AdminErrorCode.badRequest, 'endsAt must be after startsAt', 400);
      }
      const extended = await store.silences.extend(id, endsAt);
      if (extended === undefined) throw adminError(AdminErrorCode.notFound, 'no such silence', 404);
      await context.refreshSilences();
      return service.silenceView(extended);
    },
  };
}

export type SilenceActions = ReturnType<typeof createSilenceActions>;
