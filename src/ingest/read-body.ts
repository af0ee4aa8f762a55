import type { IncomingMessage } from 'node:http';
import { HookrelayError } from '../lib/errors.js';
import type { ByteBudget } from './body-budget.js';

/** BodyErrorCode is why a body was not read; each maps to the status the webhook route answers with. */
export const BodyErrorCode = {
  /** 413: over the source's maxBodySize. */
  tooLarge: 'HR_ERR_INGEST_TOO_LARGE',
  /** 503 with Retry-After: the buffered-body budget is spent; the sender may retry shortly. */
  busy: 'HR_ERR_INGEST_BUSY',
  /** 400: the body ended before its declared length, or the connection broke. */
  badRequest: 'HR_ERR_INGEST_BAD_REQUEST',
} as const;

const STATUS = { HR_ERR_INGEST_TOO_LARGE: 413, HR_ERR_INGEST_BUSY: 503, HR_ERR_INGEST_BAD_REQUEST: 400 };

function bodyError(
  code: (typeof BodyErrorCode)[keyof typeof BodyErrorCode],
  message: string,
): HookrelayError {
  return new HookrelayError(code, message, { statusCode: STATUS[code] });
}

/** ReadBodyOptions are the limits one body is read under. */
export interface ReadBodyOptions {
  /** The source's maxBodySize in bytes. */
  maxBytes: number;
  budget: ByteBudget;
}

/**
 * readBody reads a request body into one Buffer, counting every chunk against the source's limit and the
 * shared budget as it arrives, so neither is ever exceeded by more than one chunk's worth of checking. The
 * bytes go back to the budget once the body is complete or abandoned: from then on the request is
 * verified at once (the budget holds only bytes nobody has authenticated). It calls `done` exactly once,
 * with the body or a HookrelayError whose `statusCode` the route answers with; on an error it stops
 * listening, and Node discards the rest of the body.
 */
export function readBody(
  payload: IncomingMessage,
  options: ReadBodyOptions,
  done: (error: Error | null, body?: Buffer) => void,
): void {
  const declared = Number(payload.headers['content-length']);
  const chunks: Buffer[] = [];
  let received = 0;
  let taken = 0;
  let finished = false;

  const finish = (error: HookrelayError | null) => {
    if (finished) return;
    finished = true;
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    payload.removeListener('close', onClose);
    options.budget.give(taken);
    taken = 0;
    if (error !== null) done(error);
    else done(null, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
  };

  function onData(chunk: Buffer): void {
    received += chunk.length;
    if (received > options.maxBytes) {
      finish(bodyError(BodyErrorCode.tooLarge, 'body over the limit'));
    } else if (!options.budget.take(chunk.length)) {
      finish(bodyError(BodyErrorCode.busy, 'buffered-body budget spent'));
    } else {
      taken += chunk.length;
      chunks.push(chunk);
    }
  }
  function onEnd(): void {
    const short = !Number.isNaN(declared) && received !== declared;
    finish(short ? bodyError(BodyErrorCode.badRequest, 'body length differs from Content-Length') : null);
  }
  function onError(): void {
    finish(bodyError(BodyErrorCode.badRequest, 'the connection broke while the body was read'));
  }
  // An aborted request may close without 'end' or 'error': its bytes must go back all the same.
  function onClose(): void {
    if (!payload.complete) onError();
  }

  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.on('close', onClose);
  payload.resume();
}
