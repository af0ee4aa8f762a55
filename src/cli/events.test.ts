import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { waitFor } from '../../test/helpers/wait.js';
import { openTempStore, type TempStore } from '../deliver/testdata/harness.js';
import { normalizeTrackpilots } from '../ingest/normalize/trackpilots.js';
import { runEvents } from './events.js';
import { sampleActivityEvent, sampleAppEvent } from './send-samples.js';

let temp: TempStore;
beforeEach(async () => {
  temp = await openTempStore();
});
afterEach(async () => {
  await temp.close();
});

function io() {
  return captureIo({ env: { HOOKRELAY_DB: `sqlite:${temp.path}` } });
}

/** store appends a payload as the receiver would: normalised by the real Trackpilots normaliser. */
async function store(source: string, payload: { event: string }, receivedAt: number): Promise<void> {
  const normalised = normalizeTrackpilots(payload, { source, receivedAt });
  if (!normalised.ok) throw new Error(normalised.reason);
  const body = Buffer.from(JSON.stringify(payload));
  await temp.store.events.append({
    request: { source, event: normalised.event, receivedAt, body },
    events: normalised.events,
  });
}

async function listed(
  args: string[],
): Promise<Array<{ seq: number; source: string; event: string; user: string }>> {
  const cli = io();
  expect(await runEvents([...args, '--json'], cli)).toBe(0);
  return cli
    .out()
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { seq: number; source: string; event: string; user: string });
}

describe('hookrelay events', () => {
  it('says how to send one when nothing is stored yet', async () => {
    const cli = io();
    expect(await runEvents([], cli)).toBe(0);
    expect(cli.out()).toBe('no events stored yet: send one with `hookrelay send`\n');
  });

  it('lists newest first, with --limit, --source and --type', async () => {
    const activity = sampleActivityEvent({ userId: 'ada' });
    await store('trackpilots', activity, 1_000);
    await store('trackpilots', sampleAppEvent({ userId: 'bob' }), 2_000);
    await store('staging', sampleActivityEvent({ userId: 'cy' }), 3_000);

    const all = await listed([]);
    expect(all).toHaveLength(14);
    expect(all.map((row) => row.seq)).toEqual([...all.map((row) => row.seq)].sort((a, b) => b - a));
    expect(all[0]).toMatchObject({ source: 'staging', user: 'cy' });

    expect(await listed(['--limit', '2'])).toHaveLength(2);
    expect((await listed(['--source', 'staging'])).map((row) => row.user)).toEqual(['cy']);
    const activities = await listed(['--source', 'trackpilots', '--type', activity.event]);
    expect(activities.map((row) => row.user)).toEqual(['ada']);
  });

  it.each([['0'], ['10001'], ['ten']])('refuses --limit %s with exit 2 and the usage', async (limit) => {
    const cli = io();
    expect(await runEvents(['--limit', limit], cli)).toBe(2);
    expect(cli.err()).toContain('--limit must be a whole number from 1 to 10000');
    expect(cli.err()).toContain('usage: hookrelay events');
  });

  it('prints its usage on --help and exits 0; an unknown option exits 2', async () => {
    const help = io();
    expect(await runEvents(['--help'], help)).toBe(0);
    expect(help.out()).toMatch(/^usage: hookrelay events \[--limit N\] \[--json\]/);
    const unknown = io();
    expect(await runEvents(['--sourc', 'x'], unknown)).toBe(2);
    expect(unknown.err()).toContain("Unknown option '--sourc'");
  });
});

const HOUR = 3_600_000;

