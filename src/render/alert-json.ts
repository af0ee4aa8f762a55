import type { Alert } from '../domain/alert.js';
import { forDisplay } from './display.js';
import { escapeBidiInJson } from './escape.js';

/**
 * serializeAlert is the Alert as JSON: the default outbound webhook body and the `log` line. Binary data
 * never goes inline (the domain keeps image bytes out of Alert; a Buffer that slipped in anyway becomes a
 * short marker instead of a huge number array). Its texts are the ones every destination shows
 * (forDisplay), and no bidirectional control is left raw: the item's own are written as `\uXXXX`.
 */
export function serializeAlert(alert: Alert): string {
  const json = JSON.stringify(forDisplay(alert), (_key, value: unknown) => {
    if (value instanceof Uint8Array) return `<${value.byteLength} bytes omitted>`;
    if (isSerializedBuffer(value)) return `<${value.data.length} bytes omitted>`;
    return value;
  });
  return escapeBidiInJson(json);
}

/** Buffer#toJSON runs before the replacer sees the value, so a Buffer arrives as `{ type: 'Buffer', data }`. */
function isSerializedBuffer(value: unknown): value is { type: 'Buffer'; data: unknown[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}
