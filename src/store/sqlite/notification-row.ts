import type { Alert, Notification } from '../../domain/alert.js';
import type { NotificationRow } from './write-types.js';

/** toNotification reads a notifications row back as the Notification the evaluator stored. */
export function toNotification(row: NotificationRow): Notification {
  const notification: Notification = {
    id: row.id,
    destination: row.destination,
    alert: JSON.parse(row.alert) as Alert,
    createdAt: row.created_at,
  };
  if (row.request_id !== null) notification.requestId = row.request_id;
  return notification;
}
