import type { MatchState } from './state.js';

/*
 * Cooldown and resolve for plain rules (a matching item is an alert): at most one alert per rule and
 * key within the cooldown, on the items' own time; with `resolve: true`, the key's next item that no
 * longer matches sends a resolved alert. Threshold rules use the same cooldown through their gate.
 */

/** newMatchState returns the state of a key before its first alert. */
export function newMatchState(): MatchState {
  return { t: 'match', lastAlertAt: null, active: false, alertId: null };
}

/**
 * cooldownUntil returns when the cooldown that blocks an alert at `at` ends, or undefined when the alert
 * may go out. Distance is measured both ways: an item older than the last alert (a late one) is inside
 * the cooldown as long as it is within the duration of it, so the order of arrival does not open a gap.
 */
export function cooldownUntil(
  lastAlertAt: number | null,
  at: number,
  cooldownMs: number | undefined,
): number | undefined {
  if (cooldownMs === undefined || lastAlertAt === null) return undefined;
  return Math.abs(at - lastAlertAt) < cooldownMs ? lastAlertAt + cooldownMs : undefined;
}

/** recordAlert notes a sent firing alert in the key's state. */
export function recordAlert(state: MatchState, at: number, alertId: string): void {
  state.lastAlertAt = state.lastAlertAt === null ? at : Math.max(state.lastAlertAt, at);
  state.active = true;
  state.alertId = alertId;
}
