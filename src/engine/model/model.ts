/**
 * The whole causal LM on the GPU: embedding → L decoder layers → final RMSNorm → lm_head + cross-entropy by
 * vocabulary chunks (head.ts), and its backward down to the LoRA parameters (embeddings, norms and base weights are
 * frozen), optionally recomputing each layer's forward in the backward (activations.ts `recompute`).
 * Loss convention: HF ForCausalLMLoss — logits[:, t] predicts labels[:, t+1]; −100 ignored; mean over the
 * valid tokens of the whole optimizer step (gradScale = 1 / num_items_in_batch).
 */
import type { ModelConfig } from '../../io/config/types';
import type { Batch } from '../../io/dataset/types';
import { submitAndWait, type GpuContext } from '../gpu/context';
import { uploadStorage, writeBytes } from '../gpu/buffers';
import { embeddingForward } from '../kernels/embedding';
import { rmsnormBackward, rmsnormForward } from '../kernels/rmsnorm';
import type { Activations } from './activations';
import { decoderLayerBackward, decoderLayerForward, type StepShape } from './decoder';
import { readLogits, recordHeadBackward, recordHeadLoss, type HeadBuffers } from './head';
import type { LoraParams } from './lora';
import { ropeInvFreq, ropeTables } from './rope';
import type { ModelWeights } from './weights';

/** RoPE cos/sin tables f32 [T, D/2] for positions 0..T−1; row t does not depend on T, so they serve any T' ≤ T. */
export interface RopeTables {
  readonly T: number;
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
}

/** A model ready to run: config, frozen weights, and the RoPE tables for the longest sequence seen so far. */
export interface GpuModel {
  readonly cfg: ModelConfig;
  readonly weights: ModelWeights;
  readonly invFreq: Float32Array;
  rope: RopeTables | null;
}

/** Wraps loaded weights as a runnable model. */
export function makeGpuModel(cfg: ModelConfig, weights: ModelWeights): GpuModel {
  return { cfg, weights, invFreq: ropeInvFreq(cfg), rope: null };
}

