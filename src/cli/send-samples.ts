import { randomUUID } from 'node:crypto';

/*
 * Realistic Trackpilots payloads for `hookrelay send`, the end-to-end tests and the benchmark.
 * Shapes follow shared/reference/trackpilots.md §2: the envelope keys in the documented order, ids
 * nested as the API reference shows them, ISO-8601 UTC strings with milliseconds for item times and
 * epoch milliseconds for the envelope `timestamp`. Values that the docs only show as Mintlify
 * placeholders (ids, dates) are fresh on every call so that the relay stores rather than dedupes.
 */

/** TRACKPILOTS_EVENTS maps the short names accepted by `hookrelay send --event` to full event types. */
export const TRACKPILOTS_EVENTS = {
  screenshot: 'desktop.screenshot_tracking.captured',
  app: 'desktop.app_tracking.captured',
  activity: 'desktop.activity_tracking.captured',
} as const;

/** SampleKind is the short name of one of the three documented desktop events. */
export type SampleKind = keyof typeof TRACKPILOTS_EVENTS;

/** TrackpilotsEventType is one of the three documented desktop event types. */
export type TrackpilotsEventType = (typeof TRACKPILOTS_EVENTS)[SampleKind];

/** SAMPLE_KINDS lists the short names in a stable order (help text, tests). */
export const SAMPLE_KINDS = Object.keys(TRACKPILOTS_EVENTS) as SampleKind[];

/**
 * resolveSampleKind accepts a short name (`app`) or a full event type
 * (`desktop.app_tracking.captured`) and returns the short name, or undefined for anything else.
 */
export function resolveSampleKind(name: string): SampleKind | undefined {
  for (const kind of SAMPLE_KINDS) {
    if (name === kind || name === TRACKPILOTS_EVENTS[kind]) return kind;
  }
  return undefined;
}

/**
 * SAMPLE_SCREENSHOT_JPEG_BASE64 is a real 48×30 baseline JPEG (604 bytes: a window on a blue desktop
 * with a taskbar), made once with Pillow and checked to decode. Live screenshots are ~45 kB; a small
 * one keeps samples and fixtures readable while still exercising the image path (magic `ff d8 ff`).
 */
export const SAMPLE_SCREENSHOT_JPEG_BASE64 =
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA4KCw0LCQ4NDA0QDw4RFiQXFhQUFiwgIRokNC43NjMuMjI6QVNGOj1OPjIySGJJTlZY' +
  'XV5dOEVmbWVabFNbXVn/2wBDAQ8QEBYTFioXFypZOzI7WVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZ' +
  'WVlZWVlZWVn/wAARCAAeADADASIAAhEBAxEB/8QAGgABAAIDAQAAAAAAAAAAAAAABwAGAgMFBP/EADEQAAAEAgYIBQUAAAAAAAAA' +
  'AAABAgMEEQUSFVKR0QYTNlWBgpOyFCEiMaEkQmRxo//EABYBAQEBAAAAAAAAAAAAAAAAAAMCBP/EABwRAAIDAQEBAQAAAAAAAAAA' +
  'AAECAAMRURMhof/aAAwDAQACEQMRAD8A4zbbryyQy0t1w/ZCCMzPgQ3WdSW7YvoqyHQ0V2ihOfsULu54nWLq+NqzOVXUy4T85fsb' +
  'LrGVsEz1oCPsOLOpLdsX0VZCWdSW7YvoqyCL9V+f/AZtIiHFGSnYxopTmsmZfBGB9n7E815DezqS3bF9FWQ0uNusrNDzS2nC90LI' +
  'yMuBhabSaEElS1OGX3KlM8CIgd6VbRRfJ2JDU2MzYYdiBR8k0V2ihOfsULu5R9dxa6kEdYzP1Qsz4nW8zA9aDt1GB5iWg7dRgeYO' +
  'xkc7spAyjMjI1R0OST10PCrVP3QwSSl8j2APtB26jA8xLQduowPMHid/JetyOAOdKtoovk7Eiq2g7dRgeYloO3UYHmErZEO7IcMw' +
  'zJ//2Q==';

