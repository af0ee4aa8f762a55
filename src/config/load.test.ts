// biome-ignore-all lint/suspicious/noTemplateCurlyInString: expected messages quote ${VAR} references.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { configInvalidError, formatIssue, type LoadResult, loadConfig, resolveConfigPath } from './load.js';

const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

async function load(file: string, env: NodeJS.ProcessEnv = {}): Promise<LoadResult> {
  return loadConfig(file, env, { cwd: TESTDATA });
}

async function problems(file: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const result = await load(file, env);
  if (result.ok) throw new Error(`${file} was expected to be invalid`);
  return result.issues.map(formatIssue);
}

// One fixture per way a rules file can be wrong, with the exact lines `hookrelay validate` prints.
const FAILURES: Array<{ file: string; env?: NodeJS.ProcessEnv; expected: string[] }> = [
  {
    file: 'unknown-key.yaml',
    expected: [
      'unknown-key.yaml:1:1: missing required key "destinations"',
      'unknown-key.yaml:4:1 destination: unknown key "destination" (did you mean "destinations"?)',
    ],
  },
  {
    file: 'nested-unknown-key.yaml',
    expected: [
      'nested-unknown-key.yaml:6:5 sources.trackpilots.tolerence: unknown key "tolerence" (did you mean "tolerance"?)',
      'nested-unknown-key.yaml:8:25 destinations.console.fromat: unknown key "fromat" (did you mean "format"?)',
    ],
  },
  {
    file: 'rule-keys.yaml',
    expected: [
      'rule-keys.yaml:7:5 rules[0]: missing required key "to"',
      'rule-keys.yaml:8:5 rules[0].event: unknown key "event" (did you mean "on"?)',
      'rule-keys.yaml:9:37 rules[0].if["app.productivityStatus"].eqq: unknown key "eqq" (did you mean "eq"?)',
      'rule-keys.yaml:10:5 rules[0].destinations: unknown key "destinations" (did you mean "to"?)',
    ],
  },
  {
    file: 'bad-duration.yaml',
    expected: [
      'bad-duration.yaml:6:16 sources.trackpilots.tolerance: expected a duration such as 30s, 5m, 2h or 1d, got "5 minutes"',
      'bad-duration.yaml:12:15 rules[0].cooldown: expected a duration such as 30s, 5m, 2h or 1d, got 300 (add a unit, e.g. "300s")',
    ],
  },
  {
    file: 'bad-timezone.yaml',
    expected: [
      'bad-timezone.yaml:6:15 schedules.work-hours.timezone: expected an IANA timezone such as Europe/Berlin or UTC, got "Europe/Berln" (did you mean "Europe/Berlin"?)',
      'bad-timezone.yaml:7:17 schedules.work-hours.days[1]: expected one of "mon", "tue", "wed", "thu", "fri", "sat", "sun", got "tues" (did you mean "tue"?)',
      'bad-timezone.yaml:8:12 schedules.work-hours.hours: expected a time range such as "09:00-17:30" (24-hour clock), got "09:00-25:00"',
    ],
  },
  {
    file: 'undefined-destination.yaml',
    expected: [
      'undefined-destination.yaml:9:22 rules[0].to[1]: undefined destination "ops-slack" (did you mean "team-slack"?)',
    ],
  },
  {
    // A wrong reference does not hide a rule that cannot compile: one run lists both.
    file: 'reference-and-compile-errors.yaml',
    expected: [
      'reference-and-compile-errors.yaml:9:32 rules[0].if["app.domain"].regex: invalid regular expression "/(unclosed/": missing closing ): `(unclosed` (rules use RE2 syntax: https://github.com/google/re2/wiki/Syntax)',
      'reference-and-compile-errors.yaml:10:10 rules[0].to[0]: undefined destination "consol" (did you mean "console"?)',
    ],
  },
  {
    file: 'undefined-schedule.yaml',
    expected: [
      'undefined-schedule.yaml:8:13 silences[0].during: undefined schedule "holiday" (defined: work-hours)',
      'undefined-schedule.yaml:9:25 silences[0].rules[1]: undefined rule "evrything" (did you mean "everything"?)',
      'undefined-schedule.yaml:15:13 rules[0].during: undefined schedule "work-hour" (did you mean "work-hours"?)',
    ],
  },
  {
    file: 'undefined-person.yaml',
    expected: [
      'undefined-person.yaml:13:51 rules[0].users[1]: undefined person "Ada Lovelce" (did you mean "Ada Lovelace"?)',
      'undefined-person.yaml:14:13 rules[0].teams[0]: undefined team "enginering" (did you mean "engineering"?)',
    ],
  },
  {
    file: 'duplicate-rule.yaml',
    expected: [
      'duplicate-rule.yaml:10:11 rules[1].name: duplicate rule name "everything" (first defined at duplicate-rule.yaml:7:11)',
    ],
  },
  {
    file: 'duplicate-key.yaml',
    expected: [
      'duplicate-key.yaml:6:1: duplicate key "destinations" (each key may appear once; merge the two entries)',
    ],
  },
  {
    // Kept as .txt: biome parses *.yaml and would reject the intentionally broken syntax.
    file: 'tab-indent.yaml.txt',
    expected: ['tab-indent.yaml.txt:4:1: tabs are not allowed as indentation (indent with spaces)'],
  },
  {
    file: 'unclosed-quote.yaml.txt',
    expected: ['unclosed-quote.yaml.txt:7:11: this " quote is never closed (add the closing quote)'],
  },
  {
    file: 'slack-config.yaml',
    env: { SLACK_BOT_TOKEN: 'xoxb-from-env' },
    expected: [
      'slack-config.yaml:5:3 destinations.token-only: missing required key "channel" (a bot token needs a channel id such as C0123456789)',
      'slack-config.yaml:6:3 destinations.both: give either token and channel, or webhookUrl, not both (webhookUrl posts to its own channel)',
      'slack-config.yaml:7:3 destinations.nothing: missing token and channel, or webhookUrl (a bot token with a channel id, or an incoming-webhook URL)',
      'slack-config.yaml:8:17 destinations.typo.type: expected one of "slack", "discord", "email", "webhook", "log", got "slak" (did you mean "slack"?)',
    ],
  },
  {
    file: 'source-names.yaml',
    expected: [
      'source-names.yaml:3:3 sources["Track Pilots"]: invalid source name "Track Pilots" (use lowercase letters, digits, "-" and "_": it becomes the URL /webhooks/<name>)',
      'source-names.yaml:9:20 sources.github.signedContent: unknown placeholder {bdy} (use {timestamp} and {body})',
      'source-names.yaml:9:20 sources.github.signedContent: signedContent must include {body} (a signature that does not cover the body proves nothing)',
      'source-names.yaml:9:20 sources.github.signedContent: signedContent uses {timestamp} but no timestampHeader is set (add timestampHeader, or remove {timestamp})',
      'source-names.yaml:12:15 sources.svix.secrets[0]: expected a Standard Webhooks secret such as whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, got a secret (not shown)',
    ],
  },
  {
    file: 'missing-env.yaml',
    env: { TRACKPILOTS_WEBHOOK_SECRET: 'tp-secret', OLD_SECRET: '', DISCORD_ID: '123456789012345678' },
    expected: [
      'missing-env.yaml:5:48 sources.trackpilots.secrets[1]: expected a non-empty secret, got the value of ${OLD_SECRET} (not shown)',
      'missing-env.yaml:9:65 destinations.team-discord.webhookUrl: environment variable DISCORD_TOKEN is not set (set it, or write ${DISCORD_TOKEN:-default} to fall back to a default)',
    ],
  },
  {
    file: 'multiple-errors.yaml',
    env: { SLACK_BOT_TOKEN: 'xoxb-do-not-print', SMTP_URL: 'mail.example.com:25 do-not-print' },
    expected: [
      'multiple-errors.yaml:1:10 version: expected 1, got 2',
      'multiple-errors.yaml:3:3 sources["Track Pilots"]: invalid source name "Track Pilots" (use lowercase letters, digits, "-" and "_": it becomes the URL /webhooks/<name>)',
      'multiple-errors.yaml:4:11 sources["Track Pilots"].type: expected one of "trackpilots", "hmac", "standard-webhooks", got "hmak" (did you mean "hmac"?)',
      'multiple-errors.yaml:5:16 sources["Track Pilots"].secrets[0]: environment variable MISSING_SECRET is not set (set it, or write ${MISSING_SECRET:-default} to fall back to a default)',
      'multiple-errors.yaml:7:3 destinations.team-slack: missing required key "channel" (a bot token needs a channel id such as C0123456789)',
      'multiple-errors.yaml:10:11 destinations.mail.smtp: expected an SMTP URL such as smtps://user:pass@smtp.example.com:465, got the value of ${SMTP_URL} (not shown)',
      'multiple-errors.yaml:12:9 destinations.mail.to: expected at least one address, got an empty list',
      'multiple-errors.yaml:16:15 rules[0].severity: expected one of "info", "warning", "critical", got "high"',
    ],
  },
  {
    // Values from ${VAR} are secrets: messages name the variable, never the value, and offer no did-you-mean.
    file: 'secret-reference.yaml',
    env: { TZ_NAME: 'Europe/Berln-do-not-print', ALERT_DESTINATION: 'consol-do-not-print' },
    expected: [
      'secret-reference.yaml:5:27 schedules.work-hours.timezone: expected an IANA timezone such as Europe/Berlin or UTC, got the value of ${TZ_NAME} (not shown)',
    ],
  },
  {
    file: 'secret-reference.yaml',
    env: { TZ_NAME: 'UTC', ALERT_DESTINATION: 'consol-do-not-print' },
    expected: [
      'secret-reference.yaml:12:10 rules[0].to[0]: undefined destination from ${ALERT_DESTINATION} (value not shown)',
    ],
  },
  {
    file: 'people/bad-rules.yaml',
    expected: [
      'people/bad-rules.yaml:9:11 people[4].file: cannot read people file "people/absent.csv": file not found',
      'people/bad-rules.yaml:10:11 people[5].file: unsupported people file "people.txt" (use a .csv file with a header row, or a .yaml list)',
      'people/bad-header.csv:1:4: unknown column 2 of the header row (did you mean "name"?)',
      'people/bad-people.yaml:2:3 [0].emial: unknown key "emial" (did you mean "email"?)',
      'people/bad-people.yaml:3:3 [1]: missing required key "id"',
      'people/bad-rows.csv:2:1 [0]: expected 3 fields like the header, got 2 (quote fields that contain commas)',
      'people/bad-rows.csv:3:1 [1].id: missing id',
      'people/bad-rows.csv:4:1 [2].id: duplicate person id "u-grace" (first defined at people/bad-rules.yaml:5:9)',
    ],
  },
];

