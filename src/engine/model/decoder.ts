/**
 * One Llama-family decoder layer, forward and backward (HF modeling_llama / modeling_qwen2 / modeling_qwen3):
 *   h = RMSNorm(x); q,k,v = h W{q,k,v}ᵀ (+b); [qwen3: q,k = RMSNorm_head(q,k)]; q,k = RoPE(q,k);
 *   x' = x + Attn(q,k,v) W_oᵀ;  h2 = RMSNorm(x');  x'' = x' + (silu(h2 W_gᵀ) ⊙ h2 W_uᵀ) W_dᵀ.
 * Every linear may carry a LoRA branch (see linear.ts). Shapes: M = B·T rows, C, H, KV, D, I as in ModelConfig.
 */
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { attentionBackward, attentionForward } from '../kernels/attention';
import { rmsnormBackward, rmsnormForward } from '../kernels/rmsnorm';
import { ropeBackward, ropeForward } from '../kernels/rope';
import { swigluBackward, swigluForward } from '../kernels/swiglu';
import { TARGET_MODULES, type TargetModule } from './loraTypes';
import { pcgHash } from '../train/rng';
import { layerActs, type Activations, type LayerActivations } from './activations';
import { linearBackward, linearForward, type LoraBranch } from './linear';
import { findSlot, type LoraParams } from './lora';
import type { LayerWeights } from './weights';

/** Per-call shape info: batch B, sequence T, and the RoPE tables (f32 [T, D/2]). */
export interface StepShape {
  readonly B: number;
  readonly T: number;
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
  /** Training micro-batch seed for LoRA dropout; undefined = eval mode (no dropout, like model.eval()). */
  readonly dropoutSeed?: number;
}

/** The LoRA branch of (layer, module), with its dropout mask seed when training with lora_dropout > 0. */
function branch(lora: LoraParams | null, layer: number, m: TargetModule, la: LayerActivations, acts: Activations, s: StepShape): LoraBranch | null {
  if (!lora) return null;
  const slot = findSlot(lora, layer, m);
  const u = la.loraU.get(m);
  if (!slot || !u) return null;
  const p = lora.settings.dropout;
  if (p > 0 && s.dropoutSeed !== undefined) {
    if (!acts.dropX || !acts.dropDX) throw new Error('LoRA dropout > 0 needs activations created with { dropout: true }');
    const seed = pcgHash((s.dropoutSeed ^ pcgHash(layer * 16 + TARGET_MODULES.indexOf(m))) >>> 0);
    return { p: lora, slot, u, dropout: { p, seed, x: acts.dropX, dx: acts.dropDX } };
  }
  return { p: lora, slot, u };
}

/**
 * Records the forward of layer `l`: reads acts.resid[l], writes acts.resid[l+1] and the layer's saved activations
 * (the shared set when acts.recompute; re-running it for the backward rewrites resid[l+1] with identical values).
 */
export function decoderLayerForward(ctx: GpuContext, enc: GPUCommandEncoder, cfg: ModelConfig, l: number, w: LayerWeights, acts: Activations, lora: LoraParams | null, s: StepShape): void {
  const { B, T } = s;
  const M = B * T;
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I, rmsNormEps: eps } = cfg;
  const a = layerActs(acts, l);
  const x = acts.resid[l] as GPUBuffer;
  const xOut = acts.resid[l + 1] as GPUBuffer;
  rmsnormForward(ctx, enc, { rows: M, C, eps, x, weight: w.inputNorm, out: a.h1, rstd: a.rstd1 });
  const L = w.linears;
  linearForward(ctx, enc, M, L.q_proj, a.h1, a.qPre ?? a.q, branch(lora, l, 'q_proj', a, acts, s));
  linearForward(ctx, enc, M, L.k_proj, a.h1, a.kPre ?? a.k, branch(lora, l, 'k_proj', a, acts, s));
  linearForward(ctx, enc, M, L.v_proj, a.h1, a.v, branch(lora, l, 'v_proj', a, acts, s));
  if (a.qPre && a.kPre && a.rstdQ && a.rstdK && w.qNorm && w.kNorm) {
    rmsnormForward(ctx, enc, { rows: M * H, C: D, eps, x: a.qPre, weight: w.qNorm, out: a.q, rstd: a.rstdQ });
    rmsnormForward(ctx, enc, { rows: M * KV, C: D, eps, x: a.kPre, weight: w.kNorm, out: a.k, rstd: a.rstdK });
  }
  ropeForward(ctx, enc, { B, T, nHeads: H, D, cos: s.cos, sin: s.sin, x: a.q });
  ropeForward(ctx, enc, { B, T, nHeads: KV, D, cos: s.cos, sin: s.sin, x: a.k });
  attentionForward(ctx, enc, { B, T, H, KV, D, scale: 1 / Math.sqrt(D), q: a.q, k: a.k, v: a.v, out: a.attn, lse: a.lse });
  enc.copyBufferToBuffer(x, 0, a.xMid, 0, M * C * 4);
  linearForward(ctx, enc, M, L.o_proj, a.attn, a.xMid, branch(lora, l, 'o_proj', a, acts, s), true);
  rmsnormForward(ctx, enc, { rows: M, C, eps, x: a.xMid, weight: w.postAttentionNorm, out: a.h2, rstd: a.rstd2 });
  linearForward(ctx, enc, M, L.gate_proj, a.h2, a.gate, branch(lora, l, 'gate_proj', a, acts, s));
  linearForward(ctx, enc, M, L.up_proj, a.h2, a.up, branch(lora, l, 'up_proj', a, acts, s));
  swigluForward(ctx, enc, { n: M * I, gate: a.gate, up: a.up, out: a.act });
  enc.copyBufferToBuffer(a.xMid, 0, xOut, 0, M * C * 4);
  linearForward(ctx, enc, M, L.down_proj, a.act, xOut, branch(lora, l, 'down_proj', a, acts, s), true);
}

