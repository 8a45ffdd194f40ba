/**
 * The whole causal LM on the GPU: embedding → L decoder layers → final RMSNorm → lm_head → fused cross-entropy,
 * and its backward down to the LoRA parameters (embeddings, norms and base weights are frozen).
 * Loss convention: HF ForCausalLMLoss — logits[:, t] predicts labels[:, t+1]; −100 ignored; mean over the
 * valid tokens of the whole optimizer step (gradScale = 1 / num_items_in_batch).
 */
import type { ModelConfig } from '../../io/config/types';
import type { Batch } from '../../io/dataset/types';
import type { GpuContext } from '../gpu/context';
import { uploadStorage, writeBytes } from '../gpu/buffers';
import { crossEntropy } from '../kernels/crossEntropy';
import { embeddingForward } from '../kernels/embedding';
import { matmul } from '../kernels/matmul';
import { rmsnormBackward, rmsnormForward } from '../kernels/rmsnorm';
import type { Activations } from './activations';
import { decoderLayerBackward, decoderLayerForward, type StepShape } from './decoder';
import type { LoraParams } from './lora';
import { ropeInvFreq, ropeTables } from './rope';
import type { ModelWeights } from './weights';

/** A model ready to run: config, frozen weights, and cached RoPE tables per sequence length. */
export interface GpuModel {
  readonly cfg: ModelConfig;
  readonly weights: ModelWeights;
  readonly invFreq: Float32Array;
  readonly ropeCache: Map<number, { cos: GPUBuffer; sin: GPUBuffer }>;
}

/** Wraps loaded weights as a runnable model. */
export function makeGpuModel(cfg: ModelConfig, weights: ModelWeights): GpuModel {
  return { cfg, weights, invFreq: ropeInvFreq(cfg), ropeCache: new Map() };
}

/** Frees the model's weights and cached tables. */
export function destroyGpuModel(m: GpuModel): void {
  m.weights.destroy();
  for (const t of m.ropeCache.values()) {
    t.cos.destroy();
    t.sin.destroy();
  }
  m.ropeCache.clear();
}

/**
 * Targets for the fused loss: target[b, t] = labels[b, t+1] for t < T−1, else −100 (the HF shift).
 * @returns Int32Array [B·T]
 */
export function shiftLabels(labels: Int32Array, B: number, T: number): Int32Array {
  const out = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) out[b * T + t] = labels[b * T + t + 1] as number;
  return out;
}

/**
 * Uploads a batch's input_ids and shifted targets into the activations and returns its shape.
 * @throws Error naming the row when an id is outside [0, V), or when the batch exceeds the activations' capacity.
 */
export function uploadBatch(ctx: GpuContext, model: GpuModel, acts: Activations, batch: Batch): StepShape {
  const { batchSize: B, seqLen: T } = batch;
  if (B > acts.maxB || T > acts.maxT || B * T > acts.maxB * acts.maxT) throw new Error(`batch [${B}, ${T}] exceeds the allocated activations [${acts.maxB}, ${acts.maxT}]`);
  const V = model.cfg.vocabSize;
  for (let i = 0; i < batch.inputIds.length; i++) {
    const id = batch.inputIds[i] as number;
    if (id < 0 || id >= V) throw new Error(`input_ids row ${Math.floor(i / T)}, position ${i % T}: token id ${id} is outside the vocabulary [0, ${V})`);
  }
  writeBytes(ctx, acts.ids, 0, batch.inputIds);
  writeBytes(ctx, acts.targets, 0, shiftLabels(batch.labels, B, T));
  let tables = model.ropeCache.get(T);
  if (!tables) {
    const { cos, sin } = ropeTables(model.invFreq, T);
    tables = { cos: uploadStorage(ctx, cos, `rope.cos.T${T}`), sin: uploadStorage(ctx, sin, `rope.sin.T${T}`) };
    model.ropeCache.set(T, tables);
  }
  return { B, T, cos: tables.cos, sin: tables.sin };
}

/**
 * Records the forward pass and the fused loss. acts.losses[m] receives the per-token NLL (0 where ignored);
 * when `writeGrad`, acts.logits is overwritten by dL/dlogits scaled by gradScale.
 */
export function recordForward(ctx: GpuContext, enc: GPUCommandEncoder, model: GpuModel, acts: Activations, lora: LoraParams | null, s: StepShape, writeGrad: boolean, gradScale: number): void {
  const { cfg, weights: w } = model;
  const M = s.B * s.T;
  const C = cfg.hiddenSize;
  const V = cfg.vocabSize;
  embeddingForward(ctx, enc, { M, C, V, ids: acts.ids, table: w.embed.buffer, tableDtype: w.embed.dtype, out: acts.resid[0] as GPUBuffer });
  for (let l = 0; l < cfg.numLayers; l++) decoderLayerForward(ctx, enc, cfg, l, w.layers[l]!, acts, lora, s);
  const xL = acts.resid[cfg.numLayers] as GPUBuffer;
  rmsnormForward(ctx, enc, { rows: M, C, eps: cfg.rmsNormEps, x: xL, weight: w.finalNorm, out: acts.hF, rstd: acts.rstdF });
  matmul(ctx, enc, { M, N: V, K: C, a: acts.hF, w: w.lmHead.buffer, wDtype: w.lmHead.dtype, transB: true, out: acts.logits });
  crossEntropy(ctx, enc, { M, V, logits: acts.logits, targets: acts.targets, losses: acts.losses, gradScale, writeGrad });
}

/** Records the backward pass after {@link recordForward} with writeGrad; LoRA grads accumulate into lora.grads. */
export function recordBackward(ctx: GpuContext, enc: GPUCommandEncoder, model: GpuModel, acts: Activations, lora: LoraParams, s: StepShape): void {
  const { cfg, weights: w } = model;
  const M = s.B * s.T;
  const C = cfg.hiddenSize;
  matmul(ctx, enc, { M, N: C, K: cfg.vocabSize, a: acts.logits, w: w.lmHead.buffer, wDtype: w.lmHead.dtype, transB: false, out: acts.dH });
  rmsnormBackward(ctx, enc, { rows: M, C, x: acts.resid[cfg.numLayers] as GPUBuffer, weight: w.finalNorm, rstd: acts.rstdF, dout: acts.dH, dx: acts.dX });
  for (let l = cfg.numLayers - 1; l >= 0; l--) decoderLayerBackward(ctx, enc, cfg, l, w.layers[l]!, acts, lora, s);
}