describe('loadConfig rejects bad files with every issue, positioned', () => {
  it.each(FAILURES)('$file', async ({ file, env, expected: lines }) => {
    expect(await problems(file, env)).toEqual(lines);
  });

  it('never prints a value that came from the environment', async () => {
    const env = {
      SLACK_BOT_TOKEN: 'xoxb-do-not-print',
      SMTP_URL: 'mail.example.com:25 do-not-print',
      OLD_SECRET: '',
      TRACKPILOTS_WEBHOOK_SECRET: 'tp-do-not-print',
    };
    for (const { file, env: fixtureEnv } of FAILURES) {
      const result = await load(file, { ...fixtureEnv, ...env });
      const text = result.ok ? '' : result.issues.map(formatIssue).join('\n');
      expect(text).not.toContain('do-not-print');
    }
  });

  it('gives each issue a stable code', async () => {
    const result = await load('multiple-errors.yaml', { SMTP_URL: 'x', SLACK_BOT_TOKEN: 'x' });
    expect(result.ok ? [] : result.issues.map((issue) => issue.code)).toEqual([
      'HR_ERR_CONFIG_INVALID_VALUE',
      'HR_ERR_CONFIG_INVALID_VALUE',
      'HR_ERR_CONFIG_INVALID_VALUE',
      'HR_ERR_CONFIG_ENV_MISSING',
      'HR_ERR_CONFIG_MISSING_KEY',
      'HR_ERR_CONFIG_INVALID_VALUE',
      'HR_ERR_CONFIG_INVALID_VALUE',
      'HR_ERR_CONFIG_INVALID_VALUE',
    ]);
  });

  it('reports a missing file as one issue without a position', async () => {
    const result = await load('no-such-rules.yaml');
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          code: 'HR_ERR_CONFIG_UNREADABLE',
          file: 'no-such-rules.yaml',
          line: 0,
          col: 0,
          path: '',
          message: 'cannot read the rules file: file not found',
        },
      ],
    });
    expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual([
      'no-such-rules.yaml: cannot read the rules file: file not found',
    ]);
  });

  it('rejects a file that is not a map of settings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-config-'));
    try {
      writeFileSync(join(dir, 'empty.yaml'), '# nothing yet\n');
      writeFileSync(join(dir, 'list.yaml'), '- version: 1\n');
      const empty = await loadConfig('empty.yaml', {}, { cwd: dir });
      const list = await loadConfig('list.yaml', {}, { cwd: dir });
      expect(empty.ok ? [] : empty.issues.map(formatIssue)).toEqual([
        'empty.yaml:1:1: expected a map with version: 1, sources, destinations and rules, got nothing',
      ]);
      expect(list.ok ? [] : list.issues.map(formatIssue)).toEqual([
        'list.yaml:1:1: expected a map with version: 1, sources, destinations and rules, got a list',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('points at the key when its value is empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-config-'));
    try {
      const source = [
        'version: 1',
        'sources:',
        '  tp:',
        '    type: trackpilots',
        '    secrets:',
        'destinations: { console: { type: log } }',
        'rules: [{ name: all, on: "*", to: [console] }]',
      ];
      writeFileSync(join(dir, 'rules.yaml'), source.join('\n'));
      const result = await loadConfig('rules.yaml', {}, { cwd: dir });
      expect(result.ok ? [] : result.issues.map(formatIssue)).toEqual([
        'rules.yaml:5:5 sources.tp.secrets: expected a list, got nothing',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('wraps issues in one HR_ERR_CONFIG_INVALID error for callers that must fail', async () => {
    const result = await load('undefined-destination.yaml');
    const error = configInvalidError('undefined-destination.yaml', result.ok ? [] : result.issues);
    expect(error.code).toBe('HR_ERR_CONFIG_INVALID');
    expect(error.message).toBe(
      'invalid rules file undefined-destination.yaml:\n' +
        'undefined-destination.yaml:9:22 rules[0].to[1]: undefined destination "ops-slack" (did you mean "team-slack"?)',
    );
  });
});

describe('loadConfig on valid files', () => {
  it('accepts rules.example.yaml with no environment at all', async () => {
    const result = await loadConfig('rules.example.yaml', {}, { cwd: REPO });
    if (!result.ok) expect.fail(result.issues.map(formatIssue).join('\n'));
    expect(result.warnings).toEqual([]);
    const { config } = result;
    expect(Object.keys(config.raw.destinations)).toEqual(['console']);
    expect(config.raw.rules.every((rule) => rule.to.includes('console'))).toBe(true);
    expect(config.sources['trackpilots']?.secrets).toEqual(['dev-secret-change-me']);
    expect(config.people.map((p) => p.name)).toEqual(['Ada Lovelace', 'Grace Hopper']);
  });

  it('uses TRACKPILOTS_WEBHOOK_SECRET in the example when it is set', async () => {
    const result = await loadConfig(
      'rules.example.yaml',
      { TRACKPILOTS_WEBHOOK_SECRET: 'prod' },
      { cwd: REPO },
    );
    expect(result.ok && result.config.sources['trackpilots']?.secrets).toEqual(['prod']);
  });

  it('resolves durations and sizes to milliseconds and bytes, and hmac defaults', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-config-'));
    try {
      writeFileSync(
        join(dir, 'rules.yaml'),
        [
          'version: 1',
          'sources:',
          '  tp: { type: trackpilots, secrets: [a], tolerance: 90s, maxBodySize: 512kb }',
          '  gh: { type: hmac, header: x-hub-signature-256, prefix: "sha256=", secrets: [b] }',
          '  stamped: { type: hmac, header: x-sig, timestampHeader: x-ts, secrets: [c], maxBodySize: 1.5mb }',
          'destinations: { console: { type: log } }',
          'rules: [{ name: all, on: "*", to: [console] }]',
          'retention: { events: 2d }',
        ].join('\n'),
      );
      const result = await loadConfig('rules.yaml', {}, { cwd: dir });
      if (!result.ok) expect.fail(result.issues.map(formatIssue).join('\n'));
      const { sources, retention } = result.config;
      expect(sources['tp']).toMatchObject({ name: 'tp', toleranceMs: 90_000, maxBodyBytes: 512 * 1024 });
      expect(sources['gh']).toMatchObject({
        toleranceMs: 300_000,
        maxBodyBytes: 10 * 1024 * 1024,
        encoding: 'hex',
        signedContent: '{body}',
      });
      // Unset: the normaliser looks for `type`, then `event`.
      expect((sources['gh'] as { eventField?: string }).eventField).toBeUndefined();
      expect(sources['stamped']).toMatchObject({
        signedContent: '{timestamp}.{body}',
        maxBodyBytes: 1_572_864,
      });
      expect(retention.eventsMs).toBe(2 * 86_400_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('defaults retention to 7 days', async () => {
    const result = await load('unused-destination.yaml');
    expect(result.ok && result.config.retention.eventsMs).toBe(7 * 86_400_000);
  });

  it('warns about destinations and schedules nobody uses, but accepts the file', async () => {
    const result = await load('unused-destination.yaml');
    if (!result.ok) expect.fail(result.issues.map(formatIssue).join('\n'));
    expect(result.warnings.map(formatIssue)).toEqual([
      'unused-destination.yaml:5:3 schedules.nights: schedule "nights" is not used by any rule or silence',
      'unused-destination.yaml:8:3 destinations.zapier: destination "zapier" is not used by any rule (add it to a rule\'s to: list, or remove it)',
    ]);
    expect(result.warnings.map((w) => w.code)).toEqual(['HR_ERR_CONFIG_UNUSED', 'HR_ERR_CONFIG_UNUSED']);
  });

  it('reads people from a CSV file and a YAML list next to the rules file', async () => {
    const result = await load('people/rules.yaml');
    if (!result.ok) expect.fail(result.issues.map(formatIssue).join('\n'));
    expect(result.config.people).toEqual([
      { id: 'u-ada', name: 'Ada Lovelace' },
      { id: 'u-grace', name: 'Grace Hopper', email: 'grace@example.com', team: 'ops' },
      { id: 'u-alan', name: 'Turing, Alan', team: 'research' },
      { id: 'u-linus', name: 'Linus', slack: 'U0LINUS' },
    ]);
    // The raw config keeps the file reference as written.
    expect(result.config.raw.people[1]).toEqual({ file: 'people.csv' });
  });
});

describe('resolveConfigPath', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('prefers HOOKRELAY_CONFIG, then rules.yaml, then rules.example.yaml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-config-'));
    dirs.push(dir);
    expect(resolveConfigPath({ HOOKRELAY_CONFIG: '/etc/hookrelay.yaml' }, dir)).toBe('/etc/hookrelay.yaml');
    expect(resolveConfigPath({}, dir)).toBe('rules.example.yaml');
    expect(resolveConfigPath({ HOOKRELAY_CONFIG: '' }, dir)).toBe('rules.example.yaml');
    writeFileSync(join(dir, 'rules.yaml'), 'version: 1\n');
    expect(resolveConfigPath({}, dir)).toBe('rules.yaml');
  });
});
