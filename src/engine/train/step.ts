/**
 * One optimizer step (micro-batches with gradient accumulation → global-norm clipping → AdamW) and held-out loss.
 * Loss normalisation follows HF Trainer (≥ 4.46): the sum of token losses over all micro-batches of the step divided
 * by the step's total number of label tokens (num_items_in_batch), so accumulation equals one big batch.
 */
import type { Batch } from '../../io/dataset/types';
import type { GpuContext } from '../gpu/context';
import { submitAndWait, withErrorScopes } from '../gpu/context';
import { readF32 } from '../gpu/buffers';
import { adamwStep } from '../kernels/adamw';
import { sumOfSquares, sumValues } from '../kernels/sumsq';
import type { Activations } from '../model/activations';
import type { LoraParams } from '../model/lora';
import { recordBackward, recordForward, uploadBatch, type GpuModel } from '../model/model';
import { pcgHash } from './rng';
import { createStepStats, NORM_OFFSET, runStep, type StepResult } from './stepSkeleton';

/** AdamW + clipping hyper-parameters of one step (torch.optim.AdamW, clip_grad_norm_). */
export interface OptimStep {
  readonly lr: number;
  /** 1-based AdamW step count t */
  readonly step: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** 0 = no clipping */
  readonly maxGradNorm: number;
  /** run seed; with the step and micro-batch index it seeds the LoRA dropout masks (default 0) */
  readonly seed?: number;
}

export { createStepStats, NORM_OFFSET, type StepResult };

/**
 * Records the end of an optimizer step on accumulated LoRA gradients: the global gradient norm² over every part in a
 * fixed order into `normSq`, then AdamW with global-norm clipping on every part (torch clip_grad_norm_ + AdamW).
 * @param normSq f32 binding (one float) that receives Σ g²
 */
export function recordClipAdamW(ctx: GpuContext, enc: GPUCommandEncoder, lora: LoraParams, opt: OptimStep, normSq: { buffer: GPUBuffer; offset: number; size: number }): void {
  lora.parts.forEach((part, k) => sumOfSquares(ctx, enc, { n: part.numel, x: part.grads, out: normSq, accumulate: k > 0 }));
  for (const part of lora.parts) {
    adamwStep(ctx, enc, {
      n: part.numel, params: part.params, grads: part.grads, m: part.m, v: part.v, gradNormSq: normSq,
      maxGradNorm: opt.maxGradNorm, lr: opt.lr, beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, weightDecay: opt.weightDecay, step: opt.step,
    });
  }
}

/**
 * Runs forward + backward on each micro-batch (grads accumulate), then clips and applies AdamW once (over every
 * part of the LoRA buffers; the global norm sums all parts in a fixed order). The micro-batches are submitted one
 * after the other without waiting; the summed token loss stays on the GPU and is read back once, with the gradient
 * norm, after the optimizer.
 * @param stats buffer from {@link createStepStats} (reused across steps); a transient one when omitted
 * @param signal when given and the step has several micro-batches, each micro-batch is waited for and the signal
 *   checked before the next one (so a cancel takes effect within one micro-batch); an aborted step leaves the
 *   LoRA parameters and AdamW moments as they were before it (only the gradient buffers were written).
 * @throws Error when the micro-batches hold no label tokens (nothing to learn from); GpuCommandError naming the
 *   kernel when the device reports an error; the signal's reason (an AbortError) when it aborted mid-step.
 */
export async function trainStep(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams, micro: readonly Batch[], opt: OptimStep, stats?: GPUBuffer, signal?: AbortSignal): Promise<StepResult> {
  return runStep(ctx, micro, {
    label: 'train',
    step: opt.step,
    zeroGrads: (enc) => {
      for (const part of lora.parts) enc.clearBuffer(part.grads);
    },
    microBatch: (enc, b, i, gradScale, lossSum) => {
      const seed = pcgHash((pcgHash(opt.seed ?? 0) ^ pcgHash(opt.step * 4099 + i)) >>> 0);
      const s = { ...uploadBatch(ctx, model, acts, b), dropoutSeed: seed };
      recordForward(ctx, enc, model, acts, lora, s);
      sumValues(ctx, enc, { n: b.batchSize * b.seqLen, x: acts.losses, out: lossSum, accumulate: i > 0 });
      recordBackward(ctx, enc, model, acts, lora, s, gradScale);
    },
    optimizer: (enc, normSq) => recordClipAdamW(ctx, enc, lora, opt, normSq),
  }, stats, signal);
}

/** Progress of {@link evaluateLoss}: batches and padded tokens done so far, of the totals. */
export interface EvalProgress {
  readonly batch: number;
  readonly batches: number;
  readonly tokens: number;
  readonly totalTokens: number;
}

/**
 * Mean token NLL of `batches` (forward only), with LoRA when given. Each batch is submitted without reading
 * anything back; the token losses are summed on the GPU and read once at the end.
 * @param onProgress called after each batch has finished on the GPU
 * @returns loss in nats per label token; NaN when the batches hold no label tokens or the signal aborted
 * @throws GpuCommandError naming the kernel when the device reports an error.
 */
export async function evaluateLoss(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams | null, batches: readonly Batch[], signal?: AbortSignal, onProgress?: (p: EvalProgress) => void): Promise<number> {
  let items = 0;
  let tokens = 0;
  const totalTokens = batches.reduce((a, b) => a + b.batchSize * b.seqLen, 0);
  const st = createStepStats(ctx);
  const lossSum = { buffer: st, offset: 0, size: 4 };
  try {
    for (const [i, b] of batches.entries()) {
      if (signal?.aborted) return NaN;
      const s = uploadBatch(ctx, model, acts, b);
      const enc = ctx.device.createCommandEncoder({ label: `eval batch ${i + 1}/${batches.length}` });
      recordForward(ctx, enc, model, acts, lora, s);
      sumValues(ctx, enc, { n: b.batchSize * b.seqLen, x: acts.losses, out: lossSum, accumulate: i > 0 });
      await submitAndWait(ctx, [enc.finish()]);
      items += b.numItems;
      tokens += b.batchSize * b.seqLen;
      onProgress?.({ batch: i + 1, batches: batches.length, tokens, totalTokens });
    }
    if (!items) return NaN;
    return ((await readF32(ctx, st, 0, 1))[0] as number) / items;
  } finally {
    st.destroy();
  }
}
