import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { loadConfig } from '../config/load.js';
import { runTest } from './test-rules.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function memoryIo(cwd: string) {
  return captureIo({ cwd });
}

const RULES = (tests: string) => `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [s] }
destinations:
  console: { type: log }
  chat: { type: slack, token: xoxb-test, channel: C1 }
rules:
  - name: idle-screens
    on: desktop.screenshot_tracking.captured
    if: { screenshot.isIdle: true }
    threshold: { per: user, window: 30m, count: 3 }
    to: [console, chat]
tests:
${tests}
`;

describe('hookrelay test', () => {
  test('--help prints the usage and exits 0', async () => {
    const io = memoryIo(ROOT);
    expect(await runTest(['--help'], io)).toBe(0);
    expect(io.out()).toContain('usage: hookrelay test [rules.yaml]');
  });

  test('the example rules pass their own tests', async () => {
    const io = memoryIo(ROOT);
    expect(await runTest(['rules.example.yaml'], io)).toBe(0);
    expect(io.out()).toMatch(/7 passed, 0 failed/);
    expect(io.out()).not.toContain('FAIL');
  });

  test('a failing expectation exits 1 and says what differed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-test-cli-'));
    const file = join(dir, 'rules.yaml');
    const idle = (n: number) => join(ROOT, `fixtures/idle-${n}.json`);
    writeFileSync(
      file,
      RULES(`  - name: two are enough (wrong)
    events: [${idle(1)}, ${idle(2)}]
    expect: [{ rule: idle-screens }]
  - name: three are enough
    events: [${idle(1)}, ${idle(2)}, ${idle(3)}]
    expect: [{ rule: idle-screens, to: chat }]`),
    );
    const io = memoryIo(dir);
    expect(await runTest([file], io)).toBe(1);
    expect(io.out()).toContain('FAIL  two are enough (wrong)\n      expected 1 alert of idle-screens, got 0');
    expect(io.out()).toContain('ok    three are enough');
    expect(io.out()).toContain('1 passed, 1 failed');
  });

  test('--event explains each rule and renders the message per destination', async () => {
    const io = memoryIo(ROOT);
    const args = ['rules.example.yaml', '--explain'];
    for (const n of [1, 2, 3]) args.push('--event', `fixtures/idle-${n}.json`);
    expect(await runTest(args, io)).toBe(0);
    const out = io.out();
    expect(out).toContain('3 item(s) from 3 event(s)');
    // Every line names the rule, the person and the item with its time in the rule's timezone.
    expect(out).toContain(
      'idle-screens [Ada Lovelace] item b774c86b-26e3-415f-b6d0-000000000002 at 2026-01-28 09:10 UTC: below-threshold — 2 matching items in 30m (alert when ≥ 3)',
    );
    // Rules that do not watch the event's type are listed too, in the timezone of their schedule.
    expect(out).toContain(
      'went-quiet [Ada Lovelace] item b774c86b-26e3-415f-b6d0-000000000002 at 2026-01-28 10:10 Europe/Berlin: not-watched — does not watch desktop.screenshot_tracking.captured',
    );
    for (const line of out.split('\n').filter((l) => /^ {4}\S/.test(l))) {
      expect(line).toMatch(/^ {4}[\w-]+ \[Ada Lovelace\] item [\w-]+ at \d{4}-\d\d-\d\d \d\d:\d\d [\w/]+: /);
    }
    expect(out).toContain('ALERT idle-screens (firing, warning)');
    expect(out).toContain('→ console');
  });

  test('--advance with --event keeps the clock ticking after the payloads, as serve would', async () => {
    const quiet = ['rules.example.yaml', '--event', 'fixtures/quiet-app.json'];
    const now = memoryIo(ROOT);
    expect(await runTest(quiet, now)).toBe(0);
    expect(now.out()).not.toContain('ALERT went-quiet');
    const later = memoryIo(ROOT);
    expect(await runTest([...quiet, '--advance', '45m'], later)).toBe(0);
    expect(later.out()).toContain('2 item(s) from 1 event(s), clock run on 45m');
    expect(later.out().match(/ALERT went-quiet \(firing/g)).toHaveLength(2);
    expect(later.out()).toMatch(/ALERT went-quiet .* — sent at 2026-01-28 \d\d:\d\d Europe\/Berlin/);
    const bad = memoryIo(ROOT);
    expect(await runTest([...quiet, '--advance', 'soon'], bad)).toBe(2);
    expect(bad.err()).toContain('--advance takes a duration');
  });

  test('an alert a test does not expect fails it; allowOthers lets it through', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-test-cli-'));
    const file = join(dir, 'rules.yaml');
    const idle = (n: number) => join(ROOT, `fixtures/idle-${n}.json`);
    const events = `[${idle(1)}, ${idle(2)}, ${idle(3)}]`;
    writeFileSync(
      file,
      RULES(`  - name: forgets the other rule
    events: ${events}
    expect: [{ rule: idle-screens }]
  - name: says others may fire
    events: ${events}
    expect: [{ rule: idle-screens }]
    allowOthers: [every-shot]`).replace(
        'tests:',
        `  - name: every-shot
    on: desktop.screenshot_tracking.captured
    to: [console]
tests:`,
      ),
    );
    const io = memoryIo(dir);
    expect(await runTest([file], io)).toBe(1);
    expect(io.out()).toContain('FAIL  forgets the other rule\n      unexpected alert: every-shot firing for');
    expect(io.out()).toContain('ok    says others may fire');
  });

  test('slack destinations are previewed as the Block Kit message that would be sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-test-cli-'));
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, RULES('  []').replace('tests:\n  []', 'tests: []'));
    const io = memoryIo(ROOT);
    const args = [file];
    for (const n of [1, 2, 3]) args.push('--event', `fixtures/idle-${n}.json`);
    expect(await runTest(args, io)).toBe(0);
    expect(io.out()).toContain('→ chat');
    expect(io.out()).toContain('"blocks"');
  });

  test('a digest schedule is a reference: a misspelt one is refused with its position, a used one is not "unused"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-test-cli-'));
    const file = join(dir, 'rules.yaml');
    const withSchedule = (name: string) => `version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [s] }
schedules:
  work-hours: { timezone: Europe/Berlin, days: [mon, tue, wed, thu, fri], hours: "09:00-17:30" }
destinations:
  console: { type: log }
rules:
  - name: end-of-day
    on: "*"
    digest: { schedule: ${name} }
    to: [console]
`;
    writeFileSync(file, withSchedule('work-hour'));
    const bad = memoryIo(dir);
    expect(await runTest([file], bad)).toBe(1);
    expect(bad.err()).toContain(
      'rules.yaml:11:25 rules[0].digest.schedule: undefined schedule "work-hour" (did you mean "work-hours"?)',
    );
    writeFileSync(file, withSchedule('work-hours'));
    const good = memoryIo(dir);
    expect(await runTest([file], good)).toBe(0);
    const loaded = await loadConfig(file, {}, { cwd: dir });
    expect(loaded.ok && loaded.warnings.map((w) => w.message)).toEqual([]);
  });

  test('bad input: an unreadable event file and bad usage', async () => {
    const io = memoryIo(ROOT);
    expect(await runTest(['rules.example.yaml', '--event', 'fixtures/nope.json'], io)).toBe(1);
    expect(io.err()).toContain('cannot read event file fixtures/nope.json');
    const usage = memoryIo(ROOT);
    expect(await runTest(['--bogus'], usage)).toBe(2);
    expect(usage.err()).toContain('usage: hookrelay test');
  });

  test('an event nested deeper than serve accepts is refused the same way, not a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-test-cli-'));
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, `{"event":"x","data":{"k":${'['.repeat(5_000)}${']'.repeat(5_000)}}}`);
    const io = memoryIo(ROOT);
    expect(await runTest(['rules.example.yaml', '--event', deep], io)).toBe(1);
    expect(io.err()).toContain('JSON nested deeper than 64 levels');
  });
});
