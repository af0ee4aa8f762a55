import { createHash } from 'node:crypto';
import type { StoredEvent } from '../domain/event.js';
import type { Firing } from '../rules/engine.js';
import type { NewNotification } from '../store/ports.js';

/** ForwardPolicy says which destinations forward the received payload (`body: event`) instead of the alert. */
export interface ForwardPolicy {
  forwardsEvent(destination: string): boolean;
}

function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 26);
}

/**
 * notificationsFor turns one firing into one notification per destination. Ids are derived from the
 * alert id (itself deterministic), so evaluating the same stream again yields the same ids and the outbox
 * stores each once. A destination that forwards the received payload gets one notification per received
 * request, however many of its items matched, which is what a Zapier-style forward wants.
 */
export function notificationsFor(
  firing: Firing,
  event: StoredEvent | undefined,
  policy: ForwardPolicy,
  now: number,
  nextOrderKey: () => number,
): NewNotification[] {
  return firing.destinations.map((destination) => {
    const forward = policy.forwardsEvent(destination) && event !== undefined;
    const id = forward
      ? stableId('event', destination, event.requestId)
      : stableId('alert', destination, firing.alert.id);
    const notification: NewNotification = {
      id,
      destination,
      alert: firing.alert,
      createdAt: now,
      dueAt: now,
      orderKey: nextOrderKey(),
    };
    if (event !== undefined) {
      notification.requestId = event.requestId;
      // A threshold judged late may name an earlier item than the one being evaluated; its screenshot
      // is then not at hand, and sending the current item's image would show the wrong picture.
      if (firing.alert.item?.id === event.item.id) notification.eventSeq = event.seq;
    }
    return notification;
  });
}
