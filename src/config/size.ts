const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
};

/** SIZE_PATTERN is the accepted size syntax (`512kb`, `10mb`, `1.5mb`), shared with the JSON Schema. */
export const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)$/i;

/**
 * parseSizeBytes reads `10mb`, `512kb`, `1gb` or `100b` (binary units: 1kb = 1024 bytes) and returns a
 * whole number of bytes, or undefined when the text is not a size.
 */
export function parseSizeBytes(text: string): number | undefined {
  const match = SIZE_PATTERN.exec(text.trim());
  if (match === null) return undefined;
  const unit = UNIT_BYTES[(match[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(match[1]) * unit);
}
