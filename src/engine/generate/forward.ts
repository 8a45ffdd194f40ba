/**
 * The forward pass of generation (B = 1, no backward), recorded for M rows at absolute positions pos0..pos0+M−1:
 *  - prefill (pos0 = 0, M = prompt length): the whole prompt at once, causal attention over its own rows
 *    (kernels/attention.ts), and its keys/values copied into the KV cache rows 0..M−1;
 *  - decode (M = 1, pos0 = t): one token; its key/value are written to cache row t, then one-query attention over
 *    cache rows 0..t (kernels/attentionDecode.ts). No row of the prefix is recomputed.
 * Layer maths as model/decoder.ts (HF modeling_llama / qwen2 / qwen3): h = RMSNorm(x); q,k,v = h W{q,k,v}ᵀ (+b);
 * [qwen3: per-head q/k RMSNorm]; RoPE at the absolute positions; x += Attn W_oᵀ; x += (silu(h2 W_gᵀ) ⊙ h2 W_uᵀ) W_dᵀ.
 * Each linear may carry a LoRA branch s·(x Aᵀ) Bᵀ (PEFT lora.Linear.forward, eval mode: no dropout).
 * Only the last row goes through the final norm and lm_head (by vocabulary chunks, model/vocabTable.ts; matvec).
 */
import type { GpuContext } from '../gpu/context';
import { uploadStorage } from '../gpu/buffers';
import { attentionForward } from '../kernels/attention';
import { attentionDecode } from '../kernels/attentionDecode';
import { embeddingForward } from '../kernels/embedding';
import { matmulAuto, matmulSkinny, MATMUL_SKINNY_MAX_M } from '../kernels/matmul';
import { matvec } from '../kernels/matvec';
import { rmsnormForward } from '../kernels/rmsnorm';
import { ropeForward } from '../kernels/rope';
import { swigluForward } from '../kernels/swiglu';
import { linearForward } from '../model/linear';
import { findSlot, loraBinding, type LoraParams } from '../model/lora';
import type { TargetModule } from '../model/loraTypes';
import type { GpuModel } from '../model/model';
import { ropeTables } from '../model/rope';
import { vocabSlices } from '../model/vocabTable';
import type { LinearWeights } from '../model/weights';
import type { GenBuffers } from './buffers';

/** LoRA of one forward: the parameters and a scratch u [maxT, R] (x Aᵀ of the current linear). */
export interface ForwardLora {
  readonly p: LoraParams;
  readonly u: GPUBuffer;
}

/**
 * Makes sure model.rope covers positions 0..T−1 (rebuilt, like model.ts uploadBatch, only when T grows).
 * @returns the tables, f32 [T', D/2] with T' ≥ T
 */
export function ensureRope(ctx: GpuContext, model: GpuModel, T: number): { cos: GPUBuffer; sin: GPUBuffer } {
  if (!model.rope || model.rope.T < T) {
    const { cos, sin } = ropeTables(model.invFreq, T);
    const next = { T, cos: uploadStorage(ctx, cos, `rope.cos.T${T}`), sin: uploadStorage(ctx, sin, `rope.sin.T${T}`) };
    if (model.rope) ctx.transient.push(model.rope.cos, model.rope.sin);
    model.rope = next;
  }
  return model.rope;
}

/**
 * y (=|+=) x Wᵀ + b (+ s·(x Aᵀ) Bᵀ). One row (a decode step) uses the matvec kernel, 2..16 rows the skinny matmul,
 * each with a separate rank-R update (thin matmuls) instead of 64-row tiles; larger M the fused LoRA linear of
 * training (model/linear.ts).
 */
function linear(ctx: GpuContext, enc: GPUCommandEncoder, M: number, lin: LinearWeights, x: GPUBuffer, y: GPUBuffer, lora: ForwardLora | null, layer: number, m: TargetModule, accumulate = false): void {
  const slot = lora ? findSlot(lora.p, layer, m) : undefined;
  if (M > MATMUL_SKINNY_MAX_M) {
    linearForward(ctx, enc, M, lin, x, y, lora && slot ? { p: lora.p, slot, u: lora.u } : null, accumulate);
    return;
  }
  const bias = lin.bias ? { bias: lin.bias } : {};
  if (M === 1) matvec(ctx, enc, { N: lin.outFeatures, K: lin.inFeatures, x, w: lin.w.buffer, wDtype: lin.w.dtype, y, accumulate, ...bias });
  else matmulSkinny(ctx, enc, { M, N: lin.outFeatures, K: lin.inFeatures, a: x, w: lin.w.buffer, wDtype: lin.w.dtype, transB: true, out: y, accumulate, ...bias });
  if (!lora || !slot) return;
  const { p, u } = lora;
  matmulAuto(ctx, enc, { M, N: p.r, K: lin.inFeatures, a: x, w: loraBinding(p, slot, 'a'), wDtype: 'F32', transB: true, out: u });
  matmulAuto(ctx, enc, { M, N: lin.outFeatures, K: p.r, a: u, w: loraBinding(p, slot, 'b'), wDtype: 'F32', transB: true, out: y, accumulate: true, alpha: p.scaling });
}

/**
 * Records the forward of rows pos0..pos0+M−1 whose ids are already in b.ids[0..M), the cache update, and the
 * last row's logits into b.logits [V].
 * @throws Error when the rows are neither a prefill (pos0 = 0) nor one decode step (M = 1), or run past maxT.
 */
