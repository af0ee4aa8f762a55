import { createHmac } from 'node:crypto';

/**
 * signedTrackpilotsRequest builds headers the way Trackpilots does, computed here with node:crypto
 * directly so tests never verify the server with its own signing code.
 */
export function signedTrackpilotsHeaders(
  body: string | Buffer,
  secret: string,
  timestamp: string = String(Date.now()),
): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return {
    'content-type': 'application/json',
    'x-webhook-timestamp': timestamp,
    'x-webhook-signature': signature,
  };
}

/** postSigned POSTs a signed Trackpilots body to `url` and returns status and parsed body. */
export async function postSigned(
  url: string,
  body: string | Buffer,
  secret: string,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...signedTrackpilotsHeaders(body, secret), ...extraHeaders },
    body,
  });
  return { status: response.status, body: await response.text() };
}
