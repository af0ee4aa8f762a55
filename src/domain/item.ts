/**
 * The normalised item: one element of a webhook payload's `data`, in the shape rules and templates see.
 * Field paths (`user`, `app.productivityStatus`, `time.durationInSeconds`, …) are documented in DESIGN.md.
 */

/** Application or website context carried by app and screenshot events. */
export interface AppInfo {
  name?: string;
  type?: string;
  category?: string;
  domain?: string;
  fullUrl?: string;
  iconUrl?: string;
  productivityStatus?: string;
}

/**
 * Where a screenshot's image is. Bytes are never inlined in the item JSON: the stored item says how many
 * bytes of which type were kept, and the bytes travel beside the item (StoredEvent.image).
 */
export type ImageRef =
  | { kind: 'bytes'; mime: string; size: number }
  | { kind: 'url'; url: string }
  | { kind: 'placeholder'; text: string }
  | { kind: 'unrecognised'; note: string };

export interface ScreenshotInfo {
  id?: string;
  isIdle?: boolean;
  image?: ImageRef;
}

/** Directory entry for a person (from `people:` in the rules file). */
export interface Person {
  id: string;
  name?: string;
  email?: string;
  slack?: string;
  discord?: string;
  team?: string;
  manager?: string;
  [extra: string]: unknown;
}

export interface Item {
  /** Configured source name (the `:source` of the route). */
  source: string;
  /** Event type as sent, e.g. `desktop.app_tracking.captured`. */
  event: string;
  /** Per-item id (trackingId, screenshotId, workEventId) or a content hash when the payload has none. */
  id: string;
  /** The item's own time, epoch ms. */
  at: number;
  /** When the relay received the request, epoch ms. */
  receivedAt: number;
  /** The envelope `timestamp`, epoch ms, when present. */
  envelopeAt?: number;
  simulation: boolean;
  user?: string;
  team?: string;
  org?: string;
  /** Filled from the directory at evaluation time; never stored. */
  person?: Person;
  app?: AppInfo;
  time?: Record<string, unknown>;
  screenshot?: ScreenshotInfo;
  activity?: Record<string, unknown>;
  operatingSystem?: string;
  workType?: string;
  trackingMode?: string;
  /** The original item as sent (image bytes replaced by a short marker). */
  raw: unknown;
}
