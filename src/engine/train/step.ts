/**
 * One optimizer step (micro-batches with gradient accumulation → global-norm clipping → AdamW) and held-out loss.
 * Loss normalisation follows HF Trainer (≥ 4.46): the sum of token losses over all micro-batches of the step divided
 * by the step's total number of label tokens (num_items_in_batch), so accumulation equals one big batch.
 */
import type { Batch } from '../../io/dataset/types';
import type { GpuContext } from '../gpu/context';
import { submitAndWait } from '../gpu/context';
import { createStorage, readF32 } from '../gpu/buffers';
import { adamwStep } from '../kernels/adamw';
import { sumOfSquares } from '../kernels/sumsq';
import type { Activations } from '../model/activations';
import type { LoraParams } from '../model/lora';
import { recordBackward, recordForward, uploadBatch, type GpuModel } from '../model/model';
import { pcgHash } from '../reference/dropout';

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

/** Result of one optimizer step. */
export interface StepResult {
  /** mean token NLL over the step's label tokens (nats) */
  readonly loss: number;
  /** global L2 norm of the LoRA gradients before clipping */
  readonly gradNorm: number;
  readonly numItems: number;
  /** tokens (B·T, padding included) processed */
  readonly tokens: number;
}

async function sumLosses(ctx: GpuContext, acts: Activations, M: number): Promise<number> {
  const l = await readF32(ctx, acts.losses, 0, M);
  let s = 0;
  for (let i = 0; i < M; i++) s += l[i] as number;
  return s;
}

/**
 * Runs forward + backward on each micro-batch (grads accumulate), then clips and applies AdamW once (over every
 * part of the LoRA buffers; the global norm sums all parts in a fixed order).
 * @throws Error when the micro-batches hold no label tokens (nothing to learn from).
 */
export async function trainStep(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams, micro: readonly Batch[], opt: OptimStep, normSq?: GPUBuffer): Promise<StepResult> {
  const numItems = micro.reduce((a, b) => a + b.numItems, 0);
  if (numItems === 0) throw new Error('this optimizer step has no label tokens (every label is -100); check max length and the chat template');
  const gradScale = 1 / numItems;
  let lossSum = 0;
  let tokens = 0;
  const zero = ctx.device.createCommandEncoder({ label: 'zero-grads' });
  for (const part of lora.parts) zero.clearBuffer(part.grads);
  ctx.device.queue.submit([zero.finish()]);
  for (const [i, b] of micro.entries()) {
    const seed = pcgHash((pcgHash(opt.seed ?? 0) ^ pcgHash(opt.step * 4099 + i)) >>> 0);
    const s = { ...uploadBatch(ctx, model, acts, b), dropoutSeed: seed };
    const enc = ctx.device.createCommandEncoder({ label: 'train.micro-batch' });
    recordForward(ctx, enc, model, acts, lora, s);
    recordBackward(ctx, enc, model, acts, lora, s, gradScale);
    await submitAndWait(ctx, [enc.finish()]);
    lossSum += await sumLosses(ctx, acts, b.batchSize * b.seqLen);
    tokens += b.batchSize * b.seqLen;
  }
  const nsq = normSq ?? createStorage(ctx, 4, 'grad-norm-sq');
  const enc = ctx.device.createCommandEncoder({ label: 'train.optimizer' });
  lora.parts.forEach((part, k) => sumOfSquares(ctx, enc, { n: part.numel, x: part.grads, out: nsq, accumulate: k > 0 }));
  for (const part of lora.parts) {
    adamwStep(ctx, enc, {
      n: part.numel, params: part.params, grads: part.grads, m: part.m, v: part.v, gradNormSq: nsq,
      maxGradNorm: opt.maxGradNorm, lr: opt.lr, beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, weightDecay: opt.weightDecay, step: opt.step,
    });
  }
  await submitAndWait(ctx, [enc.finish()]);
  const gradNorm = Math.sqrt((await readF32(ctx, nsq, 0, 1))[0] as number);
  if (!normSq) nsq.destroy();
  return { loss: lossSum / numItems, gradNorm, numItems, tokens };
}

/**
 * Mean token NLL of `batches` (forward only), with LoRA when given.
 * @returns loss in nats per label token; NaN when the batches hold no label tokens
 */
export async function evaluateLoss(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams | null, batches: readonly Batch[], signal?: AbortSignal): Promise<number> {
  let lossSum = 0;
  let items = 0;
  for (const b of batches) {
    if (signal?.aborted) break;
    const s = uploadBatch(ctx, model, acts, b);
    const enc = ctx.device.createCommandEncoder({ label: 'eval' });
    recordForward(ctx, enc, model, acts, lora, s);
    await submitAndWait(ctx, [enc.finish()]);
    lossSum += await sumLosses(ctx, acts, b.batchSize * b.seqLen);
    items += b.numItems;
  }
  return items ? lossSum / items : NaN;
}
