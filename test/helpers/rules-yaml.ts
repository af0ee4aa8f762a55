/**
 * logEverythingRules is the rules file most end-to-end tests need: one Trackpilots source whose secret
 * comes from `${TP_SECRET}`, and one rule sending every event to the log destination (its alerts are
 * lines on stdout to wait for). `more` is appended as written: further rule items (indented as list
 * entries of `rules:`), then any top-level section such as `server:`.
 */
export function logEverythingRules(more = ''): string {
  return `
version: 1
sources:
  trackpilots:
    type: trackpilots
    secrets: ["\${TP_SECRET}"]
destinations:
  console: { type: log }
rules:
  - name: everything
    on: "*"
    to: [console]
${more}`;
}
