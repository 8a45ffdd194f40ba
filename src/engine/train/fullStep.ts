/**
 * One optimizer step of full-parameter training (LLaMA-Factory finetuning_type "full"): micro-batches with gradient
 * accumulation → global-norm clipping over ALL trainable tensors → AdamW per tensor with transformers Trainer's
 * decay rule (no weight decay on biases and norms: arch/tensors.ts `noDecay`, Trainer.get_decay_parameter_names).
 * Loss normalisation as train/step.ts (sum of token losses / num_items_in_batch of the whole step).
 * The forward and backward run on the f32 masters of model/fullParams.ts; `model` must wrap `full.weights`
 * (model.ts makeGpuModel(cfg, full.weights)).
 */
import type { Batch } from '../../io/dataset/types';
import type { GpuContext } from '../gpu/context';
import { submitAndWait, withErrorScopes } from '../gpu/context';
import { readF32, writeBytes } from '../gpu/buffers';
import { adamwStep } from '../kernels/adamw';
import { embeddingGradIndex } from '../kernels/embeddingGrad';
import { sumOfSquares, sumValues } from '../kernels/sumsq';
import type { Activations } from '../model/activations';
import { zeroFullGrads, type FullParams } from '../model/fullParams';
import { recordBackward, recordForward, uploadBatch, type GpuModel } from '../model/model';
import { createStepStats, type OptimStep, type StepResult } from './step';

/** Byte offset of the gradient norm² in the stats buffer (as train/step.ts). */
const NORM_OFFSET = 256;

/**
 * The weight decay AdamW applies to a tensor under transformers Trainer's rule: 0 for biases and norms
 * (`noDecay` in the tensor table), `weightDecay` otherwise.
 */
export function decayFor(t: { readonly spec: { readonly noDecay: boolean } }, weightDecay: number): number {
  return t.spec.noDecay ? 0 : weightDecay;
}

/**
 * Runs forward + backward on each micro-batch (weight gradients accumulate), then clips and applies AdamW once to
 * every trainable tensor. The global norm sums Σ g² over the tensors in table order (chunks in row order), so the
 * result is deterministic.
 * @param stats buffer from createStepStats (reused across steps); a transient one when omitted
 * @param signal checked between micro-batches; an aborted step leaves the masters and moments as they were
 * @throws Error when the micro-batches hold no label tokens, or a micro-batch has more tokens than the state's
 *   embedding index holds (full.maxTokens); GpuCommandError naming the kernel; the signal's reason when aborted.
 */
export async function trainFullStep(ctx: GpuContext, model: GpuModel, acts: Activations, full: FullParams, micro: readonly Batch[], opt: OptimStep, stats?: GPUBuffer, signal?: AbortSignal): Promise<StepResult> {
  signal?.throwIfAborted();
  if (model.weights !== full.weights) throw new Error('trainFullStep: the model must run on the full-parameter masters (makeGpuModel(cfg, full.weights))');
  const numItems = micro.reduce((a, b) => a + b.numItems, 0);
  if (numItems === 0) throw new Error('this optimizer step has no label tokens (every label is -100); check max length and the chat template');
  const gradScale = 1 / numItems;
  let tokens = 0;
  const st = stats ?? createStepStats(ctx);
  const lossSum = { buffer: st, offset: 0, size: 4 };
  const normSq = { buffer: st, offset: NORM_OFFSET, size: 4 };
  try {
    await withErrorScopes(ctx, `full step ${opt.step}`, () => {
      const zero = ctx.device.createCommandEncoder({ label: 'full.zero-grads' });
      zeroFullGrads(zero, full);
      ctx.device.queue.submit([zero.finish()]);
    });
    for (const [i, b] of micro.entries()) {
      const M = b.batchSize * b.seqLen;
      if (M > full.maxTokens) throw new Error(`micro-batch ${i + 1} has ${M} tokens; the full-parameter state was sized for ${full.maxTokens} (createFullParams maxTokens)`);
      await withErrorScopes(ctx, `full step ${opt.step}`, () => {
        const s = uploadBatch(ctx, model, acts, b);
        const index = embeddingGradIndex(b.inputIds, model.cfg.vocabSize);
        writeBytes(ctx, full.embedIndex, 0, index.data);
        const enc = ctx.device.createCommandEncoder({ label: `full.micro-batch ${i + 1}/${micro.length}` });
        recordForward(ctx, enc, model, acts, null, s);
        sumValues(ctx, enc, { n: M, x: acts.losses, out: lossSum, accumulate: i > 0 });
        recordBackward(ctx, enc, model, acts, null, s, gradScale, { full: { grads: full.grads, embedIndex: full.embedIndex, U: index.U } });
        ctx.device.queue.submit([enc.finish()]);
      });
      tokens += M;
      if (signal && i < micro.length - 1) {
        await ctx.device.queue.onSubmittedWorkDone();
        signal.throwIfAborted();
      }
    }
    signal?.throwIfAborted();
    const enc = ctx.device.createCommandEncoder({ label: 'full.optimizer' });
    const trained = full.tensors.filter((t) => t.trainable);
    let k = 0;
    for (const t of trained) for (const c of t.chunks) sumOfSquares(ctx, enc, { n: c.numel, x: c.grads as GPUBuffer, out: normSq, accumulate: k++ > 0 });
    for (const t of trained) {
      for (const c of t.chunks) {
        adamwStep(ctx, enc, {
          n: c.numel, params: c.params, grads: c.grads as GPUBuffer, m: c.m as GPUBuffer, v: c.v as GPUBuffer, gradNormSq: normSq,
          maxGradNorm: opt.maxGradNorm, lr: opt.lr, beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, weightDecay: decayFor(t, opt.weightDecay), step: opt.step,
        });
      }
    }
    await submitAndWait(ctx, [enc.finish()]);
    const back = await readF32(ctx, st, 0, NORM_OFFSET / 4 + 1);
    return { loss: (back[0] as number) / numItems, gradNorm: Math.sqrt(back[NORM_OFFSET / 4] as number), numItems, tokens };
  } finally {
    if (!stats) st.destroy();
  }
}
