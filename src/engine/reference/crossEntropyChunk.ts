/**
 * CPU f64 references of the vocabulary-chunked loss head (used by tests only, not on the training path):
 *  - the online log-sum-exp over vocabulary chunks (Milakov & Gimelshein 2018) and its per-chunk backward
 *    (shaders/cross_entropy_chunk.wgsl), which must equal torch `cross_entropy` over the full row
 *    (reference/crossEntropy.ts);
 *  - the whole head on hidden states: logits = h·Eᵀ (HF lm_head, nn.Linear without bias), per-row loss, and
 *    dH = dlogits·E (the lm_head input gradient).
 * Targets: −100 = ignore (loss 0, zero gradient); shapes M rows, V vocab, C hidden, Vc rows per chunk.
 * Optional `softcap` (Gemma final_logit_softcapping, HF Gemma3ForCausalLM.forward): the loss is over
 * z′ = cap·tanh(z/cap) of the raw logits z, and dlogits (w.r.t. z) gains the factor 1 − (z′/cap)² (reference/softcap.ts).
 */
import { softcapRef } from './softcap';

const IGNORE_INDEX = -100;

function checkTargets(M: number, V: number, targets: ArrayLike<number>, what: string): void {
  if (targets.length !== M) throw new Error(`${what}: targets has ${targets.length} values, expected M = ${M}`);
  for (let m = 0; m < M; m++) {
    const t = targets[m] as number;
    if (t !== IGNORE_INDEX && !(Number.isInteger(t) && t >= 0 && t < V)) throw new Error(`${what}: row ${m} has target ${t}, expected −100 or an id in [0, ${V})`);
  }
}

/**
 * Per-row loss and lse over logits [M, V] (capped first when `softcap` is given), visiting the vocabulary in chunks
 * of `chunkRows` columns and merging (max, Σ exp(x − max)) online: m' = max(m, m_c), s' = s·e^{m−m'} + s_c·e^{m_c−m'}.
 * @returns losses [M] (0 on ignored rows) and lse [M] (0 on ignored rows; of the capped logits with softcap), f64.
 * @throws Error when a length is wrong, chunkRows < 1, a target is neither −100 nor in [0, V), or softcap ≤ 0.
 */
export function crossEntropyChunkedRef(M: number, V: number, chunkRows: number, rawLogits: ArrayLike<number>, targets: ArrayLike<number>, softcap?: number): { losses: Float64Array; lse: Float64Array } {
  const logits = softcap === undefined ? rawLogits : softcapRef(rawLogits, softcap);
  if (logits.length !== M * V) throw new Error(`crossEntropyChunkedRef: logits has ${logits.length} values, expected M·V = ${M * V}`);
  if (!(Number.isInteger(chunkRows) && chunkRows >= 1)) throw new Error(`crossEntropyChunkedRef: chunkRows must be a positive integer, got ${chunkRows}`);
  checkTargets(M, V, targets, 'crossEntropyChunkedRef');
  const losses = new Float64Array(M);
  const lse = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    const t = targets[m] as number;
    if (t === IGNORE_INDEX) continue;
    let mx = -Infinity;
    let s = 0;
    for (let v0 = 0; v0 < V; v0 += chunkRows) {
      const end = Math.min(V, v0 + chunkRows);
      let mc = -Infinity;
      for (let i = v0; i < end; i++) mc = Math.max(mc, logits[m * V + i] as number);
      let sc = 0;
      for (let i = v0; i < end; i++) sc += Math.exp((logits[m * V + i] as number) - mc);
      const mm = Math.max(mx, mc);
      s = (s === 0 ? 0 : s * Math.exp(mx - mm)) + sc * Math.exp(mc - mm);
      mx = mm;
    }
    lse[m] = mx + Math.log(s);
    losses[m] = (lse[m] as number) - (logits[m * V + t] as number);
  }
  return { losses, lse };
}

/**
 * Per-chunk backward: dlogits[m, i] = (exp(chunk[m, i] − lse[m]) − [v0 + i = target[m]])·gradScale for the chunk
 * [M, Vc] of vocabulary rows [v0, v0 + Vc); zero rows where target = −100. With `softcap` the chunk holds raw
 * logits z and dlogits[m, i] = (exp(z′ − lse[m]) − onehot)·gradScale·(1 − (z′/cap)²), z′ = cap·tanh(z/cap)
 * (lse of the capped logits, as {@link crossEntropyChunkedRef} returns it). With `rowScale` [M] row m is further
 * multiplied by rowScale[m] (the per-sequence DPO scale: the gradient of Σ_m gradScale·rowScale[m]·loss_m).
 * @returns dlogits of the chunk [M, Vc] (w.r.t. the raw logits), f64.
 * @throws Error when a length is wrong, a target is invalid or softcap ≤ 0.
 */
