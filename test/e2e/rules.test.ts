import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { sampleActivityEvent, sampleScreenshotEvent } from '../../src/cli/send-samples.js';
import { MAIN, type ServerProcess, startServer, tempDir } from '../helpers/server-process.js';
import { signedTrackpilotsHeaders } from '../helpers/sign.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const SECRET = 'rules-e2e-secret';

function rulesWith(rules: string): string {
  return `
version: 1
sources:
  trackpilots:
    type: trackpilots
    secrets: ["${SECRET}"]
destinations:
  console: { type: log }
rules:
${rules}
`;
}

const ACTIVITY_RULE = `
  - name: activity-seen
    on: desktop.activity_tracking.captured
    to: [console]
`;

interface LoggedAlert {
  id: string;
  rule: string;
  key: string;
}

/** alertsIn returns the alerts the `log` destination printed (one JSON line each). */
function alertsIn(server: ServerProcess): LoggedAlert[] {
  return server.lines
    .filter((line) => line.startsWith('{"id"'))
    .map((line) => JSON.parse(line) as LoggedAlert);
}

async function post(server: ServerProcess, payload: unknown): Promise<number> {
  const body = JSON.stringify(payload);
  return fetch(`${server.url}/webhooks/trackpilots`, {
    method: 'POST',
    headers: signedTrackpilotsHeaders(body, SECRET),
    body,
  }).then(
    (r) => r.status,
    () => 0,
  );
}

describe('rules in the running relay', () => {
  test('the rules file is watched: a valid edit applies, an invalid one keeps the running rules', async () => {
    const server = await startServer({ rulesYaml: rulesWith(ACTIVITY_RULE) });
    try {
      await post(server, sampleActivityEvent({ userId: 'before-edit' }));
      await waitFor('the first alert', () => alertsIn(server).some((a) => a.key === 'before-edit'), {
        timeoutMs: 8_000,
      });

      writeFileSync(join(server.dir, 'rules.yaml'), rulesWith('  - name: broken\n    on: [\n'));
      await waitFor('the refusal', () => server.lines.some((l) => l.includes('reload refused')), {
        timeoutMs: 8_000,
      });
      expect(server.lines.join('\n')).toMatch(/rules\.yaml:\d+:\d+/);
      await post(server, sampleActivityEvent({ userId: 'after-bad-edit' }));
      await waitFor(
        'an alert from the kept rules',
        () => alertsIn(server).some((a) => a.key === 'after-bad-edit'),
        {
          timeoutMs: 8_000,
        },
      );

      writeFileSync(
        join(server.dir, 'rules.yaml'),
        rulesWith(`
  - name: screenshots-only
    on: desktop.screenshot_tracking.captured
    to: [console]
`),
      );
      await waitFor('the reload', () => server.lines.some((l) => l.includes('configuration reloaded')), {
        timeoutMs: 8_000,
      });
      await post(server, sampleActivityEvent({ userId: 'after-good-edit' }));
      await post(server, sampleScreenshotEvent({ userId: 'shot-after-edit' }));
      await waitFor('the new rule firing', () => alertsIn(server).some((a) => a.key === 'shot-after-edit'), {
        timeoutMs: 8_000,
      });
      expect(alertsIn(server).some((a) => a.key === 'after-good-edit')).toBe(false);
    } finally {
      await server.stop();
    }
  });

  test('SIGHUP reloads the rules file', async () => {
    const server = await startServer({ rulesYaml: rulesWith(ACTIVITY_RULE) });
    try {
      writeFileSync(
        join(server.dir, 'rules.yaml'),
        rulesWith(`
  - name: renamed-rule
    on: desktop.activity_tracking.captured
    to: [console]
`),
      );
      server.child.kill('SIGHUP');
      await waitFor('the reload', () => server.lines.some((l) => l.includes('configuration reloaded')), {
        timeoutMs: 8_000,
      });
      await post(server, sampleActivityEvent({ userId: 'hup' }));
      await waitFor('the alert', () => alertsIn(server).some((a) => a.key === 'hup'), { timeoutMs: 8_000 });
      expect(alertsIn(server).find((a) => a.key === 'hup')?.rule).toBe('renamed-rule');
    } finally {
      await server.stop();
    }
  });

  test('a crash between evaluation and commit: after restart, exactly the alerts of an uninterrupted run', async () => {
    const payloads = ['crash-1', 'crash-2', 'crash-3'].map((userId) => sampleActivityEvent({ userId }));

    // Control: an uninterrupted run over the same events.
    const control = await startServer({ rulesYaml: rulesWith(ACTIVITY_RULE) });
    for (const payload of payloads) expect(await post(control, payload)).toBe(200);
    await waitFor('the control alerts', () => alertsIn(control).length >= 3, { timeoutMs: 8_000 });
    await control.stop();
    const expected = alertsIn(control)
      .map((a) => a.id)
      .sort();

    // The faulty run dies (SIGKILL) after evaluating and before committing its first step.
    const dir = tempDir();
    const faulty = await startServer({
      dir,
      rulesYaml: rulesWith(ACTIVITY_RULE),
      env: { HOOKRELAY_TEST_FAULT: 'evaluate-before-commit' },
    });
    for (const payload of payloads) await post(faulty, payload);
    expect(await faulty.exited).toBe('SIGKILL');
    expect(alertsIn(faulty)).toEqual([]);

    const stored = await run(process.execPath, [MAIN, 'events', '--json'], {
      env: { ...process.env, HOOKRELAY_DB: `sqlite:${faulty.dbPath}` },
    });
    const storedUsers = stored.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { user: string }).user);
    expect(storedUsers.length).toBeGreaterThan(0);

    // Whatever reached the log before the crash is evaluated exactly once after the restart.
    const restarted = await startServer({ dir, rulesYaml: rulesWith(ACTIVITY_RULE) });
    try {
      for (const payload of payloads) expect(await post(restarted, payload)).toBe(200);
      // A last event after them: the evaluator reads the log in order and the log destination prints
      // in that order, so once its alert is out, any repeat of an earlier one would be out too.
      expect(await post(restarted, sampleActivityEvent({ userId: 'crash-sentinel' }))).toBe(200);
      await waitFor(
        'the alert of the event after the restart',
        () => alertsIn(restarted).some((a) => a.key === 'crash-sentinel'),
        { timeoutMs: 15_000 },
      );
      const after = alertsIn(restarted)
        .filter((a) => a.key !== 'crash-sentinel')
        .map((a) => a.id)
        .sort();
      expect(after).toEqual(expected);
    } finally {
      await restarted.stop();
    }
  });
});

