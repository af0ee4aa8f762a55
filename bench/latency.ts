/** LatencySummary is in milliseconds; percentiles use the nearest-rank method over every sample. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * LatencyRecorder keeps every sample (a 10 s run is at most a few hundred thousand doubles) so
 * percentiles are exact, at sub-millisecond resolution, and computed the same way for every load
 * generator. autocannon's own histogram rounds to whole milliseconds, too coarse for a 1–2 ms p50.
 */
export class LatencyRecorder {
  private samples = new Float64Array(65_536);
  private size = 0;

  add(ms: number): void {
    if (this.size === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.size++] = ms;
  }

  /** addAll copies every sample of `other` into this recorder (to pool several runs). */
  addAll(other: LatencyRecorder): void {
    for (let i = 0; i < other.size; i++) this.add(other.samples[i] as number);
  }

  get count(): number {
    return this.size;
  }

  summary(): LatencySummary {
    if (this.size === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const sorted = this.samples.slice(0, this.size).sort();
    let total = 0;
    for (const value of sorted) total += value;
    const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
    return {
      count: sorted.length,
      mean: round(total / sorted.length),
      p50: round(at(50)),
      p90: round(at(90)),
      p99: round(at(99)),
      max: round(sorted[sorted.length - 1] as number),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
