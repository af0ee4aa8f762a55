import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { enqueue, openTempStore, T0, type TempStore } from '../deliver/testdata/harness.js';
import type { AttemptRecord } from '../store/ports.js';
import { runDlq } from './dlq.js';

let temp: TempStore;
beforeEach(async () => {
  temp = await openTempStore();
});
afterEach(async () => {
  await temp.close();
});

function io(env: NodeJS.ProcessEnv = { HOOKRELAY_DB: `sqlite:${temp.path}` }) {
  return captureIo({ env });
}

const attempt = (
  at: number,
  outcome: AttemptRecord['outcome'],
  reason: string,
  detail: string,
): AttemptRecord => ({
  at,
  durationMs: 12,
  outcome,
  reason,
  detail,
});

/** deadLetters makes `ids` dead letters of `destination` the way the deliverer does: claim, fail, give up. */
async function deadLetters(
  destination: string,
  ids: string[],
  reason = 'payloadRejected: HTTP 400',
): Promise<void> {
  await enqueue(temp.store, destination, ids);
  const claimed = await temp.store.outbox.claim({
    now: T0,
    leaseMs: 60_000,
    limitPerDestination: ids.length,
    destinations: [destination],
  });
  for (const [index, notification] of claimed.entries()) {
    await temp.store.outbox.scheduleRetry(notification.id, {
      dueAt: T0,
      attempt: attempt(T0, 'retry', 'serverError', 'HTTP 503'),
    });
    await temp.store.outbox.claim({
      now: T0,
      leaseMs: 60_000,
      limitPerDestination: 1,
      destinations: [destination],
    });
    await temp.store.outbox.deadLetter(notification.id, {
      reason,
      attempt: attempt(T0 + 1_000 + index, 'dead', 'payloadRejected', 'HTTP 400: bad field'),
    });
  }
}

describe('hookrelay dlq list', () => {
  it('says so when there are none', async () => {
    const cli = io();
    expect(await runDlq(['list'], cli)).toBe(0);
    expect(cli.out()).toBe('no dead letters\n');
  });

  it('shows a table, newest first, with the reason cut to fit', async () => {
    await deadLetters('zapier', ['n1', 'n2']);
    await deadLetters('team-slack', ['s1'], `clientError: ${'x'.repeat(100)}`);
    const cli = io();
    expect(await runDlq(['list'], cli)).toBe(0);
    const lines = cli.out().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+DESTINATION\s+RULE\s+ATTEMPTS\s+DEAD AT\s+REASON$/);
    // Newest first: by dead-at time, then the later write.
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 5))).toEqual([
      ['n2', 'zapier', 'went-quiet', '2', '2026-03-02T10:15:01.001Z'],
      ['s1', 'team-slack', 'went-quiet', '2', '2026-03-02T10:15:01.000Z'],
      ['n1', 'zapier', 'went-quiet', '2', '2026-03-02T10:15:01.000Z'],
    ]);
    expect(lines[2]?.endsWith(`clientError: ${'x'.repeat(58)}…`)).toBe(true);
    expect(lines[3]?.endsWith('payloadRejected: HTTP 400')).toBe(true);
  });

  it('filters by destination and limits; --json gives every attempt', async () => {
    await deadLetters('zapier', ['n1', 'n2']);
    await deadLetters('team-slack', ['s1']);
    const cli = io();
    expect(await runDlq(['list', '--json', '--destination', 'zapier', '--limit', '1'], cli)).toBe(0);
    const records = cli
      .out()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      id: 'n2',
      destination: 'zapier',
      rule: 'went-quiet',
      reason: 'payloadRejected: HTTP 400',
      deadAt: '2026-03-02T10:15:01.001Z',
      alert: { id: 'n2', title: 'alert n2' },
      attempts: [
        {
          at: '2026-03-02T10:15:00.000Z',
          outcome: 'retry',
          reason: 'serverError',
          detail: 'HTTP 503',
          durationMs: 12,
        },
        {
          at: '2026-03-02T10:15:01.001Z',
          outcome: 'dead',
          reason: 'payloadRejected',
          detail: 'HTTP 400: bad field',
        },
      ],
    });
  });

  it('refuses a bad --limit or a stray argument with exit code 2', async () => {
    for (const args of [
      ['list', '--limit', '0'],
      ['list', '--limit', 'ten'],
      ['list', 'extra'],
      ['list', '--nope'],
    ]) {
      const cli = io();
      expect(await runDlq(args, cli)).toBe(2);
      expect(cli.err()).toContain('usage: hookrelay dlq');
    }
  });
});

describe('hookrelay dlq replay', () => {
  it('requeues the ids given, in their place, and exits 1 naming the ids that are not dead letters', async () => {
    await deadLetters('zapier', ['n1', 'n2']);
    const cli = io();
    expect(await runDlq(['replay', 'n1', 'nope'], cli)).toBe(1);
    expect(cli.out()).toBe('requeued 1 dead letter\n');
    expect(cli.err()).toBe('not a dead letter (unknown id, or not dead): nope\n');
    expect(await temp.store.outbox.pendingCounts()).toEqual({ zapier: 1 });
    expect((await temp.store.deadLetters.listDead({ limit: 10 })).map((l) => l.notification.id)).toEqual([
      'n2',
    ]);
  });

  it('requeues a destination and resumes it; --all requeues everything', async () => {
    await deadLetters('zapier', ['n1', 'n2']);
    await deadLetters('team-slack', ['s1']);
    await temp.store.deadLetters.pauseDestination('zapier', { reason: 'authError: HTTP 401', at: T0 });
    const byDestination = io();
    expect(await runDlq(['replay', '--destination', 'zapier'], byDestination)).toBe(0);
    expect(byDestination.out()).toBe('requeued 2 dead letters; resumed zapier\n');
    expect(await temp.store.deadLetters.listPausedDestinations()).toEqual([]);

    const all = io();
    expect(await runDlq(['replay', '--all'], all)).toBe(0);
    expect(all.out()).toBe('requeued 1 dead letter\n');
    expect(await temp.store.outbox.pendingCounts()).toEqual({ zapier: 2, 'team-slack': 1 });
  });

  it('takes exactly one way of choosing', async () => {
    for (const args of [['replay'], ['replay', 'n1', '--all'], ['replay', '--all', '--destination', 'x']]) {
      const cli = io();
      expect(await runDlq(args, cli)).toBe(2);
      expect(cli.err()).toContain('exactly one');
    }
  });
});

