/**
 * GPU timestamps for benches, through the engine's own profiler (src/engine/gpu/profiler.ts): while it is active
 * every dispatch runs in its own pass with a timestamp pair, so the time of a recorded sequence is the sum of its
 * kernels' (end − beginning) in ns, without the gaps between them.
 */
import { submitAndWait, type GpuContext } from '../src/engine/gpu/context';
import { startProfiler } from '../src/engine/gpu/profiler';
import { createNodeGpuContext } from '../src/node/gpu';

/**
 * The engine's Node GPU context (it asks for 'timestamp-query' when the adapter has it).
 * @throws Error when the adapter lacks timestamp-query (then GPU times cannot be measured).
 */
export async function createTimedContext(): Promise<GpuContext> {
  const ctx = await createNodeGpuContext();
  if (!ctx.device.features.has('timestamp-query')) throw new Error(`adapter ${ctx.adapter.description} has no timestamp-query`);
  return ctx;
}

/**
 * Records `record(enc)` `reps` times into one command buffer with the profiler active, submits, waits and returns
 * the summed GPU time of the dispatches in seconds.
 * @throws Error when more dispatches were recorded than the profiler can time (2048).
 */
export async function gpuSeconds(ctx: GpuContext, record: (enc: GPUCommandEncoder) => void, reps = 1): Promise<number> {
  const prof = startProfiler(ctx);
  let timings;
  try {
    const enc = ctx.device.createCommandEncoder();
    for (let r = 0; r < reps; r++) record(enc);
    await submitAndWait(ctx, [enc.finish()]);
  } finally {
    timings = await prof.finish();
  }
  if (prof.dropped) throw new Error(`gpuSeconds: ${prof.dropped} dispatches past the profiler's ${prof.capacity} were not timed`);
  return timings.reduce((a, t) => a + t.ns, 0) / 1e9;
}
