/**
 * The one list of a run's activation buffers (llm.c's TENSOR_SPEC habit), derived from the layer ops of
 * src/engine/arch/layer.ts: name, f32 element count, which layer set it belongs to and what it is for. createActivations (activations.ts) allocates exactly these buffers and the
 * memory plan (plan/memory.ts) adds up exactly these sizes, so the plan is a sum over what is really allocated.
 * Shapes use M = maxB·maxT rows, C, I, H, KV, D as in ModelConfig, R = LoRA rank, Vc = vocabulary rows per head chunk.
 */
import type { ModelConfig } from '../../io/config/types';
import type { TargetModule } from './loraTypes';
import { splitKScratchFloats } from '../kernels/matmulVariant';
import { gradOf, layerValues, valueWidth, VALUE_KIND, type GradName, type Value } from '../arch/layer';
import { linearShape } from '../arch/tensors';

/** What a buffer is for: saved by forward for backward, backward scratch, or the loss head. */
export type ActivationPhase = 'saved' | 'backward' | 'head';

/** One buffer of the list. */
export interface ActivationSpec {
  /** Buffer label and key, e.g. "act.l3.h1", "grad.q", "act.logits_chunk". */
  readonly name: string;
  /** Key inside its group: a layer Value (arch/layer.ts), a run-wide key, a GradName, or "lora_u.<module>". */
  readonly key: string;
  /** f32 (or i32) elements; a placeholder of 1 element when the buffer is not needed (forward only). */
  readonly elements: number;
  /** Layer set index (0..L−1, or 0 for the one shared set with recompute), or null for run-wide buffers. */
  readonly layer: number | null;
  readonly phase: ActivationPhase;
}

/** Options of {@link activationSpecs} (see ActivationOptions in activations.ts). */
export interface ActivationSpecOptions {
  readonly withBackward: boolean;
  readonly recompute: boolean;
  readonly dropout: boolean;
  /** Vocabulary rows per head chunk (vocabChunks.vocabChunkRows for M). */
  readonly vocabChunkRows: number;
  /** Logits chunks kept by the head (vocabChunks.keptLogitsChunks; default 1). */
  readonly logitsChunks?: number;
  /** f32 per row of the online log-sum-exp statistics (kernels/crossEntropyChunk CE_STATS_PER_ROW). */
  readonly statsPerRow: number;
}

/** Buffer label of a layer value (snake case, as HF names its tensors). */
const LABEL: Partial<Record<Value, string>> = { qPre: 'q_pre', kPre: 'k_pre', rstdQ: 'rstd_q', rstdK: 'rstd_k', xMid: 'x_mid', oOut: 'o_out', rstdO: 'rstd_o', mOut: 'm_out', rstdM: 'rstd_m' };

/** Buffer label of each backward scratch (gradients of the layer values, arch/layer.ts gradOf). */
const GRAD_LABEL: Readonly<Record<GradName, string>> = {
  dX: 'grad.resid', dH: 'grad.h', dAttn: 'grad.attn', dq: 'grad.q', dk: 'grad.k', dv: 'grad.v', dqPre: 'grad.q_pre', dkPre: 'grad.k_pre',
  dGate: 'grad.gate', dUp: 'grad.up', dAct: 'grad.act',
};

/** The backward scratch buffers the layer ops of `cfg` need, in a fixed order. */
export function gradNames(cfg: Pick<ModelConfig, 'qkNorm' | 'sandwichNorms'>): GradName[] {
  const used = new Set<GradName>(['dX']);
  for (const v of layerValues(cfg)) {
    const g = gradOf(v);
    if (g) used.add(g);
  }
  return (Object.keys(GRAD_LABEL) as GradName[]).filter((g) => used.has(g));
}

/**
 * Every activation buffer of micro-batches up to maxB × maxT tokens, in allocation order: per layer set the LoRA u
 * buffers and the saved values of the layer ops (arch/layer.ts), the residual stream, the run-wide buffers, the
 * forward-only scratch of the normed branches (sandwich norms), and the backward scratch (one per gradient name).
 * @param r LoRA rank (0: no LoRA buffers); targets: modules with a saved u = x·Aᵀ [M, R]
 */
