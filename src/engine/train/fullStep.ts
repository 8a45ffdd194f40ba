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
import { writeBytes } from '../gpu/buffers';
import { adamwStep } from '../kernels/adamw';
import { embeddingGradIndex } from '../kernels/embeddingGrad';
import { sumOfSquares, sumValues } from '../kernels/sumsq';
import type { Activations } from '../model/activations';
import { zeroFullGrads, type FullParams } from '../model/fullParams';
import { recordBackward, recordForward, uploadBatch, type GpuModel } from '../model/model';
import type { OptimStep } from './step';
import { runStep, type StepResult } from './stepSkeleton';

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
  if (model.weights !== full.weights) throw new Error('trainFullStep: the model must run on the full-parameter masters (makeGpuModel(cfg, full.weights))');
  return runStep(ctx, micro, {
    label: 'full',
    step: opt.step,
    zeroGrads: (enc) => zeroFullGrads(enc, full),
    microBatch: (enc, b, i, gradScale, lossSum) => {
      const M = b.batchSize * b.seqLen;
      if (M > full.maxTokens) throw new Error(`micro-batch ${i + 1} has ${M} tokens; the full-parameter state was sized for ${full.maxTokens} (createFullParams maxTokens)`);
      const s = uploadBatch(ctx, model, acts, b);
      const index = embeddingGradIndex(b.inputIds, model.cfg.vocabSize);
      writeBytes(ctx, full.embedIndex, 0, index.data);
      recordForward(ctx, enc, model, acts, null, s);
      sumValues(ctx, enc, { n: M, x: acts.losses, out: lossSum, accumulate: i > 0 });
      recordBackward(ctx, enc, model, acts, null, s, gradScale, { full: { grads: full.grads, embedIndex: full.embedIndex, U: index.U } });
    },
    optimizer: (enc, normSq) => {
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
    },
  }, stats, signal);
}
