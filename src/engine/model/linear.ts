/**
 * A frozen nn.Linear with an optional LoRA branch, forward and backward (PEFT lora.Linear.forward):
 *   y = x Wᵀ + b + s·(x Aᵀ) Bᵀ,   x [M, in], W [out, in], A [R, in], B [out, R].
 * Backward (W, b frozen): dx = dy W + s·(dy B) A;  dB += s·dyᵀ u;  dA += (s·dy B)ᵀ x, with u = x Aᵀ saved by forward.
 * LoRA gradients accumulate (+=) so micro-batches add up; the optimizer zeroes them once per step.
 */
import type { GpuContext } from '../gpu/context';
import { matmul } from '../kernels/matmul';
import type { LinearWeights } from './weights';
import { loraBinding, type LoraParams, type LoraSlot } from './lora';

/** The LoRA branch of one linear: parameters, its slot, and the saved u = x Aᵀ [M, R]. */
export interface LoraBranch {
  readonly p: LoraParams;
  readonly slot: LoraSlot;
  readonly u: GPUBuffer;
}

/**
 * Records y (=|+=) x Wᵀ + b (+ s·(x Aᵀ) Bᵀ).
 * @param M rows of x and y
 * @param accumulate add into y instead of overwriting it (residual connections)
 */
export function linearForward(ctx: GpuContext, enc: GPUCommandEncoder, M: number, lin: LinearWeights, x: GPUBuffer, y: GPUBuffer, lora: LoraBranch | null, accumulate = false): void {
  matmul(ctx, enc, {
    M, N: lin.outFeatures, K: lin.inFeatures,
    a: x, w: lin.w.buffer, wDtype: lin.w.dtype, transB: true,
    out: y, accumulate, ...(lin.bias ? { bias: lin.bias } : {}),
  });
  if (!lora) return;
  const { p, slot, u } = lora;
  matmul(ctx, enc, { M, N: p.r, K: lin.inFeatures, a: x, w: loraBinding(p, slot, 'a'), wDtype: 'F32', transB: true, out: u });
  matmul(ctx, enc, { M, N: lin.outFeatures, K: p.r, a: u, w: loraBinding(p, slot, 'b'), wDtype: 'F32', transB: true, out: y, accumulate: true, alpha: p.scaling });
}

/**
 * Records the backward of {@link linearForward}: dx (=|+=) dy W (+ s·(dy B) A), and LoRA grads dA, dB (+=).
 * @param x the forward input [M, in] (saved activation)
 * @param dy gradient of the output [M, out]
 * @param du scratch [M, R] for s·dy B
 * @param accumulateDx add into dx instead of overwriting it (when several linears read the same input)
 */
export function linearBackward(ctx: GpuContext, enc: GPUCommandEncoder, M: number, lin: LinearWeights, x: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, lora: LoraBranch | null, du: GPUBuffer, accumulateDx: boolean): void {
  matmul(ctx, enc, { M, N: lin.inFeatures, K: lin.outFeatures, a: dy, w: lin.w.buffer, wDtype: lin.w.dtype, transB: false, out: dx, accumulate: accumulateDx });
  if (!lora) return;
  const { p, slot, u } = lora;
  const s = p.scaling;
  // dB [out, R] += s · dyᵀ u
  matmul(ctx, enc, { M: lin.outFeatures, N: p.r, K: M, a: dy, transA: true, w: u, wDtype: 'F32', transB: false, out: loraBinding(p, slot, 'b', 'grads'), accumulate: true, alpha: s });
  // du [M, R] = s · dy B
  matmul(ctx, enc, { M, N: p.r, K: lin.outFeatures, a: dy, w: loraBinding(p, slot, 'b'), wDtype: 'F32', transB: false, out: du, alpha: s });
  // dA [R, in] += duᵀ x
  matmul(ctx, enc, { M: p.r, N: lin.inFeatures, K: M, a: du, transA: true, w: x, wDtype: 'F32', transB: false, out: loraBinding(p, slot, 'a', 'grads'), accumulate: true });
  // dx += du A
  matmul(ctx, enc, { M, N: lin.inFeatures, K: p.r, a: du, w: loraBinding(p, slot, 'a'), wDtype: 'F32', transB: false, out: dx, accumulate: true });
}
