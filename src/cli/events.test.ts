import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
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
    expect(help.out()).toContain('usage: hookrelay events [--limit N] [--json] [--source S] [--type T]');
    const unknown = io();
    expect(await runEvents(['--sourc', 'x'], unknown)).toBe(2);
    expect(unknown.err()).toContain("Unknown option '--sourc'");
  });
});
