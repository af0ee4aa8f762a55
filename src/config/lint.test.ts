import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, loadConfig } from './load.js';

// Issue 9 §3: validate warns about rules that are valid but very likely not what was meant.
function rulesFile(rules: string, sources = '  trackpilots: { type: trackpilots, secrets: ["s"] }'): string {
  return `version: 1\nsources:\n${sources}\ndestinations:\n  console: { type: log }\nrules:\n${rules}`;
}

async function check(text: string): Promise<{ ok: boolean; lines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-lint-'));
  writeFileSync(join(dir, 'rules.yaml'), text);
  const result = await loadConfig('rules.yaml', {}, { cwd: dir });
  return { ok: result.ok, lines: (result.ok ? result.warnings : result.issues).map(formatIssue) };
}

describe('validate warns about what no item will ever match', () => {
  it('a rule on: a type no source produces, with a did-you-mean among the Trackpilots types', async () => {
    const { ok, lines } = await check(
      rulesFile(`  - name: a
    on: desktop.app_traking.captured
    to: [console]
  - name: b
    on: [desktop.screenshot_tracking.captured, github.push]
    to: [console]
  - name: c
    on: "mobile.*"
    to: [console]
  - name: d
    absent: { on: desktop.activity_tracking.capturd, for: 30m }
    to: [console]
  - name: fine
    on: ["desktop.*", "*"]
    to: [console]
`),
    );
    expect(ok).toBe(true);
    expect(lines).toEqual([
      'rules.yaml:8:9 rules[0].on: no source produces events of type "desktop.app_traking.captured", so this rule never sees one (did you mean "desktop.app_tracking.captured"?)',
      'rules.yaml:11:48 rules[1].on[1]: no source produces events of type "github.push", so this rule never sees one (Trackpilots sends desktop.app_tracking.captured, desktop.screenshot_tracking.captured, desktop.activity_tracking.captured)',
      'rules.yaml:14:9 rules[2].on: no source produces events of type "mobile.*", so this rule never sees one (it matches none of desktop.app_tracking.captured, desktop.screenshot_tracking.captured, desktop.activity_tracking.captured)',
      'rules.yaml:17:19 rules[3].absent.on: no source produces events of type "desktop.activity_tracking.capturd", so this rule never sees one (did you mean "desktop.activity_tracking.captured"?)',
    ]);
  });

  it('with a generic source any type may arrive: only near misses of Trackpilots types are flagged', async () => {
    const { lines } = await check(
      rulesFile(
        `  - name: a\n    on: [github.push, desktop.app_traking.captured]\n    to: [console]\n`,
        '  trackpilots: { type: trackpilots, secrets: ["s"] }\n  github: { type: hmac, header: x-sig, secrets: ["s"] }',
      ),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"desktop.app_traking.captured"');
  });

  it('a template variable that no item has', async () => {
    const { ok, lines } = await check(
      rulesFile(`  - name: a
    on: desktop.app_tracking.captured
    message:
      title: "{{ persn.name }} on {{ app.nme }}"
      text: "{{ person.name | default: user }} {{ value | duration }} {{ raw.anything }} {{ app.name }} {% for x in raw.list %}{{ x.y }}{% endfor %}"
    to: [console]
`),
    );
    expect(ok).toBe(true);
    expect(lines).toEqual([
      'rules.yaml:10:14 rules[0].message.title: the template reads "persn.name", which no item or alert has (it renders empty) (did you mean "person"?)',
      'rules.yaml:10:14 rules[0].message.title: the template reads "app.nme", which desktop.app_tracking.captured items never have (it renders empty) (did you mean "app.name"?)',
    ]);
  });
});

describe('validate explains durations and numbers mixed up', () => {
  it('a threshold value given as a duration where seconds are meant', async () => {
    const { ok, lines } = await check(
      rulesFile(
        '  - name: a\n    on: desktop.app_tracking.captured\n    threshold: { window: 1h, sum: time.durationInSeconds, gte: 30m }\n    to: [console]\n',
      ),
    );
    expect(ok).toBe(false);
    expect(lines).toEqual([
      'rules.yaml:9:64 rules[0].threshold.gte: expected a number, got "30m" (a duration is not a number here; in seconds: 1800)',
    ]);
  });

  it('window: 30 asks for a unit', async () => {
    const { lines } = await check(
      rulesFile(
        '  - name: a\n    on: desktop.app_tracking.captured\n    threshold: { window: 30, count: 3 }\n    to: [console]\n',
      ),
    );
    expect(lines).toEqual([
      'rules.yaml:9:26 rules[0].threshold.window: expected a duration such as 30s, 5m, 2h or 1d, got 30 (add a unit, e.g. "30s")',
    ]);
  });

  it('a file indented with tabs gives one error, not one per line', async () => {
    const { lines } = await check(
      'version: 1\nsources:\n\ttrackpilots:\n\t\ttype: trackpilots\n\t\tsecrets: ["s"]\ndestinations:\n\tconsole: { type: log }\nrules: []\n',
    );
    expect(lines).toEqual([
      'rules.yaml:3:1: tabs are not allowed as indentation, on 4 lines: 3, 4, 5, 7 (indent with spaces)',
    ]);
  });
});
