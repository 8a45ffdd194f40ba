/**
 * GPU timestamps for benches, without touching the engine: a Node GPU context whose device has 'timestamp-query',
 * and an encoder wrapper that adds timestampWrites to every compute pass the kernels begin (dispatch() begins one
 * pass per dispatch), so the time of a recorded sequence is the sum over its passes of (end − beginning) in ns.
 */
import { chooseVulkanDriver } from '../src/node/gpu';
import { createGpuContext, submitAndWait, type GpuContext } from '../src/engine/gpu/context';

let keep: GPU | undefined; // the Dawn instance must outlive its devices

/**
 * A GpuContext made by the engine's own createGpuContext, on a device that also has 'timestamp-query'.
 * @throws Error when the adapter lacks timestamp-query (then GPU times cannot be measured).
 */
export async function createTimedContext(): Promise<GpuContext> {
  chooseVulkanDriver();
  if (!keep) {
    const { create, globals } = (await import('webgpu')) as { create: (o: string[]) => GPU; globals: object };
    Object.assign(globalThis, globals);
    keep = create([]);
  }
  const real = keep;
  const gpu = {
    requestAdapter: async (o?: GPURequestAdapterOptions) => {
      const adapter = await real.requestAdapter(o);
      if (!adapter) return null;
      if (!adapter.features.has('timestamp-query')) throw new Error(`adapter ${adapter.info.description} has no timestamp-query`);
      const requestDevice = adapter.requestDevice.bind(adapter);
      return new Proxy(adapter, {
        get: (t, k) => (k === 'requestDevice' ? (d?: GPUDeviceDescriptor) => requestDevice({ ...d, requiredFeatures: [...(d?.requiredFeatures ?? []), 'timestamp-query'] }) : Reflect.get(t, k, t)),
      });
    },
  } as unknown as GPU;
  return createGpuContext(gpu);
}

const MAX_PASSES = 2048; // 4096 timestamps: the WebGPU maximum query count

/**
 * Records `record(enc)` `reps` times into one command buffer with a timestamp pair on each compute pass, submits,
 * waits and returns the summed GPU time of those passes in seconds (not the gaps between passes).
 */
export async function gpuSeconds(ctx: GpuContext, record: (enc: GPUCommandEncoder) => void, reps = 1): Promise<number> {
  const { device } = ctx;
  const querySet = device.createQuerySet({ type: 'timestamp', count: MAX_PASSES * 2 });
  const enc = device.createCommandEncoder();
  let passes = 0;
  const timed = new Proxy(enc, {
    get: (t, k) => {
      if (k !== 'beginComputePass') { const v = Reflect.get(t, k, t) as unknown; return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v; }
      return (d?: GPUComputePassDescriptor) => {
        if (passes >= MAX_PASSES) throw new Error(`gpuSeconds: more than ${MAX_PASSES} passes`);
        const i = passes++;
        return t.beginComputePass({ ...d, timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      };
    },
  });
  for (let r = 0; r < reps; r++) record(timed);
  const n = Math.max(1, passes) * 2;
  const resolve = device.createBuffer({ size: n * 8, usage: 0x200 | 0x4 /* QUERY_RESOLVE | COPY_SRC */ });
  const read = device.createBuffer({ size: n * 8, usage: 0x1 | 0x8 /* MAP_READ | COPY_DST */ });
  enc.resolveQuerySet(querySet, 0, n, resolve, 0);
  enc.copyBufferToBuffer(resolve, 0, read, 0, n * 8);
  await submitAndWait(ctx, [enc.finish()]);
  await read.mapAsync(0x1);
  const t = new BigInt64Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const b of [read, resolve]) b.destroy();
  querySet.destroy();
  let ns = 0n;
  for (let i = 0; i < passes; i++) ns += (t[2 * i + 1] as bigint) - (t[2 * i] as bigint);
  return Number(ns) / 1e9;
}