export function activationSpecs(cfg: ModelConfig, maxB: number, maxT: number, r: number, targets: readonly TargetModule[], o: ActivationSpecOptions): ActivationSpec[] {
  const M = maxB * maxT;
  const { hiddenSize: C, intermediateSize: I, numHeads: H, headDim: D } = cfg;
  const out: ActivationSpec[] = [];
  const sets = o.recompute ? 1 : cfg.numLayers;
  const values = layerValues(cfg);
  for (let l = 0; l < sets; l++) {
    const p = o.recompute ? 'act.layer' : `act.l${l}`;
    const add = (key: string, elements: number, label = key) => out.push({ name: `${p}.${label}`, key, elements, layer: l, phase: 'saved' });
    if (r > 0) for (const m of targets) add(`lora_u.${m}`, M * r, `${m}.lora_u`);
    for (const v of values) if (VALUE_KIND[v] === 'saved') add(v, M * valueWidth(cfg, v), LABEL[v] ?? v);
  }
  for (let l = 0; l <= cfg.numLayers; l++) out.push({ name: `act.resid${l}`, key: `resid${l}`, elements: M * C, layer: null, phase: 'saved' });
  const run = (key: string, name: string, elements: number, phase: ActivationPhase) => out.push({ name, key, elements, layer: null, phase });
  run('ids', 'act.input_ids', M, 'saved');
  run('targets', 'act.targets', M, 'saved');
  run('rstdF', 'act.rstd_final', M, 'saved');
  run('hF', 'act.h_final', M * C, 'saved');
  if (values.some((v) => VALUE_KIND[v] === 'scratch')) run('branch', 'act.branch_norm', M * C, 'saved');
  run('logitsChunk', 'act.logits_chunk', M * o.vocabChunkRows, 'head');
  for (let k = 1; k < (o.logitsChunks ?? 1); k++) run(`logitsChunk${k}`, `act.logits_chunk.${k}`, M * o.vocabChunkRows, 'head');
  run('headStats', 'act.head_stats', M * o.statsPerRow, 'head');
  run('losses', 'act.losses', M, 'saved');
  const bw = (key: string, name: string, elements: number) => run(key, name, o.withBackward ? elements : 1, 'backward');
  const byGrad: Readonly<Record<GradName, Value>> = { dX: 'x', dH: 'h1', dAttn: 'attn', dq: 'q', dk: 'k', dv: 'v', dqPre: 'qPre', dkPre: 'kPre', dGate: 'gate', dUp: 'up', dAct: 'act' };
  for (const g of gradNames(cfg)) bw(g, GRAD_LABEL[g], M * valueWidth(cfg, byGrad[g]));
  bw('dU', 'grad.lora_u', M * Math.max(r, 1));
  if (o.dropout) {
    run('dropX', 'act.lora_dropout_x', M * Math.max(C, I, H * D), 'backward');
    if (o.withBackward) run('dropDX', 'grad.lora_dropout_x', M * Math.max(C, I, H * D), 'backward');
  }
  return out;
}

/** Bytes of one listed buffer as createStorage allocates it (4 bytes per element, at least 4). */
export function specBytes(s: Pick<ActivationSpec, 'elements'>): number {
  return Math.max(4, Math.ceil(s.elements) * 4);
}

/**
 * f32 values of the split-K scratch (kernels/matmul.ts matmulSplitK, one buffer shared by every call) that the LoRA
 * products of a micro-batch of M tokens need: the largest over the target modules of u = x·Aᵀ, du = s·dy·B,
 * dB = s·dyᵀ·u and dA = duᵀ·x (0 when none is split). createActivations allocates it up front and the memory plan
 * counts it, so the first micro-batch does not grow it.
 */
export function loraSplitKFloats(cfg: ModelConfig, M: number, r: number, targets: readonly TargetModule[]): number {
  if (r < 1) return 0;
  return Math.max(0, ...targets.map((t) => {
    const [out, inF] = linearShape(cfg, t);
    return Math.max(splitKScratchFloats(M, r, inF), splitKScratchFloats(M, r, out), splitKScratchFloats(out, r, M), splitKScratchFloats(r, inF, M));
  }));
}
