import type { NewEvent } from '../../domain/event.js';

/** NormalizeContext is what a normaliser knows besides the payload: the source name and the receive time. */
export interface NormalizeContext {
  source: string;
  /** Epoch ms. */
  receivedAt: number;
}

/**
 * NormalizeResult is a payload turned into items to append, or the reason it cannot be. `reason` is short,
 * holds no payload content, and is safe to return to the caller. `warnings` are for the log: they name
 * paths and shapes, never values.
 */
export type NormalizeResult =
  | { ok: true; event: string; events: NewEvent[]; warnings: string[] }
  | { ok: false; code: 'HR_ERR_PAYLOAD_INVALID'; reason: string };

/** payloadInvalid builds the failing NormalizeResult. */
export function payloadInvalid(reason: string): NormalizeResult {
  return { ok: false, code: 'HR_ERR_PAYLOAD_INVALID', reason };
}
