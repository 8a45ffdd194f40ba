/**
 * The interpreter of a layer's op list (arch/layer.ts): every runner — training (decoder.ts), generation
 * (generate/forward.ts) — records a layer by walking the same ops; a runner supplies only where each value lives
 * ({@link LayerEnv.buf}) and how it runs the three ops that depend on it: the linears (fused LoRA kernels for
 * training, mat-vec for a decode step), RoPE (positions of the batch or of the decode step) and attention (over the
 * batch, or over the KV cache). The norm, activation, copy and add ops are recorded here, once.
 * Shapes: M rows (tokens) of this call; C, H, KV, D, I as in ModelConfig.
 */
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { addInPlace } from '../kernels/add';
import { rmsnormBackward, rmsnormForward } from '../kernels/rmsnorm';
import { swigluBackward, swigluForward } from '../kernels/swiglu';
import { gradOf, layerAttention, layerOps, type GradName, type LayerAttention, type LayerOp, type Value } from '../arch/layer';
import { normWidth } from '../arch/tensors';
import type { LayerWeights } from './weights';

/** A linear op of the list. */
export type LinearOp = Extract<LayerOp, { op: 'linear' }>;

/** What a runner provides to record the forward of one layer. */
export interface LayerEnv {
  /** rows (tokens) of this call */
  readonly M: number;
  /** The buffer holding value `v` (two values may share one: a copy between them is skipped). */
  buf(v: Value): GPUBuffer;
  /** Records out (=|+=) x Wᵀ + b (+ LoRA) for `op`. */
  linear(op: LinearOp, x: GPUBuffer, out: GPUBuffer): void;
  /** Records RoPE in place on x [M, nHeads, D] with this layer type's table. */
  rope(x: GPUBuffer, nHeads: number): void;
  /** Records attn, lse from q, k, v with these settings. */
  attention(a: LayerAttention): void;
}

/** What the training runner adds to record the backward. */
export interface LayerBackwardEnv extends LayerEnv {
  /** The gradient scratch buffer of a value (arch/layer.ts gradOf). */
  grad(g: GradName): GPUBuffer;
  /** Records dx (=|+=) dy W (+ LoRA) and the LoRA gradients of `op`. */
  linearBackward(op: LinearOp, x: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, accumulateDx: boolean): void;
  /** Records the inverse rotation of dx [M, nHeads, D] in place. */
  ropeBackward(dx: GPUBuffer, nHeads: number): void;
  /** Records dq, dk, dv from the saved q, k, v, attn, lse and d attn. */
  attentionBackward(a: LayerAttention): void;
  /**
   * Full-parameter training only (absent: frozen weights): records the weight gradients of linear `op`,
   * dW [out, in] += dyᵀ·x and db [out] += Σ_rows dy (torch nn.Linear backward), from its input x [M, in] and dy [M, out].
   */
  linearWeightGrad?(op: LinearOp, x: GPUBuffer, dy: GPUBuffer): void;
  /**
   * Full-parameter training only: records dw [C] += Σ_rows dy·x·rstd of norm `op` (rows = M, or M·heads for the
   * per-head q/k norms with C = D).
   */
  normWeightGrad?(op: NormOp, rows: number, C: number, x: GPUBuffer, rstd: GPUBuffer, dy: GPUBuffer): void;
}

/** A norm op of the list. */
export type NormOp = Extract<LayerOp, { op: 'norm' }>;

/** Rows of a norm op: tokens, or tokens × heads for the per-head q/k norms. */
function normRows(cfg: ModelConfig, M: number, heads: 'none' | 'q' | 'kv'): number {
  return heads === 'q' ? M * cfg.numHeads : heads === 'kv' ? M * cfg.numKvHeads : M;
}

function normWeight(w: LayerWeights, o: Extract<LayerOp, { op: 'norm' }>, l: number): GPUBuffer {
  const b = w.norms.get(o.norm);
  if (!b) throw new Error(`layer ${l}: no ${o.norm} weight loaded`);
  return b;
}

