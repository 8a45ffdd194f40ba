/**
 * Helpers of bench/step.bench.ts for full-parameter training (not a bench file itself):
 * - {@link timeFullSteps}: median wall time of trainFullStep on a checkpoint (f32 masters, every weight gradient,
 *   AdamW on every tensor) and its required GFLOP/s (plan/flops.ts requiredFullStepFlops: forward, input gradients,
 *   attention, lm_head, plus dW = dyᵀ·x of every linear and the head's dE);
 * - {@link weightGradGflops}: GFLOP/s of a linear's weight-gradient product dW [out, in] = dyᵀ·x (K = tokens,
 *   matmulAuto as the backward records it) beside its forward y = x·Wᵀ (f32 W, the masters' dtype), GPU timestamps.
 */
import type { Checkpoint } from '../src/io/checkpoint';
import type { ModelConfig } from '../src/io/config/types';
import type { Batch } from '../src/io/dataset/types';
import { createStorage, uploadStorage } from '../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../src/engine/gpu/context';
import { startProfiler } from '../src/engine/gpu/profiler';
import { matmulAuto, matmulVariant, regMaxKFor, type MatmulArgs } from '../src/engine/kernels/matmul';
import { createActivations } from '../src/engine/model/activations';
import { createFullParams } from '../src/engine/model/fullParams';
import { makeGpuModel } from '../src/engine/model/model';
import { requiredFullStepFlops } from '../src/engine/plan/flops';
import { trainFullStep } from '../src/engine/train/fullStep';
import { createStepStats } from '../src/engine/train/step';

/**
 * Times `repeats` full-parameter steps on `micro` after one warm-up step.
 * @returns required GFLOP/s of the median step (and emits `<label>_step_seconds`)
 */
export async function timeFullSteps(ctx: GpuContext, emit: (line: string) => void, label: string, cfg: ModelConfig, ckpt: Checkpoint, micro: readonly Batch[], repeats: number, recompute = false): Promise<number> {
  const B = Math.max(...micro.map((b) => b.batchSize));
  const T = Math.max(...micro.map((b) => b.seqLen));
  const full = await createFullParams(ctx, cfg, ckpt, { maxTokens: B * T });
  const acts = createActivations(ctx, cfg, B, T, 0, [], { recompute });
  const stats = createStepStats(ctx);
  const model = makeGpuModel(cfg, full.weights);
  const opt = { lr: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1, seed: 1 };
  try {
    await trainFullStep(ctx, model, acts, full, micro, { ...opt, step: 1 }, stats);
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await trainFullStep(ctx, model, acts, full, micro, { ...opt, step: i + 2 }, stats);
      times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    const sec = times[Math.floor(times.length / 2)] as number;
    const flops = micro.reduce((a, b) => a + requiredFullStepFlops(cfg, b.batchSize, b.seqLen, true).total, 0);
    emit(`${label}_step_seconds: ${sec.toFixed(3)} (median of ${repeats}; ${(flops / 1e9).toFixed(3)} required GFLOP, ${full.trainableParams.toLocaleString('en-US')} trainable parameters, ${(full.bytes / 2 ** 20).toFixed(1)} MiB of training state)`);
    return flops / sec / 1e9;
  } finally {
    stats.destroy();
    acts.destroy();
    full.destroy();
  }
}

async function seconds(ctx: GpuContext, args: MatmulArgs, reps: number): Promise<number> {
  let enc = ctx.device.createCommandEncoder();
  matmulAuto(ctx, enc, args);
  await submitAndWait(ctx, [enc.finish()]);
  const prof = startProfiler(ctx);
  enc = ctx.device.createCommandEncoder();
  for (let r = 0; r < reps; r++) matmulAuto(ctx, enc, args);
  await submitAndWait(ctx, [enc.finish()]);
  return (await prof.finish()).reduce((a, x) => a + x.ns, 0) / 1e9;
}

/** Forward and weight-gradient GFLOP/s of a linear [out, in] over `tokens` rows; emits one line. */
export async function weightGradGflops(ctx: GpuContext, emit: (line: string) => void, tokens: number, out: number, inF: number, reps = 3): Promise<void> {
  const x = uploadStorage(ctx, new Float32Array(tokens * inF).fill(0.5), 'bench.x');
  const dy = uploadStorage(ctx, new Float32Array(tokens * out).fill(0.25), 'bench.dy');
  const w = uploadStorage(ctx, new Float32Array(out * inF).fill(0.125), 'bench.w');
  const y = createStorage(ctx, tokens * out * 4, 'bench.y');
  const dW = createStorage(ctx, out * inF * 4, 'bench.dW');
  const flops = 2 * tokens * out * inF * reps;
  const fwd = flops / (await seconds(ctx, { M: tokens, N: out, K: inF, a: x, w, wDtype: 'F32', transB: true, out: y }, reps)) / 1e9;
  const grad = flops / (await seconds(ctx, { M: out, N: inF, K: tokens, a: dy, transA: true, w: x, wDtype: 'F32', transB: false, out: dW, accumulate: true }, reps)) / 1e9;
  emit(`weight_grad_gflops_${tokens}x${out}x${inF}: forward x·Wᵀ ${fwd.toFixed(2)} (${matmulVariant(tokens, out, inF, regMaxKFor(ctx.adapter))}), dW = dyᵀ·x ${grad.toFixed(2)} (${matmulVariant(out, inF, tokens, regMaxKFor(ctx.adapter))}; ratio ${(grad / fwd).toFixed(2)})`);
  for (const b of [x, dy, w, y, dW]) b.destroy();
}
