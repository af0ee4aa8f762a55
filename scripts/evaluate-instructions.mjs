// Counts the instructions of one fixed evaluation run, for comparing two checkouts on a busy host:
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out node scripts/evaluate-instructions.mjs DIR
// DIR is a built checkout (npm run build); its dist/bench/evaluate.js runs 5,000 warm-up and 20,000 timed
// items through 100 rules. callgrind's "Collected" total repeats to within 0.1% whatever else the machine
// runs, where items/s moves by half on a shared host; it prints the alerts and state keys as a check that
// both checkouts did the same work.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = resolve(process.argv[2] ?? '.');
const { measureEvaluation } = await import(pathToFileURL(`${dir}/dist/bench/evaluate.js`).href);
/** @type {{ rows: Array<{ rules: number; firings: number; stateKeys: number }> }} */
const result = measureEvaluation({ ruleCounts: [100], count: 20_000, warmup: 5_000, rounds: 1 });
console.log(
  JSON.stringify(result.rows.map((row) => ({ rules: row.rules, alerts: row.firings, keys: row.stateKeys }))),
);
