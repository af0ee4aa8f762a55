import type { ProcessSample } from '../proc.js';

/**
 * Usage is what a process spent between two /proc samples (bench/proc.ts sampleProcess reads utime + stime
 * from /proc/<pid>/stat and VmHWM from /proc/<pid>/status): CPU-seconds of all its threads over a wall
 * interval.
 */
export interface Usage {
  cpuSeconds: number;
  /** The main thread's share, where Linux reports it per thread. */
  mainThreadCpuSeconds?: number;
  wallSeconds: number;
}

export function usageBetween(
  before: ProcessSample | undefined,
  after: ProcessSample | undefined,
  wallSeconds: number,
): Usage | undefined {
  if (!before || !after) return undefined;
  const main =
    after.mainThreadCpuSeconds !== undefined && before.mainThreadCpuSeconds !== undefined
      ? { mainThreadCpuSeconds: after.mainThreadCpuSeconds - before.mainThreadCpuSeconds }
      : {};
  return { cpuSeconds: after.cpuSeconds - before.cpuSeconds, ...main, wallSeconds };
}

/** median of a non-empty list (NaN for an empty one). */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** addThreadDeltas adds after − before per thread into `into`. */
export function addThreadDeltas(
  into: Map<number, number>,
  before: Map<number, number>,
  after: Map<number, number>,
): void {
  for (const [tid, seconds] of after) {
    into.set(tid, (into.get(tid) ?? 0) + seconds - (before.get(tid) ?? 0));
  }
}
