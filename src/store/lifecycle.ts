import { HookrelayError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { StoreErrorCode, storeError } from './errors.js';
import { WriteHealth } from './write-health.js';

/*
 * What every store engine holds the same way: open → closing → closed, the wake-up listeners and the
 * write health, the close sequence, and the errors a failed read or write becomes. An engine gives only
 * how it drains its pending writes and releases its connections.
 */

/**
 * Listeners is a set of wake-up callbacks (onAppend, onEnqueue). `notify` calls each one; a listener that
 * throws is logged and never stops the others or the write that triggered it.
 */
export class Listeners {
  private readonly entries = new Set<{ listener: () => void }>();

  constructor(
    private readonly logger: Logger,
    private readonly name: string,
  ) {}

  /** add registers `listener` (the same function twice is called twice) and returns its unsubscribe. */
  add(listener: () => void): () => void {
    const entry = { listener };
    this.entries.add(entry);
    return () => {
      this.entries.delete(entry);
    };
  }

  /** notify calls every listener registered now, in registration order. It never throws. */
  notify(): void {
    for (const entry of [...this.entries]) {
      try {
        entry.listener();
      } catch (error) {
        this.logger.error({ err: error }, `an ${this.name} listener threw; ignored`);
      }
    }
  }

  /** clear removes every listener (on close). */
  clear(): void {
    this.entries.clear();
  }
}

/** StoreLifecycle is one store's state and the parts every engine shares. */
export interface StoreLifecycle {
  readonly appended: Listeners;
  readonly enqueued: Listeners;
  readonly health: WriteHealth;
  isOpen(): boolean;
  /** assertOpen throws `HR_ERR_STORE_CLOSED` once the store is closing or closed. */
  assertOpen(): void;
  /**
   * close closes once (a second call returns the first's promise): new calls are refused at once, pending
   * writes drain, listeners and health stop, then the engine releases its connections.
   */
  close(steps: { drain(): Promise<void>; release(): Promise<void> }): Promise<void>;
}

export function createStoreLifecycle(logger: Logger): StoreLifecycle {
  let state: 'open' | 'closing' | 'closed' = 'open';
  let closing: Promise<void> | undefined;
  const appended = new Listeners(logger, 'onAppend');
  const enqueued = new Listeners(logger, 'onEnqueue');
  const health = new WriteHealth({ logger });
  return {
    appended,
    enqueued,
    health,
    isOpen: () => state === 'open',
    assertOpen() {
      if (state !== 'open') throw storeError(StoreErrorCode.closed, 'the store is closed');
    },
    close(steps) {
      if (closing) return closing;
      state = 'closing';
      closing = (async () => {
        try {
          await steps.drain();
        } finally {
          appended.clear();
          enqueued.clear();
          health.close();
          try {
            await steps.release();
          } finally {
            state = 'closed';
          }
        }
      })();
      return closing;
    },
  };
}

/** readFailure is what a failed read throws: a HookrelayError as it is, else `HR_ERR_STORE_READ_FAILED`. */
export function readFailure(what: string, error: unknown): Error {
  if (error instanceof HookrelayError) return error;
  return storeError(StoreErrorCode.readFailed, `${what} failed: ${(error as Error).message}`, error);
}

/**
 * writeFailure is what a failed write transaction throws: a HookrelayError (a conflict, a fence) as it
 * is, else `HR_ERR_STORE_WRITE_FAILED`, told to the write health.
 */
export function writeFailure(what: string, error: unknown, health: WriteHealth): Error {
  if (error instanceof HookrelayError) return error;
  health.failed(error, 1, { appends: false });
  return storeError(
    StoreErrorCode.writeFailed,
    `${what} failed and wrote nothing: ${(error as Error).message}`,
    error,
  );
}
