/**
 * GPU timestamps per compute pass (the `timestamp-query` feature): while a profiler is active on a device, every
 * dispatch runs in its own pass whose begin/end timestamps are written to a query set, so each kernel's GPU time
 * can be summed by label. Used by `shadowft profile` and the benches; never on the training path.
 * Source: WebGPU spec §20 "Queries" (GPUComputePassTimestampWrites, resolveQuerySet).
 */
import type { GpuContext } from './context';

/** GPU time of one profiled pass. */
export interface PassTiming {
  /** The kernel's label, e.g. "matmul.forward". */
  readonly label: string;
  /** End − begin timestamp, nanoseconds. */
  readonly ns: number;
}

/** Thrown when the device was created without the `timestamp-query` feature. */
export class ProfilerUnavailableError extends Error {
  override name = 'ProfilerUnavailableError';
}

const active = new WeakMap<GPUDevice, GpuProfiler>();

/** The profiler recording on `device`, if any (read by passes.ts for every new pass). */
export function activeProfiler(device: GPUDevice): GpuProfiler | undefined {
  return active.get(device);
}

/** Collects begin/end timestamps of up to `capacity` passes; passes past that are counted in `dropped`. */
export class GpuProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly labels: string[] = [];
  /** Passes recorded after the query set was full (not timed). */
  dropped = 0;

  constructor(private readonly ctx: GpuContext, readonly capacity: number) {
    this.querySet = ctx.device.createQuerySet({ label: 'profiler', type: 'timestamp', count: capacity * 2 });
  }

  /** Reserves the timestamp slots of the next pass, or undefined when the set is full. */
  nextSlot(label: string): GPUComputePassTimestampWrites | undefined {
    if (this.labels.length >= this.capacity) {
      this.dropped++;
      return undefined;
    }
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Number of passes timed so far. */
  get passes(): number {
    return this.labels.length;
  }

  /**
   * Waits for the submitted work, resolves the timestamps and returns one timing per pass, in recording order.
   * Stops recording (the device's profiler slot is freed) and destroys the query set.
   */
  async finish(): Promise<PassTiming[]> {
    if (active.get(this.ctx.device) === this) active.delete(this.ctx.device);
    const n = this.labels.length;
    if (n === 0) {
      this.querySet.destroy();
      return [];
    }
    const { device } = this.ctx;
    const bytes = n * 16;
    const resolve = device.createBuffer({ label: 'profiler.resolve', size: bytes, usage: 0x200 | 0x4 /* QUERY_RESOLVE | COPY_SRC */ });
    const read = device.createBuffer({ label: 'profiler.read', size: bytes, usage: 0x1 | 0x8 /* MAP_READ | COPY_DST */ });
    const enc = device.createCommandEncoder({ label: 'profiler.resolve' });
    enc.resolveQuerySet(this.querySet, 0, 2 * n, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, read, 0, bytes);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(0x1);
    const t = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    read.destroy();
    resolve.destroy();
    this.querySet.destroy();
    return this.labels.map((label, i) => ({ label, ns: Math.max(0, Number((t[2 * i + 1] as bigint) - (t[2 * i] as bigint))) }));
  }
}

/**
 * Starts timing every pass recorded on `ctx`'s device from now on.
 * @param capacity passes to time (2 timestamps each; WebGPU allows at most 4096 queries per set, so ≤ 2048)
 * @throws ProfilerUnavailableError without `timestamp-query`; Error when a profiler is already active.
 */
export function startProfiler(ctx: GpuContext, capacity = 2048): GpuProfiler {
  if (!ctx.device.features.has('timestamp-query')) throw new ProfilerUnavailableError(`this device has no timestamp-query feature (adapter ${ctx.adapter.architecture || ctx.adapter.description}); GPU times per kernel cannot be measured`);
  if (active.has(ctx.device)) throw new Error('a GPU profiler is already active on this device');
  const p = new GpuProfiler(ctx, capacity);
  active.set(ctx.device, p);
  return p;
}

/** Sums timings by label: [label, total ns, passes], largest total first. */
export function summarizeTimings(timings: readonly PassTiming[]): Array<{ label: string; ns: number; count: number }> {
  const by = new Map<string, { label: string; ns: number; count: number }>();
  for (const t of timings) {
    const e = by.get(t.label) ?? { label: t.label, ns: 0, count: 0 };
    e.ns += t.ns;
    e.count++;
    by.set(t.label, e);
  }
  return [...by.values()].sort((a, b) => b.ns - a.ns);
}