describe('hookrelay events: honest messages, filters, paging, show, follow (issue 9 §4)', () => {
  it('reports a missing database instead of creating one', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hookrelay-events-')), 'missing.db');
    const cli = captureIo({ env: { HOOKRELAY_DB: `sqlite:${path}` } });
    expect(await runEvents([], cli)).toBe(1);
    expect(cli.err()).toContain(`no database at ${path}`);
    expect(cli.err()).toContain('HR_ERR_STORE_NOT_FOUND');
    expect(existsSync(path)).toBe(false);
    const show = captureIo({ env: { HOOKRELAY_DB: `sqlite:${path}` } });
    expect(await runEvents(['show', '1'], show)).toBe(1);
    expect(existsSync(path)).toBe(false);
  });

  it('says "no events match" when filters leave nothing of a non-empty log; --json then prints nothing', async () => {
    await store('trackpilots', sampleActivityEvent({ userId: 'ada' }), Date.now());
    const text = io();
    expect(await runEvents(['--user', 'nobody'], text)).toBe(0);
    expect(text.out()).toBe('no events match --user nobody (the newest stored event is seq 1)\n');
    const json = io();
    expect(await runEvents(['--user', 'nobody', '--json'], json)).toBe(0);
    expect(json.out()).toBe('');
    expect(json.err()).toBe('no events match --user nobody (the newest stored event is seq 1)\n');
    await temp.close();
    temp = await openTempStore();
    const fresh = captureIo({ env: { HOOKRELAY_DB: `sqlite:${temp.path}` } });
    expect(await runEvents(['--json'], fresh)).toBe(0);
    expect(fresh.out()).toBe('');
    expect(fresh.err()).toBe('no events stored yet: send one with `hookrelay send`\n');
  });

  it('filters by --user, --since and a --type glob as in on:', async () => {
    const now = Date.now();
    await store('trackpilots', sampleActivityEvent({ userId: 'ada' }), now - 3 * HOUR);
    await store('trackpilots', sampleAppEvent({ userId: 'bob', items: 2 }), now - 30 * 60_000);
    await store('trackpilots', sampleActivityEvent({ userId: 'bob' }), now);
    expect((await listed(['--user', 'bob'])).map((row) => row.event)).toEqual([
      'desktop.activity_tracking.captured',
      'desktop.app_tracking.captured',
      'desktop.app_tracking.captured',
    ]);
    expect((await listed(['--since', '1h'])).map((row) => row.user)).toEqual(['bob', 'bob', 'bob']);
    expect((await listed(['--type', 'desktop.activity*'])).map((row) => row.user)).toEqual(['bob', 'ada']);
    expect(
      (await listed(['--type', '*.app_tracking.*', '--type', 'x.*', '--since', '2h'])).map((row) => row.user),
    ).toEqual(['bob', 'bob']);
    const bad = io();
    expect(await runEvents(['--since', 'yesterday'], bad)).toBe(2);
    expect(bad.err()).toContain('--since takes a duration such as 30m, 1h or 2d, or an ISO time');
  });

  it('pages with --before and --after and says how to get the next page', async () => {
    await store('trackpilots', sampleAppEvent({ userId: 'ada', items: 5 }), Date.now());
    const seqs = (await listed([])).map((row) => row.seq);
    const [s5, s4, s3, s2, s1] = seqs as [number, number, number, number, number];
    expect((await listed(['--before', String(s3), '--limit', '5'])).map((row) => row.seq)).toEqual([s2, s1]);
    expect((await listed(['--after', String(s1), '--limit', '2'])).map((row) => row.seq)).toEqual([s3, s2]);
    const page = io();
    expect(await runEvents(['--limit', '2'], page), page.err()).toBe(0);
    expect(page.out().trim().split('\n')).toHaveLength(2);
    expect(page.err()).toBe(`more: hookrelay events --limit 2 --before ${s4}\n`);
    expect(s5).toBeGreaterThan(s4);
    const bad = io();
    expect(await runEvents(['--before', 'x'], bad)).toBe(2);
    expect(bad.err()).toContain('--before must be a seq');
  });

  it('shows one event in full by seq; an unknown seq exits 1', async () => {
    await store('trackpilots', sampleActivityEvent({ userId: 'ada' }), Date.now());
    const [row] = await listed([]);
    const json = io();
    expect(await runEvents(['show', String(row?.seq), '--json'], json)).toBe(0);
    const shown = JSON.parse(json.out()) as { seq: number; item: { user: string; raw: unknown } };
    expect(shown.seq).toBe(row?.seq);
    expect(shown.item.user).toBe('ada');
    expect(shown.item.raw).toBeDefined();
    const text = io();
    expect(await runEvents(['show', String(row?.seq)], text)).toBe(0);
    expect(text.out()).toContain('"user": "ada"');
    const unknown = io();
    expect(await runEvents(['show', '999999'], unknown)).toBe(1);
    expect(unknown.err()).toContain('no event with seq 999999');
    const bad = io();
    expect(await runEvents(['show'], bad)).toBe(2);
  });

  it('--follow prints the newest events oldest first, then each new one, until stopped', async () => {
    await store('trackpilots', sampleActivityEvent({ userId: 'first' }), Date.now());
    const stop = new AbortController();
    const cli = { ...io(), untilStopped: () => stop.signal };
    const running = runEvents(['--follow', '--json'], cli);
    const users = () =>
      cli
        .out()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as { user: string }).user);
    await waitFor('the stored event', () => users().includes('first'));
    await store('trackpilots', sampleActivityEvent({ userId: 'second' }), Date.now());
    await store('trackpilots', sampleActivityEvent({ userId: 'third' }), Date.now());
    await waitFor('the new events', () => users().length === 3, { timeoutMs: 15_000 });
    expect(users()).toEqual(['first', 'second', 'third']);
    stop.abort();
    expect(await running).toBe(0);
  });
});
