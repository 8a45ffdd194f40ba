/**
 * GPU time per kernel of ONE decode step (M = 1 at position P after a prefill of P tokens), from timestamp queries
 * (gpu/profiler.ts: every dispatch in its own pass while profiling), with the dispatch count. For benches and
 * docs/performance.md; never on the generation path (the profiler splits passes, which costs time itself).
 */
import { submitAndWait, type GpuContext } from '../gpu/context';
import { writeBytes } from '../gpu/buffers';
import { dispatchStats } from '../gpu/pipeline';
import { startProfiler, summarizeTimings } from '../gpu/profiler';
import type { LoraParams } from '../model/lora';
import type { GpuModel } from '../model/model';
import { createStorage } from '../gpu/buffers';
import { createGenBuffers } from './buffers';
import { recordForwardRows } from './forward';

/** Per-kernel GPU time of one decode step. */
export interface DecodeProfile {
  /** prompt tokens before the profiled step (its position) */
  readonly position: number;
  /** dispatches recorded for the step */
  readonly dispatches: number;
  /** Σ kernel GPU time, ms */
  readonly gpuMs: number;
  /** by kernel label, largest first: total ms and dispatch count */
  readonly kernels: ReadonlyArray<{ label: string; ms: number; count: number }>;
}

/**
 * Prefills `promptIds` (not timed), then times one decode step of `nextId` with the profiler.
 * @throws ProfilerUnavailableError without timestamp-query; GenerateError-like Errors for ids that do not fit.
 */
export async function profileDecodeStep(ctx: GpuContext, model: GpuModel, promptIds: readonly number[], nextId: number, lora: LoraParams | null = null): Promise<DecodeProfile> {
  const P = promptIds.length;
  const b = createGenBuffers(ctx, model.cfg, P + 1);
  const u = lora ? createStorage(ctx, (P + 1) * lora.r * 4, 'generate.profile.lora_u') : null;
  const fl = lora && u ? { p: lora, u } : null;
  try {
    writeBytes(ctx, b.ids, 0, Int32Array.from(promptIds));
    let enc = ctx.device.createCommandEncoder({ label: 'generate.profile.prefill' });
    recordForwardRows(ctx, enc, model, b, fl, P, 0);
    await submitAndWait(ctx, [enc.finish()]);
    // A first unprofiled decode step compiles the M = 1 pipelines; the profiled one re-runs the same position.
    writeBytes(ctx, b.ids, 0, Int32Array.from([nextId]));
    enc = ctx.device.createCommandEncoder({ label: 'generate.profile.warmup' });
    recordForwardRows(ctx, enc, model, b, fl, 1, P);
    await submitAndWait(ctx, [enc.finish()]);
    const before = dispatchStats(ctx).dispatches;
    const prof = startProfiler(ctx);
    let timings;
    try {
      enc = ctx.device.createCommandEncoder({ label: 'generate.profile.decode' });
      recordForwardRows(ctx, enc, model, b, fl, 1, P);
      await submitAndWait(ctx, [enc.finish()]);
    } finally {
      timings = await prof.finish();
    }
    const dispatches = dispatchStats(ctx).dispatches - before;
    const kernels = summarizeTimings(timings).map((k) => ({ label: k.label, ms: k.ns / 1e6, count: k.count }));
    return { position: P, dispatches, gpuMs: kernels.reduce((a, k) => a + k.ms, 0), kernels };
  } finally {
    b.destroy();
    u?.destroy();
  }
}

/** The profile as a text table (kernel, ms, share, dispatches). */
export function decodeProfileTable(p: DecodeProfile): string {
  const rows = p.kernels.map((k) => `${k.label.padEnd(28)} ${k.ms.toFixed(3).padStart(9)} ms ${((100 * k.ms) / p.gpuMs).toFixed(1).padStart(5)} %  ${String(k.count).padStart(4)}`);
  return [`decode step at position ${p.position}: ${p.dispatches} dispatches, ${p.gpuMs.toFixed(3)} ms GPU`, ...rows].join('\n') + '\n';
}
