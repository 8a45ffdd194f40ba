/**
 * The loss head by vocabulary chunks: logits = h·Eᵀ (HF lm_head, no bias) and cross-entropy (HF ForCausalLMLoss),
 * holding at most n chunks of logits [M, Vc] (n scratch buffers, n ≥ 1; all chunks when memory allows:
 * vocabChunks.keptLogitsChunks). Pass 1 computes chunk k's logits into scratch k mod n and merges it into the per-row
 * online log-sum-exp (loss and lse per row). Pass 2 (training) visits the chunks again in reverse order — the last n
 * chunks' logits are still in their scratch, the others are recomputed — turns each into
 * dlogits = (softmax − onehot)·gradScale with the saved lse, and accumulates dH += dlogits·E_chunk.
 * Cost: pass 1 = one head matmul; pass 2 = one dH matmul plus a recompute of all chunks but the last n (plus one dE
 * matmul when the head is trained: full-parameter training, {@link HeadOptions.dE}).
 * With {@link HeadOptions.softcap} (Gemma final_logit_softcapping, HF Gemma3ForCausalLM.forward) the loss is over
 * z′ = cap·tanh(z/cap): the scratches keep the raw z, both cross-entropy passes apply the cap, dlogits includes
 * 1 − (z′/cap)², and readLogits returns z′.
 * Sources: Liger-Kernel FusedLinearCrossEntropy; Wijmans et al. 2024 "Cut Your Losses in Large-Vocabulary Language
 * Models"; Milakov & Gimelshein 2018 (online softmax).
 */
import type { GpuContext } from '../gpu/context';
import { submitAndWait } from '../gpu/context';
import { readF32 } from '../gpu/buffers';
import { crossEntropyChunkBackward, crossEntropyChunkForward } from '../kernels/crossEntropyChunk';
import { requireSoftcap, softcapInPlace } from '../kernels/softcap';
import { matmulAuto, matmulSkinny, MATMUL_SKINNY_MAX_M, type MatmulArgs } from '../kernels/matmul';
import { vocabSlices, type VocabSlice, type VocabTable } from './vocabTable';

/** Buffers the head reads and writes (M = B·T token rows). */
export interface HeadBuffers {
  /** f32 [M, C]: final-norm hidden states (input of lm_head). */
  readonly h: GPUBuffer;
  /** n ≥ 1 f32 [M, Vc] scratches: chunk k's logits (then dlogits) live in scratch k mod n. */
  readonly logits: readonly GPUBuffer[];
  /** Vc: rows per compute chunk (from vocabChunks.vocabChunkRows for the allocated M). */
  readonly chunkRows: number;
  /** i32 [M]: shifted targets (−100 = ignore). */
  readonly targets: GPUBuffer;
  /** f32 [M, 4]: online log-sum-exp statistics (crossEntropyChunk.ts). */
  readonly stats: GPUBuffer;
  /** f32 [M]: per-row loss (nats; 0 on ignored rows). */
  readonly losses: GPUBuffer;
}

/** Options of the head; pass the same to {@link recordHeadLoss}, {@link recordHeadBackward} and {@link readLogits}. */
export interface HeadOptions {
  /**
   * Final logit soft-cap (config final_logit_softcapping; HF Gemma3ForCausalLM.forward: logits = cap·tanh(logits/cap)),
   * a finite number > 0; absent (config null) = no capping.
   */
  readonly softcap?: number;
  /**
   * Full-parameter training: the lm_head gradient, f32 [V, C] in the same row chunks as the table E (model/fullParams.ts).
   * {@link recordHeadBackward} then also accumulates dE_chunk += dlogits_chunkᵀ·h for each vocabulary chunk.
   */
  readonly dE?: VocabTable;
  /**
   * {@link recordHeadBackward} only: f32 [M], row m's dlogits are further scaled by rowScale[m] (DPO: the per-sequence
   * d loss / d NLL, kernels/crossEntropyChunk.ts backward_rows).
   */
  readonly rowScale?: GPUBuffer;
}

/** The cross-entropy kernels' softcap argument (none when absent). */
function capArgs(opts: HeadOptions): { softcap?: number } {
  if (opts.softcap === undefined) return {};
  requireSoftcap('lm_head', opts.softcap);
  return { softcap: opts.softcap };
}

function slicesFor(E: VocabTable, M: number, b: HeadBuffers): VocabSlice[] {
  if (!(Number.isInteger(b.chunkRows) && b.chunkRows >= 1)) throw new Error(`lm_head: chunkRows must be a positive integer, got ${b.chunkRows}`);
  if (b.logits.length === 0) throw new Error('lm_head: no logits scratch buffer given');
  for (const l of b.logits) if (l.size < M * b.chunkRows * 4) throw new Error(`lm_head: the logits scratch holds ${l.size} bytes, but M=${M} rows × ${b.chunkRows} vocabulary rows need ${M * b.chunkRows * 4}`);
  return vocabSlices(E, b.chunkRows);
}

/** matmulAuto (tiled, or register-blocked for K ≤ 256), or the M ≤ 16 entry point for a few token rows (all bit-identical). */
function mm(ctx: GpuContext, enc: GPUCommandEncoder, args: MatmulArgs): void {
  (args.M <= MATMUL_SKINNY_MAX_M ? matmulSkinny : matmulAuto)(ctx, enc, args);
}

/** The scratch of compute chunk k. */
function scratchOf(b: HeadBuffers, k: number): GPUBuffer {
  return b.logits[k % b.logits.length] as GPUBuffer;
}