/** Records the forward of layer `l` of `cfg` through `env` (reads x, writes xOut and every value of the ops). */
export function runLayerForward(ctx: GpuContext, enc: GPUCommandEncoder, cfg: ModelConfig, l: number, w: LayerWeights, env: LayerEnv): void {
  const { M } = env;
  const C = cfg.hiddenSize;
  for (const o of layerOps(cfg)) {
    switch (o.op) {
      case 'norm':
        rmsnormForward(ctx, enc, {
          rows: normRows(cfg, M, o.heads), C: normWidth(cfg, o.norm), eps: cfg.rmsNormEps, offset: cfg.rmsNormOffset,
          x: env.buf(o.x), weight: normWeight(w, o, l), out: env.buf(o.out), rstd: env.buf(o.rstd),
        });
        break;
      case 'linear': env.linear(o, env.buf(o.x), env.buf(o.out)); break;
      case 'rope': env.rope(env.buf(o.x), o.x === 'q' ? cfg.numHeads : cfg.numKvHeads); break;
      case 'attention': env.attention(layerAttention(cfg, l)); break;
      case 'glu': swigluForward(ctx, enc, { n: M * cfg.intermediateSize, act: cfg.hiddenAct, gate: env.buf('gate'), up: env.buf('up'), out: env.buf('act') }); break;
      case 'copy': {
        const from = env.buf(o.from);
        const to = env.buf(o.to);
        if (from !== to) enc.copyBufferToBuffer(from, 0, to, 0, M * C * 4);
        break;
      }
      case 'add': addInPlace(ctx, enc, { n: M * C, x: env.buf(o.x), y: env.buf(o.into) }); break;
    }
  }
}

/**
 * The order the backward visits the ops: the forward order reversed, except that linears reading the same input
 * (q/k/v, gate/up) keep their forward order, so the first writes d input and the others add to it in the same
 * order as before this interpreter (bit-identical gradients).
 */
export function backwardOrder(ops: readonly LayerOp[]): LayerOp[] {
  const rev = [...ops].reverse();
  const out: LayerOp[] = [];
  for (let i = 0; i < rev.length; ) {
    const o = rev[i] as LayerOp;
    let j = i + 1;
    if (o.op === 'linear' && !o.accumulate) while (j < rev.length && rev[j]!.op === 'linear' && (rev[j] as LinearOp).x === o.x && !(rev[j] as LinearOp).accumulate) j++;
    out.push(...rev.slice(i, j).reverse());
    i = j;
  }
  return out;
}

/**
 * Records the backward of layer `l`. On entry grad('dX') holds dL/d xOut; on exit dL/d x. Reads the layer's saved
 * values (with recomputation the runner re-runs {@link runLayerForward} first). A value's gradient is written by the
 * first op that reaches it and added to by the others; the residual stream's (dX) is always added to. With the
 * env's weight-gradient hooks (full-parameter training) each linear and norm op also records its weight gradients,
 * before its input gradient (they read the same dy).
 */
export function runLayerBackward(ctx: GpuContext, enc: GPUCommandEncoder, cfg: ModelConfig, l: number, w: LayerWeights, env: LayerBackwardEnv): void {
  const { M } = env;
  const written = new Set<Value>();
  const target = (v: Value): { dx: GPUBuffer; accumulate: boolean } => {
    const g = gradOf(v);
    if (!g) throw new Error(`layer ${l}: value ${v} has no gradient`);
    const accumulate = g === 'dX' || written.has(v);
    written.add(v);
    return { dx: env.grad(g), accumulate };
  };
  const dOf = (v: Value): GPUBuffer => env.grad(gradOf(v) as GradName);
  for (const o of backwardOrder(layerOps(cfg))) {
    switch (o.op) {
      case 'norm': {
        const rows = normRows(cfg, M, o.heads);
        const C = normWidth(cfg, o.norm);
        env.normWeightGrad?.(o, rows, C, env.buf(o.x), env.buf(o.rstd), dOf(o.out));
        const { dx, accumulate } = target(o.x);
        rmsnormBackward(ctx, enc, {
          rows, C, offset: cfg.rmsNormOffset,
          x: env.buf(o.x), weight: normWeight(w, o, l), rstd: env.buf(o.rstd), dout: dOf(o.out), dx, accumulate,
        });
        break;
      }
      case 'linear': {
        env.linearWeightGrad?.(o, env.buf(o.x), dOf(o.out));
        const { dx, accumulate } = target(o.x);
        env.linearBackward(o, env.buf(o.x), dOf(o.out), dx, accumulate);
        break;
      }
      case 'rope': env.ropeBackward(dOf(o.x), o.x === 'q' ? cfg.numHeads : cfg.numKvHeads); break;
      case 'attention':
        for (const v of ['q', 'k', 'v'] as const) written.add(v);
        env.attentionBackward(layerAttention(cfg, l));
        break;
      case 'glu':
        written.add('gate');
        written.add('up');
        swigluBackward(ctx, enc, { n: M * cfg.intermediateSize, act: cfg.hiddenAct, gate: env.buf('gate'), up: env.buf('up'), dout: dOf('act'), dgate: dOf('gate'), dup: dOf('up') });
        break;
      case 'copy':
      case 'add':
        break; // the residual gradient is shared (dX), so these are the identity
    }
  }
}
