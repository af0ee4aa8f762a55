/** File extension per screenshot MIME type: the attachment's name in Slack, Discord and email. */
const IMAGE_EXTENSIONS: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

/**
 * screenshotFilename names an attached screenshot after its MIME type (`screenshot.png`); an unknown type
 * gets `fallbackExtension` (Discord wants an image name for the embed to show it; elsewhere `bin` is honest).
 */
export function screenshotFilename(mime: string, fallbackExtension: string): string {
  return `screenshot.${IMAGE_EXTENSIONS[mime] ?? fallbackExtension}`;
}
