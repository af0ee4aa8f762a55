import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type ServerHandle, serveEnv, startServer } from '../servers.js';
import { BODY_SIGNATURE_HEADER } from './wrk.js';

/*
 * How each process of the peer comparison is started: adnanh/webhook and Alertmanager from their Debian
 * binaries, hookrelay as `node dist/src/main.js serve`, each on a free port of 127.0.0.1, each a fresh
 * process per round so its peak RSS (VmHWM) belongs to that round alone.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root: above dist/bench/peers/ when built, above bench/peers/ when a test imports the source. */
const ROOT = basename(resolve(HERE, '../..')) === 'dist' ? resolve(HERE, '../../..') : resolve(HERE, '../..');
export const MAIN_JS = join(ROOT, 'dist/src/main.js');
/** The bare node:http server of bench/baseline-server.ts, built. */
export const BASELINE_JS = join(ROOT, 'dist/bench/baseline-server.js');
export const SOURCE = 'bench';
const READY_TIMEOUT_MS = 30_000;

/** Started is a running server and the path its requests go to. */
export interface Started {
  server: ServerHandle;
  url: URL;
  /** How it was started, for the report. */
  command: string;
}

/**
 * hooksJson is adnanh/webhook's configuration: one hook whose trigger rule checks an HMAC-SHA256 of the
 * body on a header and the event type in the payload. No command: the peer does no work after the match
 * (no storage), which is the fastest it can be; hookrelay also stores every item durably.
 */
export function hooksJson(secret: string, eventType: string): string {
  return `${JSON.stringify(
    [
      {
        id: SOURCE,
        'execute-command': '',
        'response-message': 'ok',
        'trigger-rule-mismatch-http-response-code': 401,
        'trigger-rule': {
          and: [
            {
              match: {
                type: 'payload-hmac-sha256',
                secret,
                parameter: { source: 'header', name: BODY_SIGNATURE_HEADER },
              },
            },
            { match: { type: 'value', value: eventType, parameter: { source: 'payload', name: 'event' } } },
          ],
        },
      },
    ],
    null,
    2,
  )}\n`;
}