/**
 * SIMULATION_IMAGE_PLACEHOLDER stands in for image bytes in simulated screenshots, as Trackpilots'
 * simulator does. Its exact text is undocumented; consumer code only relies on the `[simulation` prefix.
 */
export const SIMULATION_IMAGE_PLACEHOLDER = '[simulation] screenshot image placeholder (no image bytes)';

/** ProductivityStatus is how Trackpilots classifies an app or site (Review apps and sites). */
export type ProductivityStatus = 'productive' | 'neutral' | 'unproductive';

/** TrackpilotsApp is the `app` object of app and screenshot items. */
export interface TrackpilotsApp {
  name: string;
  type: 'application' | 'website';
  category: string;
  iconUrl: string;
  domain: string;
  fullUrl: string;
  productivityStatus: ProductivityStatus;
}

/** NestedIds are the organisation/team/user ids every documented item carries, nested. */
export interface NestedIds {
  organisation: { organisationId: string };
  team: { teamId: string };
  user: { userId: string };
}

/** ScreenshotItem is one element of a screenshot event's `data` array. */
export interface ScreenshotItem extends NestedIds {
  screenshot: {
    screenshotId: string;
    imageBuffer: string;
    app: TrackpilotsApp;
    time: { capturedAt: string };
    operatingSystem: string;
    workType: string;
    isIdle: boolean;
  };
}

/** AppItem is one element of an app tracking event's `data` array. */
export interface AppItem extends NestedIds {
  tracking: {
    trackingId: string;
    app: TrackpilotsApp;
    time: { startDate: string; endDate: string; durationInSeconds: number };
    trackingMode: string;
    operatingSystem: string;
  };
}

/** ActivityData is the activity event's `data` object (published version A: `activity.workMode`). */
export interface ActivityData extends NestedIds {
  activity: { workMode: boolean };
}

/** TrackpilotsPayload is the documented envelope; `simulation` is present only on simulated deliveries. */
export interface TrackpilotsPayload<E extends string = string, D = unknown> {
  event: E;
  version: 'v1';
  agent: 'desktop-agent';
  timestamp: number;
  data: D;
  simulation?: true;
}

/** ScreenshotEvent is a `desktop.screenshot_tracking.captured` payload. */
export type ScreenshotEvent = TrackpilotsPayload<typeof TRACKPILOTS_EVENTS.screenshot, ScreenshotItem[]>;
/** AppEvent is a `desktop.app_tracking.captured` payload. */
export type AppEvent = TrackpilotsPayload<typeof TRACKPILOTS_EVENTS.app, AppItem[]>;
/** ActivityEvent is a `desktop.activity_tracking.captured` payload. */
export type ActivityEvent = TrackpilotsPayload<typeof TRACKPILOTS_EVENTS.activity, ActivityData>;
/** SampleEvent is any payload the builders make. */
export type SampleEvent = ScreenshotEvent | AppEvent | ActivityEvent;

/** SampleOptions are shared by every builder. Omitted ids are fresh UUIDs on each call. */
export interface SampleOptions {
  /** Adds top-level `"simulation": true` and replaces image bytes with a placeholder. */
  simulation?: boolean;
  userId?: string;
  orgId?: string;
  teamId?: string;
  /** The envelope time, epoch ms; item times are placed just before it. Default: now. */
  now?: number;
  operatingSystem?: 'windows' | 'macos';
}

/** AppSampleOptions add the batch size (the real agent batches about 12 items per delivery). */
export interface AppSampleOptions extends SampleOptions {
  /** Items in the batch, default 12. */
  items?: number;
}

