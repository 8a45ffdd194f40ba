/**
 * Peak JS memory of a piece of streaming code: samples `process.memoryUsage()` heapUsed + arrayBuffers (V8 heap plus
 * every ArrayBuffer/Buffer alive or not yet collected, which is what a chunked reader allocates) on a timer and at
 * every call of {@link MemorySampler.sample} (hook it to the code's progress callback, which runs once per chunk).
 */

/** Bytes of JS memory as counted here: heapUsed + arrayBuffers. */
export function jsMemoryBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Peak and baseline of one measurement, in bytes. */
export interface MemoryPeak {
  /** heapUsed + arrayBuffers when sampling started. */
  readonly baseline: number;
  /** Largest heapUsed + arrayBuffers seen. */
  readonly peak: number;
  /** Number of samples taken. */
  readonly samples: number;
}

/** Samples JS memory every `intervalMs` (default 20 ms) until stopped; call sample() for extra samples. */
export class MemorySampler {
  private peak: number;
  private count = 1;
  private readonly baseline: number;
  private readonly timer: ReturnType<typeof setInterval>;
  constructor(intervalMs = 20) {
    this.baseline = jsMemoryBytes();
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }
  /** Takes one sample now (cheap: one process.memoryUsage() call). */
  readonly sample = (): void => {
    const m = jsMemoryBytes();
    if (m > this.peak) this.peak = m;
    this.count++;
  };
  /** Stops the timer and returns the peak (after one last sample). */
  stop(): MemoryPeak {
    clearInterval(this.timer);
    this.sample();
    return { baseline: this.baseline, peak: this.peak, samples: this.count };
  }
}

/** Formats bytes as MiB with one decimal. */
export const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
