/**
 * The training runner of a decoder layer: the layer's ops (arch/layer.ts) recorded by model/layerRun.ts, with every
 * value in the run's activations (saved per layer, or one shared set with recomputation), the linears as fused LoRA
 * kernels (linear.ts), RoPE over positions 0..T−1 of each row, and batch attention (kernels/attention.ts).
 * Shapes: M = B·T rows, C, H, KV, D, I as in ModelConfig.
 */
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { attentionBackward, attentionForward } from '../kernels/attention';
import { ropeBackward, ropeForward } from '../kernels/rope';
import { TARGET_MODULES, type TargetModule } from './loraTypes';
import { pcgHash } from '../train/rng';
import { layerActs, type Activations, type LayerActivations } from './activations';
import { linearBackward, linearForward, type LoraBranch } from './linear';
import { findSlot, type LoraParams } from './lora';
import type { GradName, Value } from '../arch/layer';
import { runLayerBackward, runLayerForward, type LayerBackwardEnv } from './layerRun';
import { ropeKind, type RopeKind } from './rope';
import type { LayerWeights } from './weights';
import type { LayerWeightGrads } from './fullParams';
import { matmulAuto } from '../kernels/matmul';
import { biasGrad } from '../kernels/biasGrad';
import { rmsnormWeightGrad } from '../kernels/rmsnorm';

/** RoPE cos/sin tables f32 [T', D/2] of one kind (T' ≥ T). */
export interface RopePair {
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
}

/** Per-call shape info: batch B, sequence T, and the RoPE tables of each kind the model uses. */
export interface StepShape {
  readonly B: number;
  readonly T: number;
  readonly rope: Readonly<Partial<Record<RopeKind, RopePair>>>;
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

/** The RoPE tables layer `l` reads. @throws Error when the step lacks them */
export function stepRope(cfg: ModelConfig, s: StepShape, l: number): RopePair {
  const kind = ropeKind(cfg, cfg.layerTypes[l] ?? 'full_attention');
  const t = s.rope[kind];
  if (!t) throw new Error(`layer ${l}: no ${kind} RoPE tables uploaded`);
  return t;
}

/**
 * The training environment of layer `l`: values in the activations, fused LoRA linears, batch RoPE and attention;
 * with `dw` (full-parameter training) the weight-gradient hooks: dW [out, in] += dyᵀ·x (matmulAuto with transA,
 * K = tokens), db += Σ_rows dy (kernels/biasGrad.ts), norm dw += Σ_rows dy·x·rstd (kernels/rmsnorm.ts).
 */
function trainEnv(ctx: GpuContext, enc: GPUCommandEncoder, cfg: ModelConfig, l: number, w: LayerWeights, acts: Activations, lora: LoraParams | null, s: StepShape, dw: LayerWeightGrads | null = null): LayerBackwardEnv {
  const { B, T } = s;
  const M = B * T;
  const a = layerActs(acts, l);
  const { numHeads: H, numKvHeads: KV, headDim: D } = cfg;
  const buf = (v: Value): GPUBuffer => {
    if (v === 'x') return acts.resid[l] as GPUBuffer;
    if (v === 'xOut') return acts.resid[l + 1] as GPUBuffer;
    if (v === 'oNorm' || v === 'mNorm') {
      if (!acts.branch) throw new Error(`activations: no branch scratch for ${v}`);
      return acts.branch;
    }
    const b = a.values.get(v);
    if (!b) throw new Error(`activations: layer value ${v} is not allocated`);
    return b;
  };
  const grad = (g: GradName): GPUBuffer => {
    const b = acts.grads.get(g);
    if (!b) throw new Error(`activations: gradient scratch ${g} is not allocated`);
    return b;
  };
  const rope = stepRope(cfg, s, l);
  const att = () => ({ B, T, H, KV, D, q: buf('q'), k: buf('k'), v: buf('v'), out: buf('attn'), lse: buf('lse') });
  return {
    M,
    buf,
    grad,
    linear: (o, x, out) => linearForward(ctx, enc, M, w.linears[o.module], x, out, branch(lora, l, o.module, a, acts, s), o.accumulate),
    linearBackward: (o, x, dy, dx, acc) => linearBackward(ctx, enc, M, w.linears[o.module], x, dy, dx, branch(lora, l, o.module, a, acts, s), acts.dU, acc),
    rope: (x, nHeads) => ropeForward(ctx, enc, { B, T, nHeads, D, cos: rope.cos, sin: rope.sin, x }),
    ropeBackward: (dx, nHeads) => ropeBackward(ctx, enc, { B, T, nHeads, D, cos: rope.cos, sin: rope.sin, dx }),
    attention: (at) => attentionForward(ctx, enc, { ...att(), ...at }),
    attentionBackward: (at) => attentionBackward(ctx, enc, { ...att(), ...at, dout: grad('dAttn'), dq: grad('dq'), dk: grad('dk'), dv: grad('dv') }),
    ...(dw ? {
      linearWeightGrad: (o, x, dy) => {
        const lin = w.linears[o.module];
        const g = dw.linears[o.module];
        matmulAuto(ctx, enc, { M: lin.outFeatures, N: lin.inFeatures, K: M, a: dy, transA: true, w: x, wDtype: 'F32', transB: false, out: g.dW, accumulate: true });
        if (g.db) biasGrad(ctx, enc, { M, N: lin.outFeatures, dy, db: g.db, accumulate: true });
      },
      normWeightGrad: (o, rows, C, x, rstd, dy) => {
        const g = dw.norms.get(o.norm);
        if (!g) throw new Error(`layer ${l}: no gradient buffer for ${o.norm}`);
        rmsnormWeightGrad(ctx, enc, { rows, C, x, rstd, dout: dy, dw: g, accumulate: true });
      },
    } satisfies Partial<LayerBackwardEnv> : {}),
  };
}

/**
 * Records the forward of layer `l`: reads acts.resid[l], writes acts.resid[l+1] and the layer's saved activations
 * (the shared set when acts.recompute; re-running it for the backward rewrites resid[l+1] with identical values).
 */
export function decoderLayerForward(ctx: GpuContext, enc: GPUCommandEncoder, cfg: ModelConfig, l: number, w: LayerWeights, acts: Activations, lora: LoraParams | null, s: StepShape): void {
  runLayerForward(ctx, enc, cfg, l, w, trainEnv(ctx, enc, cfg, l, w, acts, lora, s));
}

/**
 * Records the backward of layer `l`. On entry the dX scratch holds dL/d resid[l+1]; on exit it holds dL/d resid[l].
 * Reads layer l's saved activations: with acts.recompute, re-run {@link decoderLayerForward} for l first.
 * LoRA gradients are accumulated into lora.grads; with `dw` (full-parameter training) every weight gradient of the
 * layer is accumulated into it.
 */
export function decoderLayerBackward(ctx: GpuContext, enc: GPUCommandEncoder, cfg: ModelConfig, l: number, w: LayerWeights, acts: Activations, lora: LoraParams | null, s: StepShape, dw: LayerWeightGrads | null = null): void {
  runLayerBackward(ctx, enc, cfg, l, w, trainEnv(ctx, enc, cfg, l, w, acts, lora, s, dw));
}
