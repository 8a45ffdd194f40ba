/**
 * Required FLOPs of one training step, the numerator of the MFU figures in bench/ (a FLOP is one multiply or one
 * add; a multiply-add is 2). "Required" counts the work the maths needs, not what our kernels happen to do:
 * - every frozen linear [out, in] (all seven per layer, targeted or not): forward 2·in·out·tokens and the input
 *   gradient 2·in·out·tokens; no gradient for the frozen weight;
 * - every LoRA branch of rank r: forward x·Aᵀ and u·Bᵀ (2·r·(in + out)·tokens), backward dB, du = dy·B, dA and
 *   dx += du·A (4·r·(in + out)·tokens): 6·r·(in + out)·tokens in all;
 * - causal attention per (batch row, query head) over the visible (query, key) pairs — T(T+1)/2, or with a sliding
 *   window W < T on that layer W(W+1)/2 + (T−W)·W: forward q·k and p·v (4·D per pair), backward dp = dO·v, dv = pᵀ·dO, dq = ds·k, dk = dsᵀ·q (8·D per pair); the recomputation
 *   of p in the backward is not counted;
 * - the lm_head: forward 2·C·V·tokens and the hidden-state gradient 2·C·V·tokens (no weight gradient).
 * Full-parameter training ({@link requiredFullStepFlops}) adds every linear's weight gradient dW = dyᵀ·x
 * (2·in·out·tokens) and, when the embedding is trained, the lm_head's dE = dlogitsᵀ·h (2·C·V·tokens); no LoRA term.
 * Embedding lookups, norms, RoPE, SwiGLU, softmax and the optimizer are elementwise and not counted.
 * tokens = B·T padded positions (the kernels process every position of the batch).
 * Sources: Kaplan et al. 2020 §2.1 (2N per token forward); Dao 2023 FlashAttention-2 §4 (attention FLOPs, causal ½).
 */
import type { ModelConfig } from '../../io/config/types';
import { linearShape } from '../arch/tensors';
import { layerAttention } from '../arch/layer';
import type { TargetModule } from '../model/loraTypes';
import { TARGET_MODULES } from '../model/loraTypes';

/** FLOPs of one step by part. */
export interface StepFlops {
  readonly frozenLinears: number;
  readonly lora: number;
  readonly attention: number;
  readonly lmHead: number;
  readonly total: number;
}

/**
 * Required FLOPs of one forward + backward over B × T tokens (see the file comment for what is counted).
 * @param lora rank and targeted modules (r 0 or no targets: no LoRA term)
 * @throws RangeError when B or T is not a positive integer
 */
export function requiredStepFlops(cfg: ModelConfig, lora: { readonly r: number; readonly targetModules: readonly TargetModule[] }, B: number, T: number): StepFlops {
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) throw new RangeError(`requiredStepFlops: B and T must be positive integers, got B=${B}, T=${T}`);
  const tokens = B * T;
  const L = cfg.numLayers;
  let frozen = 0;
  let loraF = 0;
  for (const m of TARGET_MODULES) {
    const [out, inF] = linearShape(cfg, m);
    frozen += 4 * inF * out * tokens;
    if (lora.r > 0 && lora.targetModules.includes(m)) loraF += 6 * lora.r * (inF + out) * tokens;
  }
  let attention = 0;
  for (let l = 0; l < L; l++) attention += B * cfg.numHeads * visiblePairs(T, layerAttention(cfg, l).window) * 12 * cfg.headDim;
  const lmHead = 4 * cfg.hiddenSize * cfg.vocabSize * tokens;
  const f = { frozenLinears: L * frozen, lora: L * loraF, attention, lmHead };
  return { ...f, total: f.frozenLinears + f.lora + f.attention + f.lmHead };
}

/**
 * (query, key) pairs a causal attention over T positions computes: T(T+1)/2, or with a sliding window W < T (query i
 * sees keys i−W+1 … i) W(W+1)/2 + (T−W)·W.
 * @param window 0 = full causal
 */
export function visiblePairs(T: number, window: number): number {
  if (window <= 0 || window >= T) return (T * (T + 1)) / 2;
  return (window * (window + 1)) / 2 + (T - window) * window;
}

/** FLOPs of one full-parameter step by part ({@link requiredFullStepFlops}). */
export interface FullStepFlops extends StepFlops {
  /** dW = dyᵀ·x of every decoder linear, plus dE = dlogitsᵀ·h when the embedding / lm_head is trained */
  readonly weightGrads: number;
}

/**
 * Required FLOPs of one full-parameter forward + backward over B × T tokens: {@link requiredStepFlops} without LoRA,
 * plus the weight gradients (file comment).
 * @param trainHead whether the lm_head weight gets a gradient (an untied head, or a tied one with embeddings trained)
 * @throws RangeError when B or T is not a positive integer
 */
export function requiredFullStepFlops(cfg: ModelConfig, B: number, T: number, trainHead: boolean): FullStepFlops {
  const base = requiredStepFlops(cfg, { r: 0, targetModules: [] }, B, T);
  const tokens = B * T;
  let linears = 0;
  for (const m of TARGET_MODULES) {
    const [out, inF] = linearShape(cfg, m);
    linears += 2 * inF * out * tokens;
  }
  const weightGrads = cfg.numLayers * linears + (trainHead ? 2 * cfg.hiddenSize * cfg.vocabSize * tokens : 0);
  return { ...base, weightGrads, total: base.total + weightGrads };
}
