/**
 * Where a training micro-batch spends its time: GPU timestamps per kernel (gpu/profiler.ts), dispatch and pass
 * counts, the host time to encode it, and its wall time without the profiler. Used by `shadowft profile` and the
 * benches; the numbers are what the speed work of the engine is judged by.
 */
import type { Batch } from '../../io/dataset/types';
import type { GpuContext } from '../gpu/context';
import { submitAndWait } from '../gpu/context';
import { dispatchStats, resetDispatchStats } from '../gpu/pipeline';
import { startProfiler, summarizeTimings } from '../gpu/profiler';
import type { Activations } from '../model/activations';
import type { LoraParams } from '../model/lora';
import { recordBackward, recordForward, uploadBatch, type GpuModel } from '../model/model';

/** One kernel's share of a profiled micro-batch. */
export interface KernelTime {
  /** Kernel label, e.g. "attention.backward.dkdv". */
  readonly label: string;
  /** GPU time summed over its dispatches, milliseconds. */
  readonly ms: number;
  readonly dispatches: number;
}

/** Result of {@link profileMicroBatch}. */
export interface MicroBatchProfile {
  /** B and T of the micro-batch. */
  readonly B: number;
  readonly T: number;
  /** Per kernel, largest first (from GPU timestamps; one pass per dispatch while profiling). */
  readonly kernels: readonly KernelTime[];
  /** Sum of all kernels' GPU time, ms. */
  readonly gpuMs: number;
  /** Dispatches and compute passes of one micro-batch as recorded on the training path (passes merged). */
  readonly dispatches: number;
  readonly passes: number;
  /** Bind groups and pipelines created while encoding the steady-state micro-batch (0 when all were cached). */
  readonly bindGroupsCreated: number;
  readonly pipelinesCreated: number;
  /** Host (CPU) time to encode the micro-batch, ms (median of `repeats`). */
  readonly hostEncodeMs: number;
  /** Wall time of encode + submit + wait without the profiler, ms (median of `repeats`). */
  readonly wallMs: number;
  /** Passes the profiler could not time (query set full). */
  readonly untimedPasses: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Profiles forward + backward (training mode) of one micro-batch. Runs it once to compile the pipelines and fill
 * the caches, `repeats` times for wall and encode time, then once with GPU timestamps per dispatch.
 * LoRA gradients accumulate into `lora`'s gradient buffers (zero them before a real step).
 * @throws ProfilerUnavailableError when the device lacks timestamp-query; errors of the kernels.
 */
export async function profileMicroBatch(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams, batch: Batch, repeats = 3): Promise<MicroBatchProfile> {
  const gradScale = 1 / Math.max(1, batch.numItems);
  const record = (label: string): GPUCommandEncoder => {
    const s = uploadBatch(ctx, model, acts, batch);
    const enc = ctx.device.createCommandEncoder({ label });
    recordForward(ctx, enc, model, acts, lora, s);
    recordBackward(ctx, enc, model, acts, lora, s, gradScale);
    return enc;
  };
  await submitAndWait(ctx, [record('profile.warmup').finish()]);
  const wall: number[] = [];
  const host: number[] = [];
  let counts = { dispatches: 0, passes: 0, bindGroupsCreated: 0, pipelinesCreated: 0 };
  for (let i = 0; i < repeats; i++) {
    resetDispatchStats(ctx);
    const t0 = performance.now();
    const enc = record('profile.timed');
    const buf = enc.finish();
    const t1 = performance.now();
    await submitAndWait(ctx, [buf]);
    wall.push(performance.now() - t0);
    host.push(t1 - t0);
    const st = dispatchStats(ctx);
    counts = { dispatches: st.dispatches, passes: st.passesBegun, bindGroupsCreated: st.bindGroupsCreated, pipelinesCreated: st.pipelinesCreated };
  }
  const profiler = startProfiler(ctx);
  let timings;
  try {
    await submitAndWait(ctx, [record('profile.timestamps').finish()]);
  } finally {
    timings = await profiler.finish();
  }
  const kernels = summarizeTimings(timings).map((k) => ({ label: k.label, ms: k.ns / 1e6, dispatches: k.count }));
  return {
    B: batch.batchSize, T: batch.seqLen, kernels, gpuMs: kernels.reduce((a, k) => a + k.ms, 0),
    ...counts, hostEncodeMs: median(host), wallMs: median(wall), untimedPasses: profiler.dropped,
  };
}

/** A fixed-width text table of a profile (what `shadowft profile` prints). */
export function profileTable(p: MicroBatchProfile): string {
  const lines = [`micro-batch B ${p.B} × T ${p.T}: GPU ${p.gpuMs.toFixed(1)} ms in ${p.dispatches} dispatches / ${p.passes} passes; host encode ${p.hostEncodeMs.toFixed(2)} ms (${((p.hostEncodeMs * 1000) / Math.max(1, p.dispatches)).toFixed(1)} µs/dispatch); wall ${p.wallMs.toFixed(1)} ms`];
  lines.push(`created while encoding the steady-state micro-batch: ${p.bindGroupsCreated} bind groups, ${p.pipelinesCreated} pipelines`);
  if (p.untimedPasses) lines.push(`warning: ${p.untimedPasses} passes were not timed (profiler capacity)`);
  lines.push('kernel'.padEnd(36) + 'dispatches'.padStart(11) + 'GPU ms'.padStart(12) + 'share'.padStart(8));
  for (const k of p.kernels) lines.push(k.label.padEnd(36) + String(k.dispatches).padStart(11) + k.ms.toFixed(2).padStart(12) + `${((100 * k.ms) / p.gpuMs).toFixed(1)}%`.padStart(8));
  return lines.join('\n') + '\n';
}