/** Frees the model's weights and RoPE tables. */
export function destroyGpuModel(m: GpuModel): void {
  m.weights.destroy();
  m.rope?.cos.destroy();
  m.rope?.sin.destroy();
  m.rope = null;
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
 * Uploads a batch's input_ids and shifted targets into the activations and returns its shape. RoPE tables are
 * (re)built only when T exceeds the longest sequence seen so far (2·T·D/2 f32 on the GPU).
 * @throws Error naming the row when an id is outside [0, V), or when the batch exceeds the activations' capacity
 *   (B·T > maxB·maxT or T > maxT).
 */
export function uploadBatch(ctx: GpuContext, model: GpuModel, acts: Activations, batch: Batch): StepShape {
  const { batchSize: B, seqLen: T } = batch;
  // Every activation is sized by M = maxB·maxT rows (and the RoPE tables by maxT), so any B·T ≤ M with T ≤ maxT fits.
  if (T > acts.maxT || B * T > acts.maxB * acts.maxT) throw new Error(`batch [${B}, ${T}] exceeds the allocated activations (${acts.maxB * acts.maxT} tokens, T ≤ ${acts.maxT})`);
  const V = model.cfg.vocabSize;
  for (let i = 0; i < batch.inputIds.length; i++) {
    const id = batch.inputIds[i] as number;
    if (id < 0 || id >= V) throw new Error(`input_ids row ${Math.floor(i / T)}, position ${i % T}: token id ${id} is outside the vocabulary [0, ${V})`);
  }
  writeBytes(ctx, acts.ids, 0, batch.inputIds);
  writeBytes(ctx, acts.targets, 0, shiftLabels(batch.labels, B, T));
  if (!model.rope || model.rope.T < T) {
    const Tr = Math.max(T, acts.maxT);
    const { cos, sin } = ropeTables(model.invFreq, Tr);
    const next = { T: Tr, cos: uploadStorage(ctx, cos, `rope.cos.T${Tr}`), sin: uploadStorage(ctx, sin, `rope.sin.T${Tr}`) };
    if (model.rope) ctx.transient.push(model.rope.cos, model.rope.sin);
    model.rope = next;
  }
  return { B, T, cos: model.rope.cos, sin: model.rope.sin };
}

/** The head's buffers inside the activations. */
export function headBuffers(acts: Activations): HeadBuffers {
  return { h: acts.hF, logits: acts.logitsChunks, chunkRows: acts.vocabChunkRows, targets: acts.targets, stats: acts.headStats, losses: acts.losses };
}

/**
 * Records the forward pass and the loss (pass 1 of the chunked head): acts.losses[m] receives the per-token NLL
 * (0 where ignored) and acts.headStats the per-row lse for {@link recordBackward}.
 */
export function recordForward(ctx: GpuContext, enc: GPUCommandEncoder, model: GpuModel, acts: Activations, lora: LoraParams | null, s: StepShape): void {
  const { cfg, weights: w } = model;
  const M = s.B * s.T;
  const C = cfg.hiddenSize;
  const out = acts.resid[0] as GPUBuffer;
  const split = w.embed.chunks.length > 1;
  for (const c of w.embed.chunks) {
    embeddingForward(ctx, enc, { M, C, V: c.rows, ids: acts.ids, table: c.buffer, tableDtype: w.embed.dtype, out, ...(split ? { rowStart: c.row0 } : {}) });
  }
  for (let l = 0; l < cfg.numLayers; l++) decoderLayerForward(ctx, enc, cfg, l, w.layers[l]!, acts, lora, s);
  const xL = acts.resid[cfg.numLayers] as GPUBuffer;
  rmsnormForward(ctx, enc, { rows: M, C, eps: cfg.rmsNormEps, x: xL, weight: w.finalNorm, out: acts.hF, rstd: acts.rstdF });
  recordHeadLoss(ctx, enc, w.lmHead, M, headBuffers(acts));
}

/**
 * Records the backward pass right after {@link recordForward} on the same activations (pass 2 of the chunked head,
 * then the layers in reverse; with acts.recompute each layer's forward is re-run first, except the last layer's,
 * whose activations are still in the shared set). LoRA grads accumulate into lora.grads.
 * @param gradScale 1 / (label tokens of the whole optimizer step)
 */
export function recordBackward(ctx: GpuContext, enc: GPUCommandEncoder, model: GpuModel, acts: Activations, lora: LoraParams, s: StepShape, gradScale: number): void {
  const { cfg, weights: w } = model;
  const M = s.B * s.T;
  const C = cfg.hiddenSize;
  const L = cfg.numLayers;
  recordHeadBackward(ctx, enc, w.lmHead, M, headBuffers(acts), acts.dH, gradScale);
  rmsnormBackward(ctx, enc, { rows: M, C, x: acts.resid[L] as GPUBuffer, weight: w.finalNorm, rstd: acts.rstdF, dout: acts.dH, dx: acts.dX });
  for (let l = L - 1; l >= 0; l--) {
    if (acts.recompute && l < L - 1) decoderLayerForward(ctx, enc, cfg, l, w.layers[l]!, acts, lora, s);
    decoderLayerBackward(ctx, enc, cfg, l, w.layers[l]!, acts, lora, s);
  }
}

/**
 * Runs the forward (no LoRA unless given) and reads back the full logits [B·T, V] chunk by chunk — for checks
 * against reference logits on small vocabularies only.
 */
export async function forwardLogits(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams | null, s: StepShape): Promise<Float32Array> {
  const enc = ctx.device.createCommandEncoder({ label: 'forward-logits' });
  recordForward(ctx, enc, model, acts, lora, s);
  await submitAndWait(ctx, [enc.finish()]);
  return readLogits(ctx, model.weights.lmHead, s.B * s.T, headBuffers(acts));
}