/** ScreenshotSampleOptions choose whether the screenshot was taken while the user was idle. */
export interface ScreenshotSampleOptions extends SampleOptions {
  /** Default false. */
  isIdle?: boolean;
}

/** ActivitySampleOptions choose the new work mode. */
export interface ActivitySampleOptions extends SampleOptions {
  /** Default true (the employee switched work mode on). */
  workMode?: boolean;
}

/** DEFAULT_APP_BATCH_ITEMS is the batch size consumer code reports for the live agent. */
export const DEFAULT_APP_BATCH_ITEMS = 12;

/*
 * A small catalogue of what a desktop agent sees. Browsers report the site in domain/fullUrl; native
 * applications have no URL (our guess: the docs only show browsers), so those fields are empty. The
 * order mixes statuses so that any three consecutive entries cover productive, neutral and unproductive,
 * which lets a 12-item batch exercise threshold rules on every status.
 */
const APP_CATALOGUE: readonly TrackpilotsApp[] = [
  site(
    'Google Chrome',
    'github.com',
    'https://github.com/acme/billing/pull/482',
    'Developer Tools',
    'productive',
  ),
  site('Google Chrome', 'mail.google.com', 'https://mail.google.com/mail/u/0/#inbox', 'Email', 'neutral'),
  site(
    'Google Chrome',
    'www.youtube.com',
    'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
    'Entertainment',
    'unproductive',
  ),
  native('Visual Studio Code', 'Developer Tools', 'productive'),
  native('Slack', 'Communication', 'neutral'),
  site(
    'Brave Browser',
    'www.reddit.com',
    'https://www.reddit.com/r/programming/',
    'Social Media',
    'unproductive',
  ),
  site(
    'Brave Browser',
    'dev.trackpilots.com',
    'https://dev.trackpilots.com',
    'Unknown Category',
    'productive',
  ),
  native('Finder', 'Unknown Category', 'neutral'),
  site('Safari', 'www.netflix.com', 'https://www.netflix.com/browse', 'Entertainment', 'unproductive'),
  native('Figma', 'Design', 'productive'),
  site(
    'Microsoft Edge',
    'outlook.office.com',
    'https://outlook.office.com/calendar/view/week',
    'Email',
    'neutral',
  ),
  site('Google Chrome', 'x.com', 'https://x.com/home', 'Social Media', 'unproductive'),
];

function site(
  name: string,
  domain: string,
  fullUrl: string,
  category: string,
  productivityStatus: ProductivityStatus,
): TrackpilotsApp {
  return {
    name,
    type: 'website',
    category,
    iconUrl: `https://${domain}/favicon.ico`,
    domain,
    fullUrl,
    productivityStatus,
  };
}

function native(name: string, category: string, productivityStatus: ProductivityStatus): TrackpilotsApp {
  return { name, type: 'application', category, iconUrl: '', domain: '', fullUrl: '', productivityStatus };
}

const WORK_TYPES = ['office', 'remote', 'hybrid'] as const;

function pick<T>(values: readonly T[]): T {
  return values[Math.floor(Math.random() * values.length)] as T;
}

function randomBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function ids(options: SampleOptions): NestedIds {
  return {
    organisation: { organisationId: options.orgId ?? randomUUID() },
    team: { teamId: options.teamId ?? randomUUID() },
    user: { userId: options.userId ?? randomUUID() },
  };
}

function envelope<E extends string, D>(event: E, data: D, options: SampleOptions): TrackpilotsPayload<E, D> {
  const payload: TrackpilotsPayload<E, D> = {
    event,
    version: 'v1',
    agent: 'desktop-agent',
    timestamp: options.now ?? Date.now(),
    data,
  };
  if (options.simulation) payload.simulation = true;
  return payload;
}

/**
 * sampleScreenshotEvent builds a `desktop.screenshot_tracking.captured` payload with one screenshot:
 * a real JPEG as base64, or the simulation placeholder when `simulation` is set.
 */
