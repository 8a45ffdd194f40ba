/**
 * A frozen nn.Linear with an optional LoRA branch, forward and backward (PEFT lora.Linear.forward):
 *   y = x Wᵀ + b + s·(x Aᵀ) Bᵀ,   x [M, in], W [out, in], A [R, in], B [out, R].
 * Backward (W, b frozen): dx = dy W + s·(dy B) A;  dB += s·dyᵀ u;  dA += (s·dy B)ᵀ x, with u = x Aᵀ saved by forward.
 * LoRA gradients accumulate (+=) so micro-batches add up; the optimizer zeroes them once per step.
 * Fused (no LoRA dropout): forward = u = x Aᵀ (thin kernel) + ONE pass y = x Wᵀ + b + s·u Bᵀ (matmulLora);
 * backward = du = s·dy B, dB += s·dyᵀ u, dA += duᵀ x (thin kernels: rank-r outputs) + ONE pass dx = dy W + du A.
 * With LoRA dropout > 0 the forward is fused the same way (u from dropout(x)); the backward keeps the unfused path,
 * since dx gets mask ⊙ (du A) / (1 − p), not du A.
 */
import type { GpuContext } from '../gpu/context';
import { dropoutBackward, dropoutForward } from '../kernels/dropout';
import { matmulAuto, matmulLora } from '../kernels/matmul';
import type { LinearWeights } from './weights';
import { loraBinding, type LoraParams, type LoraSlot } from './lora';

/** The LoRA branch of one linear: parameters, its slot, and the saved u = x Aᵀ [M, R]. */
export interface LoraBranch {
  readonly p: LoraParams;
  readonly slot: LoraSlot;
  readonly u: GPUBuffer;
  /**
   * Training-mode LoRA dropout (PEFT: lora_B(lora_A(dropout(x)))): probability, mask seed, and scratch [M, in] for
   * dropout(x) and its gradient. The mask is regenerated from the seed in backward (and on recompute).
   */
  readonly dropout?: { readonly p: number; readonly seed: number; readonly x: GPUBuffer; readonly dx: GPUBuffer };
}

/**
 * Records y (=|+=) x Wᵀ + b (+ s·(x Aᵀ) Bᵀ).
 * @param M rows of x and y
 * @param accumulate add into y instead of overwriting it (residual connections)
 */
export function linearForward(ctx: GpuContext, enc: GPUCommandEncoder, M: number, lin: LinearWeights, x: GPUBuffer, y: GPUBuffer, lora: LoraBranch | null, accumulate = false): void {
  const base = {
    M, N: lin.outFeatures, K: lin.inFeatures,
    a: x, w: lin.w.buffer, wDtype: lin.w.dtype, transB: true,
    out: y, accumulate, ...(lin.bias ? { bias: lin.bias } : {}),
  } as const;
  if (!lora) {
    matmulAuto(ctx, enc, base);
    return;
  }
  const { p, slot, u, dropout } = lora;
  let xl = x;
  if (dropout) {
    dropoutForward(ctx, enc, { n: M * lin.inFeatures, p: dropout.p, seed: dropout.seed, x, out: dropout.x });
    xl = dropout.x;
  }
  // u [M, R] = x Aᵀ, then y (=|+=) x Wᵀ + b + s·u Bᵀ in one pass
  matmulAuto(ctx, enc, { M, N: p.r, K: lin.inFeatures, a: xl, w: loraBinding(p, slot, 'a'), wDtype: 'F32', transB: true, out: u });
  matmulLora(ctx, enc, { ...base, R: p.r, a2: u, w2: loraBinding(p, slot, 'b'), trans2: true, alpha2: p.scaling });
}

/**
 * Records the backward of {@link linearForward}: dx (=|+=) dy W (+ s·(dy B) A), and LoRA grads dA, dB (+=).
 * @param x the forward input [M, in] (saved activation)
 * @param dy gradient of the output [M, out]
 * @param du scratch [M, R] for s·dy B
 * @param accumulateDx add into dx instead of overwriting it (when several linears read the same input)
 */
export function linearBackward(ctx: GpuContext, enc: GPUCommandEncoder, M: number, lin: LinearWeights, x: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, lora: LoraBranch | null, du: GPUBuffer, accumulateDx: boolean): void {
  const base = { M, N: lin.inFeatures, K: lin.outFeatures, a: dy, w: lin.w.buffer, wDtype: lin.w.dtype, transB: false, out: dx, accumulate: accumulateDx } as const;
  if (!lora) {
    matmulAuto(ctx, enc, base);
    return;
  }
  const { p, slot, u, dropout } = lora;
  const s = p.scaling;
  let xl = x;
  if (dropout) {
    matmulAuto(ctx, enc, base);
    // Regenerate dropout(x) from the same seed (u was computed from it in forward).
    dropoutForward(ctx, enc, { n: M * lin.inFeatures, p: dropout.p, seed: dropout.seed, x, out: dropout.x });
    xl = dropout.x;
  }
  // dB [out, R] += s · dyᵀ u
  matmulAuto(ctx, enc, { M: lin.outFeatures, N: p.r, K: M, a: dy, transA: true, w: u, wDtype: 'F32', transB: false, out: loraBinding(p, slot, 'b', 'grads'), accumulate: true, alpha: s });
  // du [M, R] = s · dy B
  matmulAuto(ctx, enc, { M, N: p.r, K: lin.outFeatures, a: dy, w: loraBinding(p, slot, 'b'), wDtype: 'F32', transB: false, out: du, alpha: s });
  // dA [R, in] += duᵀ x
  matmulAuto(ctx, enc, { M: p.r, N: lin.inFeatures, K: M, a: du, transA: true, w: xl, wDtype: 'F32', transB: false, out: loraBinding(p, slot, 'a', 'grads'), accumulate: true });
  if (dropout) {
    // d dropout(x) = du A, then dx += mask ⊙ (du A) / (1 − p)
    matmulAuto(ctx, enc, { M, N: lin.inFeatures, K: p.r, a: du, w: loraBinding(p, slot, 'a'), wDtype: 'F32', transB: false, out: dropout.dx });
    dropoutBackward(ctx, enc, { n: M * lin.inFeatures, p: dropout.p, seed: dropout.seed, dy: dropout.dx, dx });
    return;
  }
  // dx (=|+=) dy W + du A in one pass
  matmulLora(ctx, enc, { ...base, R: p.r, a2: du, w2: loraBinding(p, slot, 'a'), trans2: false, alpha2: 1 });
}