describe('hookrelay dlq paused / resume', () => {
  it('lists paused destinations and why, and resumes one', async () => {
    await enqueue(temp.store, 'team-slack', ['s1', 's2']);
    await temp.store.deadLetters.pauseDestination('team-slack', {
      reason: 'notFound: slack chat.postMessage: channel_not_found (invite the bot)',
      at: T0,
    });
    const list = io();
    expect(await runDlq(['paused'], list)).toBe(0);
    expect(list.out()).toBe(
      'DESTINATION  PAUSED AT                 REASON\n' +
        'team-slack   2026-03-02T10:15:00.000Z  notFound: slack chat.postMessage: channel_not_found (invite the bot)\n',
    );
    const json = io();
    expect(await runDlq(['paused', '--json'], json)).toBe(0);
    expect(JSON.parse(json.out())).toEqual({
      destination: 'team-slack',
      reason: 'notFound: slack chat.postMessage: channel_not_found (invite the bot)',
      pausedAt: '2026-03-02T10:15:00.000Z',
    });

    const resume = io();
    expect(await runDlq(['resume', 'team-slack'], resume)).toBe(0);
    expect(resume.out()).toBe('resumed team-slack; 2 pending notification(s) will be sent\n');
    const again = io();
    expect(await runDlq(['resume', 'team-slack'], again)).toBe(1);
    expect(again.err()).toBe('hookrelay dlq resume: "team-slack" is not paused; no destination is paused\n');
    const none = io();
    expect(await runDlq(['paused'], none)).toBe(0);
    expect(none.out()).toBe('no destination is paused\n');
  });

  it('exits 1 for a destination that is not paused, with a did-you-mean among the paused ones', async () => {
    await temp.store.deadLetters.pauseDestination('team-slack', { reason: 'authError: HTTP 401', at: T0 });
    await temp.store.deadLetters.pauseDestination('zapier', { reason: 'authError: HTTP 401', at: T0 });
    const typo = io();
    expect(await runDlq(['resume', 'team-slak'], typo)).toBe(1);
    expect(typo.err()).toBe('hookrelay dlq resume: "team-slak" is not paused (did you mean "team-slack"?)\n');
    const other = io();
    expect(await runDlq(['resume', 'mail'], other)).toBe(1);
    expect(other.err()).toBe('hookrelay dlq resume: "mail" is not paused (paused: team-slack, zapier)\n');
    expect(await temp.store.deadLetters.listPausedDestinations()).toHaveLength(2);
  });

  it('needs exactly one name to resume', async () => {
    for (const args of [['resume'], ['resume', 'a', 'b']]) {
      const cli = io();
      expect(await runDlq(args, cli)).toBe(2);
      expect(cli.err()).toContain('resume takes exactly one destination name');
    }
  });
});

describe('hookrelay dlq usage and failures', () => {
  it('prints usage: to stdout when asked, to stderr with exit 2 otherwise', async () => {
    const help = io();
    expect(await runDlq(['--help'], help)).toBe(0);
    expect(help.out()).toContain('replay <id...> | --all | --destination D');
    const bare = io();
    expect(await runDlq([], bare)).toBe(2);
    expect(bare.err()).toContain('usage: hookrelay dlq');
    const unknown = io();
    expect(await runDlq(['purge'], unknown)).toBe(2);
    expect(unknown.err()).toContain('unknown command "purge"');
  });

  it('--json with nothing to list prints nothing on stdout (JSON Lines) and says so on stderr', async () => {
    for (const command of ['list', 'paused']) {
      const cli = io();
      expect(await runDlq([command, '--json'], cli)).toBe(0);
      expect(cli.out()).toBe('');
      expect(cli.err()).toMatch(/^no (dead letters|destination is paused)\n$/);
    }
  });

  it('reports a missing database instead of creating one, for every subcommand', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hookrelay-dlq-')), 'missing.db');
    for (const args of [['list'], ['paused'], ['replay', '--all'], ['resume', 'x']]) {
      const cli = io({ HOOKRELAY_DB: `sqlite:${path}` });
      expect(await runDlq(args, cli)).toBe(1);
      expect(cli.err()).toContain(`no database at ${path}`);
    }
    expect(existsSync(path)).toBe(false);
  });

  it('exits 1 when the database cannot be opened, without echoing a password', async () => {
    const cli = io({ HOOKRELAY_DB: 'postgres://hookrelay:s3cret-pw@db.example/hookrelay' });
    expect(await runDlq(['list'], cli)).toBe(1);
    expect(cli.err()).toContain('hookrelay dlq: cannot open the database:');
    expect(cli.err()).not.toContain('s3cret-pw');
  });
});
