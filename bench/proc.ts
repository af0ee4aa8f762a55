import { readdirSync, readFileSync } from 'node:fs';

/*
 * The /proc reader of the bench (Linux; every reader answers undefined, NaN or empty elsewhere): a server
 * process's RSS, peak RSS and CPU time (servers.ts samples each server with it), and the CPU time of each
 * of its threads (bench/peers/ splits hookrelay's main thread from its SQLite writer with it).
 */

/** Linux reports CPU time in clock ticks; USER_HZ is 100 on every mainstream kernel build. */
const CLOCK_TICKS_PER_SECOND = 100;

/** ProcessSample is what /proc says about a server process (Linux only; undefined elsewhere). */
export interface ProcessSample {
  rssBytes: number;
  peakRssBytes: number;
  /** User + system CPU time so far, seconds. */
  cpuSeconds: number;
  /** The same for the main thread alone (the event loop), where Linux reports it per thread. */
  mainThreadCpuSeconds?: number;
}

/** sampleProcess reads RSS, peak RSS and CPU time of `pid` from /proc; undefined where there is none. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    const cpuSeconds = cpuSecondsOf(`/proc/${pid}/stat`);
    // The main thread's id is the process id.
    const mainThreadCpuSeconds = cpuSecondsOf(`/proc/${pid}/task/${pid}/stat`);
    return {
      rssBytes: kb('VmRSS') * 1024,
      peakRssBytes: kb('VmHWM') * 1024,
      cpuSeconds,
      ...(Number.isFinite(mainThreadCpuSeconds) ? { mainThreadCpuSeconds } : {}),
    };
  } catch {
    return undefined;
  }
}

/** cpuSecondsOf reads user + system CPU time from a /proc stat file (NaN when it cannot). */
export function cpuSecondsOf(statPath: string): number {
  try {
    const stat = readFileSync(statPath, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** threadCpuSeconds reads utime + stime of every thread of `pid`, by thread id; empty where there is no /proc. */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const result = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return result;
  }
  for (const tid of tids) {
    const seconds = cpuSecondsOf(`/proc/${pid}/task/${tid}/stat`);
    // NaN: the thread ended between the listing and the read.
    if (Number.isFinite(seconds)) result.set(Number(tid), seconds);
  }
  return result;
}