/**
 * Records the backward of layer `l`. On entry acts.dX holds dL/d resid[l+1]; on exit it holds dL/d resid[l].
 * Reads layer l's saved activations: with acts.recompute, re-run {@link decoderLayerForward} for l first.
 * LoRA gradients are accumulated into lora.grads.
 */
export function decoderLayerBackward(ctx: GpuContext, enc: GPUCommandEncoder, cfg: ModelConfig, l: number, w: LayerWeights, acts: Activations, lora: LoraParams | null, s: StepShape): void {
  const { B, T } = s;
  const M = B * T;
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I } = cfg;
  const a = layerActs(acts, l);
  const L = w.linears;
  const x = acts.resid[l] as GPUBuffer;
  // MLP: x'' = x' + down(act)  →  dX stays (residual), dAct = dX Wdᵀ…
  linearBackward(ctx, enc, M, L.down_proj, a.act, acts.dX, acts.dAct, branch(lora, l, 'down_proj', a, acts, s), acts.dU, false);
  swigluBackward(ctx, enc, { n: M * I, gate: a.gate, up: a.up, dout: acts.dAct, dgate: acts.dGate, dup: acts.dUp });
  linearBackward(ctx, enc, M, L.gate_proj, a.h2, acts.dGate, acts.dH, branch(lora, l, 'gate_proj', a, acts, s), acts.dU, false);
  linearBackward(ctx, enc, M, L.up_proj, a.h2, acts.dUp, acts.dH, branch(lora, l, 'up_proj', a, acts, s), acts.dU, true);
  rmsnormBackward(ctx, enc, { rows: M, C, x: a.xMid, weight: w.postAttentionNorm, rstd: a.rstd2, dout: acts.dH, dx: acts.dX, accumulate: true });
  // Attention: x' = x + o_proj(attn)
  linearBackward(ctx, enc, M, L.o_proj, a.attn, acts.dX, acts.dAttn, branch(lora, l, 'o_proj', a, acts, s), acts.dU, false);
  attentionBackward(ctx, enc, { B, T, H, KV, D, scale: 1 / Math.sqrt(D), q: a.q, k: a.k, v: a.v, out: a.attn, lse: a.lse, dout: acts.dAttn, dq: acts.dq, dk: acts.dk, dv: acts.dv });
  ropeBackward(ctx, enc, { B, T, nHeads: H, D, cos: s.cos, sin: s.sin, dx: acts.dq });
  ropeBackward(ctx, enc, { B, T, nHeads: KV, D, cos: s.cos, sin: s.sin, dx: acts.dk });
  let dq = acts.dq;
  let dk = acts.dk;
  if (a.qPre && a.kPre && a.rstdQ && a.rstdK && w.qNorm && w.kNorm && acts.dqPre && acts.dkPre) {
    rmsnormBackward(ctx, enc, { rows: M * H, C: D, x: a.qPre, weight: w.qNorm, rstd: a.rstdQ, dout: acts.dq, dx: acts.dqPre });
    rmsnormBackward(ctx, enc, { rows: M * KV, C: D, x: a.kPre, weight: w.kNorm, rstd: a.rstdK, dout: acts.dk, dx: acts.dkPre });
    dq = acts.dqPre;
    dk = acts.dkPre;
  }
  linearBackward(ctx, enc, M, L.q_proj, a.h1, dq, acts.dH, branch(lora, l, 'q_proj', a, acts, s), acts.dU, false);
  linearBackward(ctx, enc, M, L.k_proj, a.h1, dk, acts.dH, branch(lora, l, 'k_proj', a, acts, s), acts.dU, true);
  linearBackward(ctx, enc, M, L.v_proj, a.h1, acts.dv, acts.dH, branch(lora, l, 'v_proj', a, acts, s), acts.dU, true);
  rmsnormBackward(ctx, enc, { rows: M, C, x, weight: w.inputNorm, rstd: a.rstd1, dout: acts.dH, dx: acts.dX, accumulate: true });
}
