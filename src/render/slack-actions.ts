/**
 * The ids hookrelay's Slack buttons carry, shared by the renderer that adds them
 * (destinations/slack/render.ts) and the interactions route that acts on them (ingest/slack-interactions.ts).
 */

/** The block_id of the buttons; the route drops this block from a message once one was used. */
export const ACTIONS_BLOCK_ID = 'hookrelay-actions';

/** The buttons' action ids. */
export const ACTION_IDS = {
  acknowledge: 'hookrelay.acknowledge',
  silence1h: 'hookrelay.silence-1h',
  silenceTomorrow: 'hookrelay.silence-tomorrow',
} as const;

/** ButtonValue is what a button carries back (JSON): the destination, the alert's rule and key. */
export interface ButtonValue {
  d: string;
  r: string;
  k: string;
}