export function recordForwardRows(ctx: GpuContext, enc: GPUCommandEncoder, model: GpuModel, b: GenBuffers, lora: ForwardLora | null, M: number, pos0: number): void {
  const { cfg, weights: w } = model;
  if (!(M >= 1 && pos0 >= 0 && pos0 + M <= b.maxT)) throw new Error(`generate: rows ${pos0}..${pos0 + M - 1} do not fit the KV cache of ${b.maxT} positions`);
  if (pos0 > 0 && M !== 1) throw new Error(`generate: after the prefill, tokens are decoded one at a time (got ${M} rows at position ${pos0})`);
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I, rmsNormEps: eps } = cfg;
  const half = D / 2;
  const rope = ensureRope(ctx, model, b.maxT);
  let cos: GPUBuffer = rope.cos;
  let sin: GPUBuffer = rope.sin;
  if (pos0 > 0) {
    enc.copyBufferToBuffer(rope.cos, pos0 * half * 4, b.stepCos, 0, half * 4);
    enc.copyBufferToBuffer(rope.sin, pos0 * half * 4, b.stepSin, 0, half * 4);
    cos = b.stepCos;
    sin = b.stepSin;
  }
  const split = w.embed.chunks.length > 1;
  for (const c of w.embed.chunks) {
    embeddingForward(ctx, enc, { M, C, V: c.rows, ids: b.ids, table: c.buffer, tableDtype: w.embed.dtype, out: b.x, ...(split ? { rowStart: c.row0 } : {}) });
  }
  const kvBytes = KV * D * 4;
  for (let l = 0; l < cfg.numLayers; l++) {
    const lw = w.layers[l]!;
    const L = lw.linears;
    const cache = b.cache[l]!;
    rmsnormForward(ctx, enc, { rows: M, C, eps, x: b.x, weight: lw.inputNorm, out: b.h, rstd: b.rstd });
    const qk = cfg.qkNorm && b.qPre && b.kPre && b.rstdQ && b.rstdK && lw.qNorm && lw.kNorm;
    linear(ctx, enc, M, L.q_proj, b.h, qk ? b.qPre! : b.q, lora, l, 'q_proj');
    linear(ctx, enc, M, L.k_proj, b.h, qk ? b.kPre! : b.k, lora, l, 'k_proj');
    linear(ctx, enc, M, L.v_proj, b.h, b.v, lora, l, 'v_proj');
    if (qk) {
      rmsnormForward(ctx, enc, { rows: M * H, C: D, eps, x: b.qPre!, weight: lw.qNorm!, out: b.q, rstd: b.rstdQ! });
      rmsnormForward(ctx, enc, { rows: M * KV, C: D, eps, x: b.kPre!, weight: lw.kNorm!, out: b.k, rstd: b.rstdK! });
    }
    ropeForward(ctx, enc, { B: 1, T: M, nHeads: H, D, cos, sin, x: b.q });
    ropeForward(ctx, enc, { B: 1, T: M, nHeads: KV, D, cos, sin, x: b.k });
    enc.copyBufferToBuffer(b.k, 0, cache.k, pos0 * kvBytes, M * kvBytes);
    enc.copyBufferToBuffer(b.v, 0, cache.v, pos0 * kvBytes, M * kvBytes);
    const scale = 1 / Math.sqrt(D);
    if (pos0 === 0) attentionForward(ctx, enc, { B: 1, T: M, H, KV, D, scale, q: b.q, k: b.k, v: b.v, out: b.attn, lse: b.lse });
    else attentionDecode(ctx, enc, { n: pos0 + 1, maxT: b.maxT, H, KV, D, scale, q: b.q, kCache: cache.k, vCache: cache.v, out: b.attn, scores: b.scores });
    linear(ctx, enc, M, L.o_proj, b.attn, b.x, lora, l, 'o_proj', true);
    rmsnormForward(ctx, enc, { rows: M, C, eps, x: b.x, weight: lw.postAttentionNorm, out: b.h, rstd: b.rstd });
    linear(ctx, enc, M, L.gate_proj, b.h, b.gate, lora, l, 'gate_proj');
    linear(ctx, enc, M, L.up_proj, b.h, b.up, lora, l, 'up_proj');
    swigluForward(ctx, enc, { n: M * I, gate: b.gate, up: b.up, out: b.act });
    linear(ctx, enc, M, L.down_proj, b.act, b.x, lora, l, 'down_proj', true);
  }
  recordLastLogits(ctx, enc, model, b, M - 1);
}

/** Records the final norm and lm_head of row `row` of b.x into b.logits [V] (chunk by chunk). */
function recordLastLogits(ctx: GpuContext, enc: GPUCommandEncoder, model: GpuModel, b: GenBuffers, row: number): void {
  const { cfg, weights: w } = model;
  const C = cfg.hiddenSize;
  enc.copyBufferToBuffer(b.x, row * C * 4, b.xLast, 0, C * 4);
  rmsnormForward(ctx, enc, { rows: 1, C, eps: cfg.rmsNormEps, x: b.xLast, weight: w.finalNorm, out: b.hLast, rstd: b.rstdLast });
  const E = w.lmHead;
  const slices = vocabSlices(E, b.chunkRows);
  for (const s of slices) {
    const direct = slices.length === 1;
    matvec(ctx, enc, { N: s.rows, K: C, x: b.hLast, w: s.binding, wDtype: E.dtype, y: direct ? b.logits : b.logitsChunk });
    if (!direct) enc.copyBufferToBuffer(b.logitsChunk, 0, b.logits, s.row0 * 4, s.rows * 4);
  }
}