export function sampleScreenshotEvent(options: ScreenshotSampleOptions = {}): ScreenshotEvent {
  const now = options.now ?? Date.now();
  const item: ScreenshotItem = {
    ...ids(options),
    screenshot: {
      screenshotId: randomUUID(),
      imageBuffer: options.simulation ? SIMULATION_IMAGE_PLACEHOLDER : SAMPLE_SCREENSHOT_JPEG_BASE64,
      app: pick(APP_CATALOGUE),
      // The agent uploads a few seconds after capture.
      time: { capturedAt: new Date(now - randomBetween(500, 5_000)).toISOString() },
      operatingSystem: options.operatingSystem ?? pick(['windows', 'macos'] as const),
      workType: pick(WORK_TYPES),
      isIdle: options.isIdle ?? false,
    },
  };
  return envelope(TRACKPILOTS_EVENTS.screenshot, [item], { ...options, now });
}

/**
 * sampleAppEvent builds a `desktop.app_tracking.captured` batch: `items` consecutive app/site spans of
 * one user, oldest first, ending shortly before the envelope time, each with its own trackingId.
 */
export function sampleAppEvent(options: AppSampleOptions = {}): AppEvent {
  const now = options.now ?? Date.now();
  const count = options.items ?? DEFAULT_APP_BATCH_ITEMS;
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`items must be a positive integer, got ${count}`);
  // One agent sends the batch, so org/team/user are the same on every item.
  const who = ids(options);
  const operatingSystem = options.operatingSystem ?? pick(['windows', 'macos'] as const);
  const offset = randomBetween(0, APP_CATALOGUE.length - 1);
  const spans: AppItem[] = [];
  // In the published sample the envelope is ~22 s after the last endDate: the agent flushes periodically.
  let end = now - randomBetween(5_000, 30_000);
  for (let i = count - 1; i >= 0; i--) {
    const start = end - randomBetween(4_000, 240_000);
    spans.push({
      organisation: { ...who.organisation },
      team: { ...who.team },
      user: { ...who.user },
      tracking: {
        trackingId: randomUUID(),
        app: { ...(APP_CATALOGUE[(offset + i) % APP_CATALOGUE.length] as TrackpilotsApp) },
        time: {
          startDate: new Date(start).toISOString(),
          endDate: new Date(end).toISOString(),
          // The published sample shows 20 for a 20.8 s span: truncated, not rounded.
          durationInSeconds: Math.floor((end - start) / 1000),
        },
        trackingMode: 'online',
        operatingSystem,
      },
    });
    // A gap of up to a second between spans, as app switches are sampled.
    end = start - randomBetween(0, 1_000);
  }
  spans.reverse();
  return envelope(TRACKPILOTS_EVENTS.app, spans, { ...options, now });
}

/**
 * sampleActivityEvent builds a `desktop.activity_tracking.captured` payload in the published version A
 * shape: `data` is one object with nested ids and `activity.workMode`. It has no per-item id, so the
 * relay dedupes it by content; fresh ids (the default) keep samples distinct.
 */
export function sampleActivityEvent(options: ActivitySampleOptions = {}): ActivityEvent {
  const data: ActivityData = { ...ids(options), activity: { workMode: options.workMode ?? true } };
  return envelope(TRACKPILOTS_EVENTS.activity, data, options);
}

/** AnySampleOptions is the union of every builder's options, for callers that pick the kind at run time. */
export type AnySampleOptions = AppSampleOptions & ScreenshotSampleOptions & ActivitySampleOptions;

/** sampleEvent builds a fresh payload of the given kind; options a kind does not use are ignored. */
export function sampleEvent(kind: SampleKind, options: AnySampleOptions = {}): SampleEvent {
  switch (kind) {
    case 'screenshot':
      return sampleScreenshotEvent(options);
    case 'app':
      return sampleAppEvent(options);
    case 'activity':
      return sampleActivityEvent(options);
  }
}
