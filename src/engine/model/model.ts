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
import { decoderLayerBackward, decoderLayerForward, type RopePair, type StepShape } from './decoder';
import { readLogits, recordHeadBackward, recordHeadLoss, type HeadBuffers, type HeadOptions } from './head';
import type { LoraParams } from './lora';
import { layerRope, ropeInvFreq, ropeKind, ropeTables, type RopeKind } from './rope';
import type { ModelWeights } from './weights';
import type { WeightGrads } from './fullParams';
import { embeddingBackward } from '../kernels/embeddingGrad';
import { rmsnormWeightGrad } from '../kernels/rmsnorm';

/**
 * RoPE cos/sin tables f32 [T, D/2] for positions 0..T−1, one pair per RoPE kind the model uses (Gemma 3: 'local' for
 * sliding layers, 'global' for full ones); row t does not depend on T, so they serve any T' ≤ T.
 */
export interface RopeTables {
  readonly T: number;
  readonly tables: Readonly<Partial<Record<RopeKind, RopePair>>>;
}

/** A model ready to run: config, frozen weights, inv_freq per RoPE kind, and the RoPE tables for the longest sequence seen so far. */
export interface GpuModel {
  readonly cfg: ModelConfig;
  readonly weights: ModelWeights;
  readonly invFreq: Readonly<Partial<Record<RopeKind, Float32Array>>>;
  rope: RopeTables | null;
}

/** inv_freq [D/2] of each RoPE kind the layers of `cfg` read. */
export function modelInvFreq(cfg: ModelConfig): Partial<Record<RopeKind, Float32Array>> {
  const out: Partial<Record<RopeKind, Float32Array>> = {};
  for (const t of cfg.layerTypes) out[ropeKind(cfg, t)] ??= ropeInvFreq(layerRope(cfg, t));
  return out;
}

/** Wraps loaded weights as a runnable model. */
export function makeGpuModel(cfg: ModelConfig, weights: ModelWeights): GpuModel {
  return { cfg, weights, invFreq: modelInvFreq(cfg), rope: null };
}

function destroyRope(r: RopeTables | null, sink?: GPUBuffer[]): void {
  for (const t of Object.values(r?.tables ?? {})) {
    if (sink) sink.push(t.cos, t.sin);
    else {
      t.cos.destroy();
      t.sin.destroy();
    }
  }
}

/** Frees the model's weights and RoPE tables. */
export function destroyGpuModel(m: GpuModel): void {
  m.weights.destroy();
  destroyRope(m.rope);
  m.rope = null;
}

/**
 * Makes sure model.rope covers positions 0..T−1 (rebuilt only when T grows; the old tables are freed after the
 * queued work that may read them, via ctx.transient).
 * @returns the tables of every kind, f32 [T', D/2] with T' ≥ T
 */
export function ensureRope(ctx: GpuContext, model: GpuModel, T: number): RopeTables {
  if (!model.rope || model.rope.T < T) {
    const tables: Partial<Record<RopeKind, RopePair>> = {};
    for (const [kind, inv] of Object.entries(model.invFreq) as [RopeKind, Float32Array][]) {
      const { cos, sin } = ropeTables(inv, T);
      tables[kind] = { cos: uploadStorage(ctx, cos, `rope.${kind}.cos.T${T}`), sin: uploadStorage(ctx, sin, `rope.${kind}.sin.T${T}`) };
    }
    destroyRope(model.rope, ctx.transient);
    model.rope = { T, tables };
  }
  return model.rope;
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
  const rope = model.rope && model.rope.T >= T ? model.rope : ensureRope(ctx, model, Math.max(T, acts.maxT));
  return { B, T, rope: rope.tables };
}

/** The head's buffers inside the activations. */
export function headBuffers(acts: Activations): HeadBuffers {
  return { h: acts.hF, logits: acts.logitsChunks, chunkRows: acts.vocabChunkRows, targets: acts.targets, stats: acts.headStats, losses: acts.losses };
}

