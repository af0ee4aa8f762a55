/**
 * Deliveries/s and the down-destination memory figure (issue 4 §4), taken by `benchDeliveries` from
 * bench/deliver.ts. That function measures in the process that calls it, so bench/run.ts does not call it
 * in its own process: it starts `node --expose-gc dist/bench/delivery.js <options>`, which does, and prints
 * the result as JSON. Why a child:
 *   - a GC is forced before each memory reading only when `gc` is exposed, and without that heapUsed
 *     before/after says more about when V8 last collected than about the 100,000 queued alerts;
 *   - the runner's own heap (every latency sample of the ingest runs) and its idle sockets stay out of
 *     the RSS figures.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchDeliveriesOptions, type BenchDeliveriesResult, benchDeliveries } from './deliver.js';

/** DeliveryOptions are the sizes passed to benchDeliveries (its `log` is the child's stderr). */
export type DeliveryOptions = Required<Omit<BenchDeliveriesOptions, 'log'>>;

/** DeliveryRecord is the delivery part of latest.json. */
export interface DeliveryRecord {
  options: DeliveryOptions;
  /** How the child was started, for the record. */
  command: string;
  result: BenchDeliveriesResult;
  /** Whole-run wall time of the child, seconds (queueing, the down spell and both throughput runs). */
  wallSeconds: number;
}

/** Longest the child may run before it is killed: far above the ~30 s a full run takes. */
const CHILD_TIMEOUT_MS = 240_000;
const RESULT_PREFIX = 'BENCH_DELIVERY_RESULT ';

/** runDeliveryBench runs benchDeliveries in a child process and returns its figures. */
export async function runDeliveryBench(
  options: DeliveryOptions,
  log: (line: string) => void,
): Promise<DeliveryRecord> {
  const script = fileURLToPath(import.meta.url);
  const args = ['--expose-gc', script, JSON.stringify(options)];
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderrTail = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderrTail = (stderrTail + text).slice(-4_000);
    for (const line of text.split('\n')) if (line.trim() !== '') log(line);
  });
  // The exit hook makes sure an interrupted bench does not leave the child behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const status = await new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`could not start: ${error.message}`));
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
  });
  clearTimeout(timer);
  process.off('exit', killOnExit);
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (status !== 'exit code 0' || line === undefined) {
    throw new Error(`the delivery bench failed (${status}). Its last output:\n${stderrTail.trim()}`);
  }
  return {
    options,
    command: `node --expose-gc dist/bench/delivery.js '${JSON.stringify(options)}' → benchDeliveries()`,
    result: JSON.parse(line.slice(RESULT_PREFIX.length)) as BenchDeliveriesResult,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

// The child: parse the options, measure, print one result line.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = JSON.parse(process.argv[2] ?? '{}') as DeliveryOptions;
  benchDeliveries({ ...options, log: (line) => process.stderr.write(`${line}\n`) }).then(
    (result) => process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
