import type { Alert, Notification } from '../../domain/alert.js';
import { createLogger } from '../../lib/log.js';
import type { DestinationDeps, SendContext } from '../types.js';

/** Fixed instant for every fixture (2026-03-02T10:15:00.000Z). */
export const REFERENCE_TIME = Date.UTC(2026, 2, 2, 10, 15, 0);

/** Payload strings that must arrive inert at every destination. */
export const INJECTION = {
  slackChannel: '<!channel> <!here> <@U123> <https://evil.example|click>',
  discordEveryone:
    '@everyone @here <@123456789012345678> <@&987654321098765432> [click](https://evil.example)',
  script: '<script>alert(1)</script><img src=x onerror=alert(2)>',
  crlf: 'Quiet\r\nBcc: evil@example.com\r\nX-Injected: yes',
  /** Bidirectional controls: `\u202E` shows "exe.pdf" as "fdp.exe"; isolates and marks reorder too. */
  bidi: 'Invoice \u202Efdp.exe\u202C \u2066x\u2069 \u202Ay\u202B z\u202D \u200Eq\u200F \u061Cr',
};

/** BIDI_CONTROLS matches every bidirectional control hookrelay neutralises before text reaches a destination. */
export const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;

/** BIDI_RAW is the triggering item's own data in bidiAlert: data, kept as it came (escaped in JSON). */
export const BIDI_RAW = { appName: 'Solitaire\u202Eexe.' };

/** bidiAlert is an alert with bidirectional controls in every text a destination shows, and in its item. */
export function bidiAlert(): Partial<Alert> {
  return {
    title: `Title ${INJECTION.bidi}`,
    text: `Text ${INJECTION.bidi}`,
    user: `user${INJECTION.bidi}`,
    person: { id: 'u', name: `Eve ${INJECTION.bidi}` },
    event: `desktop.${INJECTION.bidi}`,
    item: {
      source: 'trackpilots',
      event: 'desktop.app_tracking.captured',
      id: 'bidi',
      at: REFERENCE_TIME,
      receivedAt: REFERENCE_TIME,
      simulation: false,
      raw: BIDI_RAW,
    },
  };
}

/** makeAlert returns a complete firing alert; override any field. */
export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    id: 'alert-0001',
    rule: 'unproductive-hour',
    status: 'firing',
    severity: 'warning',
    title: 'Unproductive hour: Ada Lovelace',
    text: '31m 00s on unproductive apps in the last hour (latest: Solitaire)',
    key: 'user-ada',
    user: 'user-ada',
    person: { id: 'user-ada', name: 'Ada Lovelace', email: 'ada@example.com' },
    event: 'desktop.app_tracking.captured',
    at: REFERENCE_TIME,
    value: 1860,
    threshold: { op: 'gte', value: 1800, aggregate: 'sum', window: '1h' },
    simulation: false,
    ...overrides,
  };
}

/** makeNotification wraps an alert for one destination. */
export function makeNotification(
  alert: Partial<Alert> = {},
  overrides: Partial<Notification> = {},
): Notification {
  return {
    id: 'ntf_01HZXAMPLE0000000000000001',
    destination: 'test',
    alert: makeAlert(alert),
    createdAt: REFERENCE_TIME,
    ...overrides,
  };
}

/** makeContext returns a first-attempt context with a live signal. */
export function makeContext(overrides: Partial<SendContext> = {}): SendContext {
  return { signal: new AbortController().signal, attempt: 1, ...overrides };
}

/** A 1×1 transparent PNG. */
export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** deps for adapters under test: a silent logger and the fixed clock. */
export function testDeps(): DestinationDeps {
  return { logger: createLogger('silent'), now: () => REFERENCE_TIME };
}