function recordChunkLogits(ctx: GpuContext, enc: GPUCommandEncoder, E: VocabTable, M: number, b: HeadBuffers, s: VocabSlice, k: number): void {
  mm(ctx, enc, { M, N: s.rows, K: E.cols, a: b.h, w: s.binding, wDtype: E.dtype, transB: true, out: scratchOf(b, k) });
}

/**
 * Records pass 1: for every chunk in vocabulary order, logits chunk = h·E_chunkᵀ then the online log-sum-exp (of the
 * capped logits with opts.softcap). On completion losses[m] = lse_m − logit_m[target_m] (0 where ignored) and
 * stats[m, 3] = lse_m; the scratches hold the last n chunks' raw (uncapped) logits.
 * @throws Error when the scratch is smaller than [M, chunkRows] or the softcap is not finite and > 0; kernel errors
 *   naming the tensor.
 */
export function recordHeadLoss(ctx: GpuContext, enc: GPUCommandEncoder, E: VocabTable, M: number, b: HeadBuffers, opts: HeadOptions = {}): void {
  const cap = capArgs(opts);
  const slices = slicesFor(E, M, b);
  slices.forEach((s, k) => {
    recordChunkLogits(ctx, enc, E, M, b, s, k);
    crossEntropyChunkForward(ctx, enc, {
      M, V: E.rows, v0: s.row0, Vc: s.rows, logits: scratchOf(b, k), targets: b.targets, stats: b.stats, losses: b.losses,
      first: k === 0, last: k === slices.length - 1, ...cap,
    });
  });
}

/**
 * Records pass 2 after {@link recordHeadLoss} on the same buffers and options (nothing may write `b.logits` in
 * between; the last n chunks are not recomputed):
 * dH (overwritten) = Σ_chunks dlogits_chunk·E_chunk with dlogits = (softmax − onehot)·gradScale, times
 * 1 − (z′/cap)² with opts.softcap (softmax of the capped logits z′).
 * @param dH f32 [M, C]
 * @param gradScale 1 / (label tokens of the optimizer step)
 * @param opts the options given to {@link recordHeadLoss}, plus optionally dE (full-parameter training) and rowScale
 *   (DPO: row m's dlogits further scaled by rowScale[m])
 * @throws Error as {@link recordHeadLoss}, for a non-finite gradScale or a rowScale under M floats.
 */
export function recordHeadBackward(ctx: GpuContext, enc: GPUCommandEncoder, E: VocabTable, M: number, b: HeadBuffers, dH: GPUBuffer, gradScale: number, opts: HeadOptions = {}): void {
  const cap = capArgs(opts);
  const slices = slicesFor(E, M, b);
  // Chunks k ≥ slices.length − n still hold their logits; an earlier chunk's scratch last held chunk k + n, which
  // this reverse loop has already consumed.
  const kept = slices.length - b.logits.length;
  const dSlices = opts.dE ? vocabSlices(opts.dE, b.chunkRows) : null;
  if (opts.dE && (opts.dE.dtype !== 'F32' || opts.dE.rows !== E.rows || opts.dE.cols !== E.cols || dSlices?.length !== slices.length)) throw new Error(`lm_head: the gradient table ${opts.dE.label} must be f32 [${E.rows}, ${E.cols}] in the chunks of ${E.label}`);
  for (let k = slices.length - 1; k >= 0; k--) {
    const s = slices[k] as VocabSlice;
    const logits = scratchOf(b, k);
    if (k < kept) recordChunkLogits(ctx, enc, E, M, b, s, k);
    crossEntropyChunkBackward(ctx, enc, { M, V: E.rows, v0: s.row0, Vc: s.rows, logits, targets: b.targets, stats: b.stats, losses: b.losses, gradScale, ...cap, ...(opts.rowScale ? { rowScale: opts.rowScale } : {}) });
    // dE_chunk [Vc, C] += dlogitsᵀ·h (dlogits [M, Vc] read transposed; already times rowScale)
    if (dSlices) matmulAuto(ctx, enc, { M: s.rows, N: E.cols, K: M, a: logits, transA: true, w: b.h, wDtype: 'F32', transB: false, out: (dSlices[k] as VocabSlice).binding, accumulate: true });
    mm(ctx, enc, { M, N: E.cols, K: s.rows, a: logits, w: s.binding, wDtype: E.dtype, transB: false, out: dH, accumulate: k < slices.length - 1 });
  }
}

/**
 * Computes and reads back the full logits [M, V] chunk by chunk (for checks against reference logits on small
 * vocabularies; M·V floats end up in CPU memory), capped to cap·tanh(z/cap) with opts.softcap. Submits its own work;
 * overwrites the scratches.
 * @returns f32 [M, V] row-major
 * @throws Error as {@link recordHeadLoss}.
 */
export async function readLogits(ctx: GpuContext, E: VocabTable, M: number, b: HeadBuffers, opts: HeadOptions = {}): Promise<Float32Array> {
  const { softcap } = capArgs(opts);
  const V = E.rows;
  const out = new Float32Array(M * V);
  for (const [k, s] of slicesFor(E, M, b).entries()) {
    const enc = ctx.device.createCommandEncoder({ label: 'lm_head.read-logits' });
    recordChunkLogits(ctx, enc, E, M, b, s, k);
    if (softcap !== undefined) softcapInPlace(ctx, enc, { n: M * s.rows, cap: softcap, x: scratchOf(b, k) });
    await submitAndWait(ctx, [enc.finish()]);
    const chunk = await readF32(ctx, scratchOf(b, k), 0, M * s.rows);
    for (let m = 0; m < M; m++) out.set(chunk.subarray(m * s.rows, (m + 1) * s.rows), m * V + s.row0);
  }
  return out;
}