export async function startWebhook(
  binary: string,
  workDir: string,
  secret: string,
  eventType: string,
): Promise<Started> {
  const hooks = join(workDir, `hooks-${eventType}.json`);
  await writeFile(hooks, hooksJson(secret, eventType));
  const port = await freePort();
  const args = ['-hooks', hooks, '-ip', '127.0.0.1', '-port', String(port)];
  const server = await startServer({
    name: 'adnanh/webhook',
    command: binary,
    args,
    port,
    env: { PATH: process.env.PATH ?? '' },
    // webhook answers "OK" on / once it listens.
    readyPath: '/',
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  return {
    server,
    url: new URL(`/hooks/${SOURCE}`, server.origin),
    command: `webhook -hooks hooks.json -ip 127.0.0.1 -port ${port}`,
  };
}

/**
 * startBaseline starts the bare node:http server the ingest scenarios of `npm run bench` measure against
 * (bench/baseline-server.ts): it reads each body whole and answers 200 `{}`, on any path, verifying and
 * storing nothing. Beside the peers it is the ceiling: what any Node HTTP server reaches on this host.
 */
export async function startBaseline(): Promise<Started> {
  const port = await freePort();
  const server = await startServer({
    name: 'node:http baseline',
    args: [BASELINE_JS],
    port,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1' },
    readyPath: '/readyz',
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  return {
    server,
    url: new URL(`/webhooks/${SOURCE}`, server.origin),
    command: `node dist/bench/baseline-server.js (PORT=${port})`,
  };
}

/**
 * alertmanagerYaml sends every alert on its own at once (group_by: ['...'] makes each alert its own
 * group, group_wait 0s) to the sink, and never repeats it within the run.
 */
export function alertmanagerYaml(sinkUrl: string): string {
  return `# Written by npm run bench -- --peers.
route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 24h
receivers:
  - name: sink
    webhook_configs:
      - url: ${JSON.stringify(sinkUrl)}
        send_resolved: false
`;
}

export async function startAlertmanager(binary: string, workDir: string, sinkUrl: string): Promise<Started> {
  const dir = join(workDir, `alertmanager-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'alertmanager.yml');
  await writeFile(config, alertmanagerYaml(sinkUrl));
  const port = await freePort();
  const args = [
    `--config.file=${config}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // One node: no gossip cluster.
    '--cluster.listen-address=',
    '--log.level=warn',
  ];
  const server = await startServer({
    name: 'Alertmanager',
    command: binary,
    args,
    port,
    env: { PATH: process.env.PATH ?? '' },
    readyPath: '/-/ready',
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  return {
    server,
    url: new URL('/api/v2/alerts', server.origin),
    command: `prometheus-alertmanager --config.file=… --storage.path=… --cluster.listen-address= (group_wait 0s, group_by ['...'], webhook receiver)`,
  };
}

/** hookrelayRules: the bench source and, with a sink, one rule sending every app item to it. */
export function hookrelayRules(secret: string, sinkUrl?: string): string {
  if (sinkUrl === undefined) {
    return `# Written by npm run bench -- --peers. One source and no rules: ingest alone.
version: 1
sources:
  ${SOURCE}:
    type: trackpilots
    secrets: ["${secret}"]
destinations: {}
rules: []
`;
  }
  return `# Written by npm run bench -- --peers. Every app item is one alert at the sink.
version: 1
sources:
  ${SOURCE}:
    type: trackpilots
    secrets: ["${secret}"]
destinations:
  sink:
    type: webhook
    url: "${sinkUrl}"
    allowPrivateNetworks: true
    # No rate: block: the defaults a user gets.
rules:
  - name: every-app-item
    on: desktop.app_tracking.captured
    to: [sink]
`;
}

export interface HookrelayOptions {
  workDir: string;
  secret: string;
  /** A label for the rules and database file names. */
  label: string;
  sinkUrl?: string;
  /** Where a V8 CPU profile goes (node --cpu-prof), when one is wanted. */
  profileDir?: string;
}

export async function startHookrelay(options: HookrelayOptions): Promise<Started> {
  const rules = join(options.workDir, `rules-${options.label}.yaml`);
  await writeFile(rules, hookrelayRules(options.secret, options.sinkUrl));
  const port = await freePort();
  const profileArgs =
    options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`];
  const database = join(options.workDir, `${options.label}-${Date.now()}.db`);
  const server = await startServer({
    name: 'hookrelay serve',
    args: [...profileArgs, MAIN_JS, 'serve'],
    port,
    env: serveEnv(port, rules, `sqlite:${database}`),
    readyPath: '/readyz',
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  return {
    server,
    url: new URL(`/webhooks/${SOURCE}`, server.origin),
    command: `node ${profileArgs.length > 0 ? '--cpu-prof ' : ''}dist/src/main.js serve (LOG_LEVEL=warn, HOOKRELAY_DB=sqlite:<tmp file>)`,
  };
}

/** metricSum sums every sample of a metric (any labels, or none) in hookrelay's /metrics. */
export async function metricSum(origin: string, name: string, labelFilter = ''): Promise<number> {
  const response = await fetch(new URL('/metrics', origin));
  const text = await response.text();
  let sum = 0;
  const pattern = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm');
  for (const match of text.matchAll(pattern)) {
    if (labelFilter !== '' && !(match[1] ?? '').includes(labelFilter)) continue;
    sum += Number(match[2]);
  }
  return sum;
}

/**
 * saveProfileCounts writes `hookrelay-<pid>.counts.json` beside the profiles that process will write as it
 * stops: the events it stored, the alerts it delivered and the CPU it used, which bench/peers/profile.ts
 * divides by.
 */
export async function saveProfileCounts(started: Started, dir: string, label: string): Promise<void> {
  const sample = started.server.sample();
  const counts = {
    pid: started.server.pid,
    label,
    // CPU of the whole life of the process (start-up and warm-up included), from /proc.
    cpuSeconds: sample?.cpuSeconds ?? Number.NaN,
    mainThreadCpuSeconds: sample?.mainThreadCpuSeconds ?? Number.NaN,
    events: await metricSum(started.server.origin, 'hookrelay_events_stored_total'),
    deliveries: await metricSum(started.server.origin, 'hookrelay_deliveries_total', 'outcome="delivered"'),
  };
  await writeFile(join(dir, `hookrelay-${counts.pid}.counts.json`), `${JSON.stringify(counts)}\n`);
}