describe('the quick start', () => {
  test('rules.example.yaml as it is: three idle screenshots sent with `hookrelay send` print one JSON alert', async () => {
    const root = join(MAIN, '../../..');
    const server = await startServer({ rulesYaml: readFileSync(join(root, 'rules.example.yaml'), 'utf8') });
    try {
      for (const n of [1, 2, 3]) {
        // The CLI's default secret is the example's default: no flag but the ephemeral port.
        const sent = await run(
          process.execPath,
          [
            MAIN,
            'send',
            join(root, `fixtures/idle-${n}.json`),
            '--url',
            `${server.url}/webhooks/trackpilots`,
          ],
          { cwd: root },
        );
        expect(sent.stdout).toMatch(/\b200\b/);
      }
      await waitFor('the idle-screens alert on stdout', () => alertsIn(server).length > 0, {
        explain: () => server.lines.slice(-10).join('\n'),
      });
      expect(alertsIn(server).map((alert) => alert.rule)).toEqual(['idle-screens']);
    } finally {
      await server.stop();
    }
  });
});

describe('hookrelay test --event -', () => {
  test('reads the payload from standard input and shows the alert it would send', async () => {
    const dir = tempDir();
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, rulesWith(ACTIVITY_RULE));
    const payload = JSON.stringify(sampleActivityEvent({ userId: 'user-from-stdin' }));
    const { code, stdout } = await runWithStdin([MAIN, 'test', rules, '--event', '-'], payload);
    expect(code).toBe(0);
    expect(stdout).toContain('1 item(s) from 1 event(s)');
    expect(stdout).toMatch(/ALERT activity-seen \(firing, warning\)/);
    expect(stdout).toContain('user-from-stdin');
  });

  test('invalid JSON on standard input is an input error, not a crash', async () => {
    const dir = tempDir();
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, rulesWith(ACTIVITY_RULE));
    const { code, stdout, stderr } = await runWithStdin([MAIN, 'test', rules, '--event', '-'], '{"data": [');
    expect(code).toBe(1);
    expect(stderr).toContain('event - is not valid JSON');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toBe('');
  });
});

/** runWithStdin runs node with `args`, writes `input` to its standard input and closes it. */
function runWithStdin(
  args: string[],
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
