import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequestStream, type StreamOptions } from '../bodies.js';

/**
 * The wrk driver. wrk's Lua has no HMAC, so every request is signed here beforehand and written to a pool
 * file, one request a line; each wrk thread loads its own share of the lines in `init` and sends them in
 * turn. Every line is a distinct body (bodies.ts), so hookrelay stores each one instead of deduplicating,
 * and a pool is written fresh for each round, just before it, so its one signed timestamp is seconds old
 * (well inside the 5-minute replay window). A pool sized too small wraps round; the report says so
 * (`wraps`), since repeated bodies would be duplicates for hookrelay.
 *
 * Each request carries both signatures over the same bytes: `x-webhook-signature` (Trackpilots: HMAC of
 * `timestamp.body`, what hookrelay checks) and `x-body-signature: sha256=<HMAC of body>` (what
 * adnanh/webhook's `payload-hmac-sha256` rule checks). So both servers get identical requests.
 */

export const BODY_SIGNATURE_HEADER = 'x-body-signature';
const THREADS = 2;

/** WrkResult is what one wrk run reports (its Lua `done` prints it as JSON). */
export interface WrkResult {
  /** Responses of any status. */
  requests: number;
  /** Responses that were not 2xx/3xx. */
  non2xx: number;
  /** Socket errors and timeouts. */
  errors: number;
  durationSec: number;
  /** 2xx/3xx answers per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** How many times a thread ran out of pool and started again (0 unless the pool was too small). */
  wraps: number;
}

/** writePool signs `count` distinct requests from `stream` into `file` (the first line is the timestamp). */
export async function writePool(file: string, count: number, options: StreamOptions): Promise<void> {
  const stream = createRequestStream(options);
  const out = createWriteStream(file);
  let timestampWritten = false;
  let chunk = '';
  for (let i = 0; i < count; i++) {
    const request = stream.next();
    if (!timestampWritten) {
      chunk += `${request.headers['x-webhook-timestamp']}\n`;
      timestampWritten = true;
    }
    const bodySignature = createHmac('sha256', options.secret).update(request.body).digest('hex');
    // Bodies are JSON.stringify output: no raw tab or newline can occur inside them.
    chunk += `${request.headers['x-webhook-signature']}\t${bodySignature}\t${request.body.toString('utf8')}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** luaScript is the wrk script sending the pool at `poolFile` to `path`. */
export function luaScript(poolFile: string, path: string): string {
  return `-- Written by npm run bench -- --peers (bench/peers/wrk.ts).
local pool_file = ${JSON.stringify(poolFile)}
local path = ${JSON.stringify(path)}
local stride = ${THREADS}
local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local pool = {}
local next_i = 0
wraps = 0

function init(args)
  local i = -1
  local timestamp
  for line in io.lines(pool_file) do
    if i == -1 then
      timestamp = line
    elseif i % stride == index then
      local t1 = line:find("\\t", 1, true)
      local t2 = line:find("\\t", t1 + 1, true)
      local headers = {
        ["Content-Type"] = "application/json",
        ["x-webhook-timestamp"] = timestamp,
        ["x-webhook-signature"] = line:sub(1, t1 - 1),
        ["${BODY_SIGNATURE_HEADER}"] = "sha256=" .. line:sub(t1 + 1, t2 - 1),
      }
      pool[#pool + 1] = wrk.format("POST", path, headers, line:sub(t2 + 1))
    end
    i = i + 1
  end
end

function request()
  next_i = next_i + 1
  if next_i > #pool then
    next_i = 1
    wraps = wraps + 1
  end
  return pool[next_i]
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + t:get("wraps") end
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"wraps":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), w))
end
`;
}

/** WrkRun says what to load, how hard and for how long. */
export interface WrkRun {
  wrk: string;
  url: URL;
  poolFile: string;
  /** Where the script goes. */
  workDir: string;
  connections: number;
  durationSec: number;
}

/** runWrk runs wrk once and parses what its `done` printed; it throws with wrk's output when it fails. */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  if (run.url.hostname !== '127.0.0.1')
    throw new Error(`the bench only loads 127.0.0.1, not ${run.url.hostname}`);
  const script = join(run.workDir, 'bench.lua');
  await writeFile(script, luaScript(run.poolFile, run.url.pathname));
  const args = [
    `-t${THREADS}`,
    `-c${run.connections}`,
    `-d${run.durationSec}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    run.url.origin,
  ];
  const child = spawn(run.wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = /^WRK_JSON (.*)$/m.exec(output)?.[1];
  if (code !== 0 || line === undefined) {
    throw new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${output.trim()}`);
  }
  return parseWrkJson(line);
}

/** parseWrkJson turns the Lua `done` line into a WrkResult. */
export function parseWrkJson(line: string): WrkResult {
  const raw = JSON.parse(line) as Record<string, number>;
  const n = (key: string) => {
    const value = raw[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`wrk: no ${key} in ${line}`);
    return value;
  };
  const durationSec = n('durationUs') / 1e6;
  const non2xx = n('status');
  const ok = n('requests') - non2xx;
  return {
    requests: n('requests'),
    non2xx,
    errors: n('connect') + n('read') + n('write') + n('timeout'),
    durationSec,
    rps: durationSec > 0 ? Math.round(ok / durationSec) : 0,
    p50Ms: n('p50Us') / 1000,
    p99Ms: n('p99Us') / 1000,
    wraps: n('wraps'),
  };
}
