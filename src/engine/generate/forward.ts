/**
 * The forward pass of generation (B = 1, no backward), recorded for M rows at absolute positions pos0..pos0+M−1:
 *  - prefill (pos0 = 0, M = prompt length): the whole prompt at once, causal attention over its own rows
 *    (kernels/attention.ts), and its keys/values copied into the KV cache rows 0..M−1;
 *  - decode (M = 1, pos0 = t): one token; its key/value are written to cache row t, then one-query attention over
 *    cache rows 0..t (kernels/attentionDecode.ts). No row of the prefix is recomputed.
 * The layer is the same op list as training (arch/layer.ts, recorded by model/layerRun.ts); this runner only maps its
 * values to the generator's buffers (the residual stream updated in place, one scratch per kind of value) and supplies
 * the linears (mat-vec for a decode step), RoPE at the absolute positions, and the cached attention (sliding layers
 * see their window of the cache). Each linear may carry a LoRA branch s·(x Aᵀ) Bᵀ (PEFT lora.Linear.forward, eval
 * mode: no dropout). Only the last row goes through the final norm, lm_head (by vocabulary chunks,
 * model/vocabTable.ts; matvec) and the final soft-cap.
 */
import type { GpuContext } from '../gpu/context';
import { attentionForward } from '../kernels/attention';
import { attentionDecode } from '../kernels/attentionDecode';
import { embeddingForward } from '../kernels/embedding';
import { matmulAuto, matmulSkinny, MATMUL_SKINNY_MAX_M } from '../kernels/matmul';
import { matvec } from '../kernels/matvec';
import { rmsnormForward } from '../kernels/rmsnorm';
import { ropeForward } from '../kernels/rope';
import { softcapInPlace } from '../kernels/softcap';
import type { Value } from '../arch/layer';
import { runLayerForward } from '../model/layerRun';
import { linearForward } from '../model/linear';
import { findSlot, loraBinding, type LoraParams } from '../model/lora';
import type { TargetModule } from '../model/loraTypes';
import { ensureRope, type GpuModel } from '../model/model';
import { ropeKind } from '../model/rope';
import { vocabSlices } from '../model/vocabTable';
import type { LinearWeights } from '../model/weights';
import type { GenBuffers } from './buffers';

/** LoRA of one forward: the parameters and a scratch u [maxT, R] (x Aᵀ of the current linear). */
export interface ForwardLora {
  readonly p: LoraParams;
  readonly u: GPUBuffer;
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
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D } = cfg;
  const half = D / 2;
  const rope = ensureRope(ctx, model, b.maxT);
  if (pos0 > 0) {
    for (const [kind, t] of Object.entries(rope.tables)) {
      const step = b.stepRope[kind as keyof typeof b.stepRope];
      if (!t || !step) continue;
      enc.copyBufferToBuffer(t.cos, pos0 * half * 4, step.cos, 0, half * 4);
      enc.copyBufferToBuffer(t.sin, pos0 * half * 4, step.sin, 0, half * 4);
    }
  }
  const split = w.embed.chunks.length > 1;
  for (const c of w.embed.chunks) {
    embeddingForward(ctx, enc, { M, C, V: c.rows, ids: b.ids, table: c.buffer, tableDtype: w.embed.dtype, out: b.x, scale: cfg.embedScale, ...(split ? { rowStart: c.row0 } : {}) });
  }
  const kvBytes = KV * D * 4;
  for (let l = 0; l < cfg.numLayers; l++) {
    const cache = b.cache[l]!;
    const kind = ropeKind(cfg, cfg.layerTypes[l] ?? 'full_attention');
    const table = pos0 > 0 ? b.stepRope[kind] : rope.tables[kind];
    if (!table) throw new Error(`generate: no ${kind} RoPE tables for layer ${l}`);
    runLayerForward(ctx, enc, cfg, l, w.layers[l]!, {
      M,
      buf: (v) => genValue(b, v),
      linear: (o, x, out) => linear(ctx, enc, M, w.layers[l]!.linears[o.module], x, out, lora, l, o.module, o.accumulate),
      rope: (x, nHeads) => ropeForward(ctx, enc, { B: 1, T: M, nHeads, D, cos: table.cos, sin: table.sin, x }),
      attention: (a) => {
        enc.copyBufferToBuffer(b.k, 0, cache.k, pos0 * kvBytes, M * kvBytes);
        enc.copyBufferToBuffer(b.v, 0, cache.v, pos0 * kvBytes, M * kvBytes);
        if (pos0 === 0) attentionForward(ctx, enc, { B: 1, T: M, H, KV, D, ...a, q: b.q, k: b.k, v: b.v, out: b.attn, lse: b.lse });
        else attentionDecode(ctx, enc, { n: pos0 + 1, maxT: b.maxT, H, KV, D, ...a, q: b.q, kCache: cache.k, vCache: cache.v, out: b.attn, scores: b.scores });
      },
    });
  }
  recordLastLogits(ctx, enc, model, b, M - 1);
}

/**
 * The generator buffer of a layer value: the residual stream (x, xMid, xOut) is b.x, updated in place; both norms'
 * outputs and the normed branches share b.h; every rstd of width 1 shares b.rstd.
 * @throws Error when the model needs a buffer the generator did not allocate (q/k norms, sandwich branches)
 */
function genValue(b: GenBuffers, v: Value): GPUBuffer {
  const need = (x: GPUBuffer | null): GPUBuffer => {
    if (!x) throw new Error(`generate: no buffer for ${v} (allocated for another config)`);
    return x;
  };
  switch (v) {
    case 'x': case 'xMid': case 'xOut': return b.x;
    case 'h1': case 'h2': case 'oNorm': case 'mNorm': return b.h;
    case 'rstd1': case 'rstd2': case 'rstdO': case 'rstdM': return b.rstd;
    case 'qPre': return need(b.qPre);
    case 'kPre': return need(b.kPre);
    case 'rstdQ': return need(b.rstdQ);
    case 'rstdK': return need(b.rstdK);
    case 'oOut': case 'mOut': return need(b.branch);
    case 'q': return b.q;
    case 'k': return b.k;
    case 'v': return b.v;
    case 'attn': return b.attn;
    case 'lse': return b.lse;
    case 'gate': return b.gate;
    case 'up': return b.up;
    case 'act': return b.act;
  }
}

/** Records the final norm and lm_head of row `row` of b.x into b.logits [V] (chunk by chunk). */
function recordLastLogits(ctx: GpuContext, enc: GPUCommandEncoder, model: GpuModel, b: GenBuffers, row: number): void {
  const { cfg, weights: w } = model;
  const C = cfg.hiddenSize;
  enc.copyBufferToBuffer(b.x, row * C * 4, b.xLast, 0, C * 4);
  rmsnormForward(ctx, enc, { rows: 1, C, eps: cfg.rmsNormEps, offset: cfg.rmsNormOffset, x: b.xLast, weight: w.finalNorm, out: b.hLast, rstd: b.rstdLast });
  const E = w.lmHead;
  const slices = vocabSlices(E, b.chunkRows);
  for (const s of slices) {
    const direct = slices.length === 1;
    matvec(ctx, enc, { N: s.rows, K: C, x: b.hLast, w: s.binding, wDtype: E.dtype, y: direct ? b.logits : b.logitsChunk });
    if (!direct) enc.copyBufferToBuffer(b.logitsChunk, 0, b.logits, s.row0 * 4, s.rows * 4);
  }
  if (cfg.finalLogitSoftcap) softcapInPlace(ctx, enc, { n: cfg.vocabSize, cap: cfg.finalLogitSoftcap, x: b.logits });
}