export function crossEntropyChunkBackwardRef(M: number, V: number, v0: number, Vc: number, rawChunk: ArrayLike<number>, targets: ArrayLike<number>, lse: ArrayLike<number>, gradScale: number, softcap?: number, rowScale?: ArrayLike<number>): Float64Array {
  const chunk = softcap === undefined ? rawChunk : softcapRef(rawChunk, softcap);
  if (chunk.length !== M * Vc) throw new Error(`crossEntropyChunkBackwardRef: chunk has ${chunk.length} values, expected M·Vc = ${M * Vc}`);
  if (v0 < 0 || v0 + Vc > V) throw new Error(`crossEntropyChunkBackwardRef: chunk [${v0}, ${v0 + Vc}) is outside [0, ${V})`);
  checkTargets(M, V, targets, 'crossEntropyChunkBackwardRef');
  if (rowScale && rowScale.length !== M) throw new Error(`crossEntropyChunkBackwardRef: rowScale has ${rowScale.length} values, expected M = ${M}`);
  const d = new Float64Array(M * Vc);
  for (let m = 0; m < M; m++) {
    const t = targets[m] as number;
    if (t === IGNORE_INDEX) continue;
    const g = gradScale * (rowScale ? (rowScale[m] as number) : 1);
    for (let i = 0; i < Vc; i++) {
      const z = chunk[m * Vc + i] as number;
      const dz = softcap === undefined ? 1 : 1 - (z / softcap) ** 2;
      d[m * Vc + i] = (Math.exp(z - (lse[m] as number)) - (v0 + i === t ? 1 : 0)) * g * dz;
    }
  }
  return d;
}

/**
 * The loss head on hidden states: logits[m, v] = Σ_c h[m, c]·E[v, c], then {@link crossEntropyChunkedRef}; and
 * dH[m, c] = Σ_v dlogits[m, v]·E[v, c] with dlogits from {@link crossEntropyChunkBackwardRef} over every chunk
 * (both with the optional softcap).
 * @param h [M, C]; E [V, C] (already decoded to numbers).
 * @returns losses [M], lse [M] and dH [M, C] (all f64).
 */
export function lmHeadRef(M: number, V: number, C: number, chunkRows: number, h: ArrayLike<number>, E: ArrayLike<number>, targets: ArrayLike<number>, gradScale: number, softcap?: number): { losses: Float64Array; lse: Float64Array; dH: Float64Array } {
  if (h.length !== M * C) throw new Error(`lmHeadRef: h has ${h.length} values, expected M·C = ${M * C}`);
  if (E.length !== V * C) throw new Error(`lmHeadRef: E has ${E.length} values, expected V·C = ${V * C}`);
  const logits = new Float64Array(M * V);
  for (let m = 0; m < M; m++) {
    for (let v = 0; v < V; v++) {
      let acc = 0;
      for (let c = 0; c < C; c++) acc += (h[m * C + c] as number) * (E[v * C + c] as number);
      logits[m * V + v] = acc;
    }
  }
  const { losses, lse } = crossEntropyChunkedRef(M, V, chunkRows, logits, targets, softcap);
  const dH = new Float64Array(M * C);
  for (let v0 = 0; v0 < V; v0 += chunkRows) {
    const Vc = Math.min(chunkRows, V - v0);
    const chunk = new Float64Array(M * Vc);
    for (let m = 0; m < M; m++) for (let i = 0; i < Vc; i++) chunk[m * Vc + i] = logits[m * V + v0 + i] as number;
    const d = crossEntropyChunkBackwardRef(M, V, v0, Vc, chunk, targets, lse, gradScale, softcap);
    for (let m = 0; m < M; m++) {
      for (let i = 0; i < Vc; i++) {
        const g = d[m * Vc + i] as number;
        if (g === 0) continue;
        for (let c = 0; c < C; c++) dH[m * C + c] = (dH[m * C + c] as number) + g * (E[(v0 + i) * C + c] as number);
      }
    }
  }
  return { losses, lse, dH };
}
