/*
 * The types the SQLite write path shares between the main thread (TypeScript) and the writer thread
 * (writer-thread.js, plain JavaScript that reads these through JSDoc): what one batch carries, what it
 * did, and the messages between the two threads. Types only: nothing here exists at run time.
 */
import type { PreparedAttempt, PreparedClaim, PreparedCommit } from '../validate.js';

/** PreparedEvent is one item as its `events` row will hold it. */
export interface PreparedEvent {
  source: string;
  type: string;
  dedupeKey: string;
  /** Integer epoch ms. */
  at: number;
  userId: string | null;
  itemJson: string;
  image: Uint8Array | null;
}

/** AppendRows is one append as its rows will hold it: the request and its items, in payload order. */
export interface AppendRows {
  requestId: string;
  source: string;
  event: string;
  /** Integer epoch ms. */
  receivedAt: number;
  body: Uint8Array;
  events: PreparedEvent[];
}

/** PreparedAppend is an append validated and serialised before it joins a batch (see prepare-append.ts). */
export interface PreparedAppend extends AppendRows {
  body: Buffer;
  /** Body, item JSON and image bytes together: what the batch limits count. */
  bytes: number;
}

/** A notification's outcome ends in one of these states; `pending` is the only one a transition leaves. */
export type Transition = 'delivered' | 'retry' | 'dead';

/** TransitionWrite is one checked transition of one notification (recordDelivered, scheduleRetry, deadLetter). */
export interface TransitionWrite {
  id: string;
  to: Transition;
  attempt: PreparedAttempt;
  /** For `retry`: when the row is due again. */
  dueAt: number | null;
  /** For `dead`: the dead letter's reason. */
  reason: string | null;
  /** The claim token the caller holds; null: no check (see Outbox.recordDelivered). */
  token: string | null;
}

/** OutboxWrite is a claim or a group of transitions, checked, as a write batch carries them. */
export type OutboxWrite =
  | { kind: 'claim'; claim: PreparedClaim }
  | { kind: 'transitions'; transitions: TransitionWrite[] };

/** NotificationRow is a notifications row as claims and dead letters read it. */
export interface NotificationRow {
  seq: number;
  id: string;
  destination: string;
  alert: string;
  request_id: string | null;
  event_seq: number | null;
  created_at: number;
  due_at: number;
  lease_until: number | null;
  attempts: number;
  first_attempt_at: number | null;
}

/** ClaimedRow is a row a claim leased, as read before the lease, with the send slot the claim gave it. */
export interface ClaimedRow extends NotificationRow {
  /** Epoch ms: the row's send slot (the claim's `now` for an unpaced destination). */
  send_at: number;
}

/**
 * WriteFailure describes an error raised inside a write batch: a plain object, so it crosses from the
 * writer thread intact (an Error would lose its `code` on the way). `code` is SQLite's extended result
 * code (`SQLITE_CONSTRAINT_DATATYPE`, `SQLITE_FULL`, …) when the driver gave one.
 */
export interface WriteFailure {
  failed: true;
  message: string;
  code?: string;
}

/** EvaluatorStepOutcome is what an evaluator step did: notifications inserted, or the cursor it found instead. */
export type EvaluatorStepOutcome = { inserted: number } | { conflict: number };

/**
 * OutboxWriteOutcome is what an OutboxWrite did: the rows a claim leased (as read before), or per
 * transition of a group whether it changed its row, or the failure of that one transition alone.
 */
export type OutboxWriteOutcome = { claimed: ClaimedRow[] } | { changed: Array<boolean | WriteFailure> };

/** WriteBatch is what one transaction commits: appends, then evaluator steps, then outbox writes in call order. */
export interface WriteBatch<A extends AppendRows = AppendRows> {
  appends: readonly A[];
  steps: readonly PreparedCommit[];
  writes: readonly OutboxWrite[];
}

/**
 * WriteBatchResult says per part what a batch did: per append the items it newly stored, per evaluator
 * step its outcome, per outbox write its outcome; or, for a part that failed, its WriteFailure (the
 * others committed without it).
 */
export interface WriteBatchResult {
  stored: Array<number | WriteFailure>;
  steps: Array<EvaluatorStepOutcome | WriteFailure>;
  outbox: Array<OutboxWriteOutcome | WriteFailure>;
  /**
   * Set when, after the commit, the path no longer named the file the store opened: the batch committed
   * to a file that is gone, so none of it may be acknowledged.
   */
  lost?: FileLoss;
}

/** FileIdentity is what names one file on its filesystem: its device and inode numbers. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/**
 * FileLoss says that the path no longer names the file the store opened (deleted, or replaced by
 * another file), so what was just committed went to a file nobody will open again.
 */
export interface FileLoss {
  reason: 'deleted' | 'replaced';
}

/** ConnectionSettings are the pragmas every connection of one store runs with. */
export interface ConnectionSettings {
  busyTimeoutMs: number;
  journalSizeLimitBytes: number;
  /** PRAGMA max_page_count, when set: the file cannot grow past it (SQLITE_FULL, as on a full disk). */
  maxPageCount?: number;
}

/** WriterThreadData is the writer thread's `workerData`. */
export interface WriterThreadData extends ConnectionSettings {
  /** The database file; it must exist and be migrated (the thread never creates or migrates it). */
  path: string;
  /** The identity of the file the store opened: the thread checks it after every commit. */
  identity: FileIdentity;
}

/** WriterRequest is a message from the main thread to the writer thread. */
export type WriterRequest =
  | {
      type: 'batch';
      id: number;
      /** The appends as batch-codec.js encodes them: short values, then every byte in `bytes`. */
      fields: Array<string | number | null>;
      bytes: ArrayBuffer;
      steps: readonly PreparedCommit[];
      writes: readonly OutboxWrite[];
    }
  | { type: 'close' };

/** WriterReply is a message from the writer thread to the main thread. */
export type WriterReply =
  | { type: 'ready'; journalMode: string; synchronous: number }
  | { type: 'fatal'; message: string; code?: string }
  | { type: 'done'; id: number; result: WriteBatchResult };
