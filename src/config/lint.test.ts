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

describe('destinations and file size (issue 15 §9)', () => {
  it('warns about a destination URL at a private address without allowPrivateNetworks, never quoting it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-lint-'));
    writeFileSync(
      join(dir, 'rules.yaml'),
      `version: 1
sources:
  trackpilots: { type: trackpilots, secrets: ["s"] }
destinations:
  local-hook: { type: webhook, url: "http://127.0.0.1:9000/hook?token=t0ken" }
  lan-discord: { type: discord, webhookUrl: "http://10.1.2.3/api/webhooks/1/t0ken" }
  mail: { type: email, smtp: "smtp://user:pw@localhost:25", from: "a@example.com", to: [b@example.com] }
  meant: { type: webhook, url: "http://192.168.1.5/hook", allowPrivateNetworks: true }
  public: { type: webhook, url: "https://hooks.zapier.com/hooks/catch/1/t0ken" }
rules:
  - name: all
    on: "*"
    to: [local-hook, lan-discord, mail, meant, public]
`,
    );
    const result = await loadConfig('rules.yaml', {}, { cwd: dir });
    if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
    const lines = result.warnings.map(formatIssue);
    expect(lines.map((line) => line.split(' ')[1])).toEqual([
      'destinations.local-hook.url:',
      'destinations.lan-discord.webhookUrl:',
      'destinations.mail.smtp:',
    ]);
    expect(lines[0]).toContain(
      'every delivery to "local-hook" will be refused (use a public address, or set allowPrivateNetworks: true',
    );
    expect(lines.join('\n')).not.toMatch(/t0ken|127\.0\.0\.1|10\.1\.2\.3|pw@/);
  });

  it('refuses a rules file over 2 MB with a clear error, without reading it whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-lint-'));
    const padding = `# ${'x'.repeat(1022)}\n`.repeat(2 * 1024 + 1);
    writeFileSync(join(dir, 'rules.yaml'), `${rulesFile('  []')}\n${padding}`);
    const result = await loadConfig('rules.yaml', {}, { cwd: dir });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map(formatIssue)).toEqual([
      'rules.yaml: the rules file is 2.00 MB, over the limit of 2 MB (checking a larger one would stall the relay at every reload) (keep people in a CSV file (people: - file: people.csv), which is not counted)',
    ]);
    expect(result.issues[0]?.code).toBe('HR_ERR_CONFIG_TOO_LARGE');
    // The same limit holds for text from another reader.
    const injected = await loadConfig('rules.yaml', {}, { cwd: dir, readText: async () => padding });
    expect(injected.ok ? [] : injected.issues.map((issue) => issue.code)).toEqual([
      'HR_ERR_CONFIG_TOO_LARGE',
    ]);
  });
});