/** The head options of a config: the final-logit soft-cap when set (Gemma final_logit_softcapping). */
export function headOptions(cfg: Pick<ModelConfig, 'finalLogitSoftcap'>): HeadOptions {
  return cfg.finalLogitSoftcap === null ? {} : { softcap: cfg.finalLogitSoftcap };
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
    embeddingForward(ctx, enc, { M, C, V: c.rows, ids: acts.ids, table: c.buffer, tableDtype: w.embed.dtype, out, scale: cfg.embedScale, ...(split ? { rowStart: c.row0 } : {}) });
  }
  for (let l = 0; l < cfg.numLayers; l++) decoderLayerForward(ctx, enc, cfg, l, w.layers[l]!, acts, lora, s);
  const xL = acts.resid[cfg.numLayers] as GPUBuffer;
  rmsnormForward(ctx, enc, { rows: M, C, eps: cfg.rmsNormEps, offset: cfg.rmsNormOffset, x: xL, weight: w.finalNorm, out: acts.hF, rstd: acts.rstdF });
  recordHeadLoss(ctx, enc, w.lmHead, M, headBuffers(acts), headOptions(cfg));
}

/**
 * What the backward of full-parameter training writes (model/fullParams.ts): every weight gradient, and the
 * embedding gradient's position index of this micro-batch (kernels/embeddingGrad.ts, uploaded: u32 [2U + 1 + M]).
 */
export interface FullBackward {
  readonly grads: WeightGrads;
  readonly embedIndex: GPUBuffer;
  /** distinct token ids of the micro-batch */
  readonly U: number;
}

/** What {@link recordBackward} adds to the LoRA backward of an SFT step; both may be given. */
export interface BackwardOptions {
  /** full-parameter training: every weight gradient ({@link FullBackward}) */
  readonly full?: FullBackward;
  /**
   * f32 [M = B·T]: per-token-row factor on gradScale (DPO: −d loss / d logp of the row's sequence, train/prefStep.ts);
   * the loss differentiated is then Σ_m gradScale·rowScale[m]·NLL_m
   */
  readonly rowScale?: GPUBuffer;
}

/**
 * Records the backward pass right after {@link recordForward} on the same activations (pass 2 of the chunked head,
 * then the layers in reverse; with acts.recompute each layer's forward is re-run first, except the last layer's,
 * whose activations are still in the shared set). LoRA grads accumulate into lora.grads. With `opts.full`, every
 * weight gradient accumulates into full.grads: lm_head dE += dlogitsᵀ·h by vocabulary chunks (head.ts), model.norm,
 * each layer's linears and norms, then the embedding scatter-add of dL/d resid[0] (times embed_scale); a tied
 * embedding gets both the head's and the lookup's contribution in the same buffers.
 * @param gradScale 1 / (label tokens of the whole optimizer step) for SFT
 */
export function recordBackward(ctx: GpuContext, enc: GPUCommandEncoder, model: GpuModel, acts: Activations, lora: LoraParams | null, s: StepShape, gradScale: number, opts: BackwardOptions = {}): void {
  const { full, rowScale } = opts;
  const { cfg, weights: w } = model;
  const M = s.B * s.T;
  const C = cfg.hiddenSize;
  const L = cfg.numLayers;
  const dH = acts.grads.get('dH');
  const dX = acts.grads.get('dX');
  if (!dH || !dX) throw new Error('activations: the backward needs the dH and dX scratch (createActivations withBackward)');
  const g = full?.grads;
  recordHeadBackward(ctx, enc, w.lmHead, M, headBuffers(acts), dH, gradScale, { ...headOptions(cfg), ...(g?.lmHead ? { dE: g.lmHead } : {}), ...(rowScale ? { rowScale } : {}) });
  if (g) rmsnormWeightGrad(ctx, enc, { rows: M, C, x: acts.resid[L] as GPUBuffer, rstd: acts.rstdF, dout: dH, dw: g.finalNorm, accumulate: true });
  rmsnormBackward(ctx, enc, { rows: M, C, offset: cfg.rmsNormOffset, x: acts.resid[L] as GPUBuffer, weight: w.finalNorm, rstd: acts.rstdF, dout: dH, dx: dX });
  for (let l = L - 1; l >= 0; l--) {
    if (acts.recompute && l < L - 1) decoderLayerForward(ctx, enc, cfg, l, w.layers[l]!, acts, lora, s);
    decoderLayerBackward(ctx, enc, cfg, l, w.layers[l]!, acts, lora, s, g?.layers[l] ?? null);
  }
  if (full && g?.embed) {
    const split = g.embed.chunks.length > 1;
    for (const c of g.embed.chunks) {
      embeddingBackward(ctx, enc, { M, U: full.U, C, V: c.rows, ...(split ? { rowStart: c.row0 } : {}), index: full.embedIndex, dx: dX, dE: c.buffer, scale: cfg.embedScale });
    }
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
  return readLogits(ctx, model.weights.lmHead, s.B * s.T, headBuffers(acts), headOptions(model.cfg));
}
