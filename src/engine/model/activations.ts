/**
 * Activation buffers for one micro-batch of at most B×T tokens (M = B·T rows): what the forward pass saves for
 * backward (llm.c style: forward saves, backward reads) plus backward scratch. All f32 except ids/targets (i32).
 * With `recompute` (activation recomputation / gradient checkpointing, Chen et al. 2016 "Training Deep Nets with
 * Sublinear Memory Cost"; HF `gradient_checkpointing_enable`), only the residual entering each layer is kept per
 * layer; one shared set of layer activations is the scratch the backward re-runs each layer's forward into.
 * The loss head holds one vocabulary chunk of logits [M, Vc] (model/head.ts), never [M, V].
 * The buffers are those of the one list in activationSpecs.ts, which src/engine/plan/memory.ts sums as well.
 */
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { createStorage, scratchBuffer } from '../gpu/buffers';
import { SPLITK_SCRATCH } from '../kernels/matmul';
import { CE_STATS_PER_ROW } from '../kernels/crossEntropyChunk';
import type { TargetModule } from './loraTypes';
import type { GradName, Value } from '../arch/layer';
import { activationSpecs, gradNames, loraSplitKFloats, specBytes } from './activationSpecs';
import { DEFAULT_VOCAB_CHUNK_ROWS, keptLogitsChunks, vocabChunkRows } from './vocabChunks';

/** Saved activations of one decoder layer: the buffer of each saved value of the layer ops (arch/layer.ts). */
export interface LayerActivations {
  /** saved values, f32 [M, valueWidth] each (lse [B, H, T]) */
  readonly values: ReadonlyMap<Value, GPUBuffer>;
  /** LoRA intermediate u = x·Aᵀ [M, R] per targeted module */
  readonly loraU: ReadonlyMap<TargetModule, GPUBuffer>;
}

/** All activations and scratch for micro-batches up to maxB × maxT. */
export interface Activations {
  readonly maxB: number;
  readonly maxT: number;
  /** true: `layers` holds ONE shared set, refilled per layer (see {@link layerActs}); resid is still kept per layer. */
  readonly recompute: boolean;
  /** token ids [M] i32 and shifted targets [M] i32 (−100 = ignore) */
  readonly ids: GPUBuffer;
  readonly targets: GPUBuffer;
  /** residual stream entering layer l (l = 0..L; [L] is the final one) [M, C] */
  readonly resid: readonly GPUBuffer[];
  /** L sets, or 1 shared set when recompute */
  readonly layers: readonly LayerActivations[];
  readonly rstdF: GPUBuffer;
  readonly hF: GPUBuffer;
  /** Vc: vocabulary rows per head chunk (vocabChunks.vocabChunkRows for M = maxB·maxT) */
  readonly vocabChunkRows: number;
  /**
   * n ≥ 1 logits chunks [M, Vc] (each overwritten in place by its dlogits in the backward): all the head's chunks
   * when they fit keepLogitsBytes (the backward then recomputes none), else one (vocabChunks.keptLogitsChunks).
   */
  readonly logitsChunks: readonly GPUBuffer[];
  /** online log-sum-exp statistics per row [M, 4] (max, Σexp, target logit, lse) */
  readonly headStats: GPUBuffer;
  /** per-row cross-entropy [M] */
  readonly losses: GPUBuffer;
  /** forward-only scratch of the normed branches added to the residual (sandwich norms) [M, C], else null */
  readonly branch: GPUBuffer | null;
  /** backward scratch: one buffer per gradient name (arch/layer.ts gradOf), 4-byte placeholders without backward */
  readonly grads: ReadonlyMap<GradName, GPUBuffer>;
  /** backward scratch [M, R] for s·dy·B of the current LoRA linear */
  readonly dU: GPUBuffer;
  /** LoRA dropout scratch [M, max(C, I, H·D)]: dropout(x) of the current linear, and its gradient (null without dropout) */
  readonly dropX: GPUBuffer | null;
  readonly dropDX: GPUBuffer | null;
  /** bytes allocated */
  readonly bytes: number;
  destroy(): void;
}

/** Options of {@link createActivations}. */
export interface ActivationOptions {
  /** Allocate the backward scratch (default true); false gives 4-byte placeholders (forward / eval only). */
  readonly withBackward?: boolean;
  /** Keep one shared set of layer activations and recompute each layer in the backward (default false). */
  readonly recompute?: boolean;
  /** Most vocabulary rows per head chunk (default 16384); the device limits may lower it. */
  readonly vocabChunkRows?: number;
  /** Bytes of logits scratch the head may keep to skip recomputing chunks in the backward (vocabChunks.KEEP_LOGITS_MAX_BYTES; 0: keep one chunk). */
  readonly keepLogitsBytes?: number;
  /** Allocate the LoRA-dropout scratch (dropX, dropDX) — needed when lora_dropout > 0 (default false). */
  readonly dropout?: boolean;
}

/** The activations of layer `l` (the shared set when acts.recompute). */
export function layerActs(acts: Activations, l: number): LayerActivations {
  const a = acts.layers[acts.recompute ? 0 : l];
  if (!a) throw new Error(`activations: no layer ${l} (${acts.layers.length} sets allocated)`);
  return a;
}

/**
 * Allocates activations for micro-batches of up to maxB × maxT tokens.
 * @param r LoRA rank (0 when no LoRA); targets = modules that get a saved u buffer.
 * @throws DeviceLimitError (from createStorage) when a buffer exceeds the device's limits; the message names it.
 *   VocabChunkError when no vocabulary chunk fits the binding limit for M = maxB·maxT.
 */
export function createActivations(ctx: GpuContext, cfg: ModelConfig, maxB: number, maxT: number, r: number, targets: readonly TargetModule[], opts: ActivationOptions = {}): Activations {
  const M = maxB * maxT;
  const withBackward = opts.withBackward ?? true;
  const recompute = opts.recompute ?? false;
  const Vc = vocabChunkRows(cfg.vocabSize, cfg.hiddenSize, M, ctx.limits, opts.vocabChunkRows ?? DEFAULT_VOCAB_CHUNK_ROWS);
  const nLogits = withBackward ? keptLogitsChunks(cfg.vocabSize, M, Vc, opts.keepLogitsBytes) : 1;
  const specs = activationSpecs(cfg, maxB, maxT, r, targets, { withBackward, recompute, dropout: opts.dropout ?? false, vocabChunkRows: Vc, logitsChunks: nLogits, statsPerRow: CE_STATS_PER_ROW });
  const owned: GPUBuffer[] = [];
  const sets: Array<Map<string, GPUBuffer>> = [];
  const run = new Map<string, GPUBuffer>();
  try {
    for (const s of specs) {
      const b = createStorage(ctx, specBytes(s), s.name);
      owned.push(b);
      if (s.layer === null) run.set(s.key, b);
      else (sets[s.layer] ??= new Map()).set(s.key, b);
    }
  } catch (e) {
    owned.forEach((x) => x.destroy());
    throw e;
  }
  // The split-K scratch the LoRA gradients use, at its full size now (not grown during the first micro-batch).
  const splitK = withBackward ? loraSplitKFloats(cfg, M, r, targets) : 0;
  if (splitK > 0) scratchBuffer(ctx, SPLITK_SCRATCH, splitK * 4);
  const need = (m: Map<string, GPUBuffer>, k: string): GPUBuffer => {
    const b = m.get(k);
    if (!b) throw new Error(`activations: ${k} is not in the activation list`);
    return b;
  };
  const opt = (m: Map<string, GPUBuffer>, k: string): GPUBuffer | null => m.get(k) ?? null;
  const layers: LayerActivations[] = sets.map((m) => {
    const loraU = new Map<TargetModule, GPUBuffer>();
    const values = new Map<Value, GPUBuffer>();
    for (const [k, b] of m) {
      if (k.startsWith('lora_u.')) loraU.set(k.slice(7) as TargetModule, b);
      else values.set(k as Value, b);
    }
    return { values, loraU };
  });
  return {
    maxB,
    maxT,
    recompute,
    ids: need(run, 'ids'),
    targets: need(run, 'targets'),
    resid: Array.from({ length: cfg.numLayers + 1 }, (_, l) => need(run, `resid${l}`)),
    layers,
    rstdF: need(run, 'rstdF'),
    hF: need(run, 'hF'),
    vocabChunkRows: Vc,
    logitsChunks: Array.from({ length: nLogits }, (_, k) => need(run, k === 0 ? 'logitsChunk' : `logitsChunk${k}`)),
    headStats: need(run, 'headStats'),
    losses: need(run, 'losses'),
    branch: opt(run, 'branch'),
    grads: new Map(gradNames(cfg).map((g) => [g, need(run, g)])),
    dU: need(run, 'dU'),
    dropX: opt(run, 'dropX'), dropDX: opt(run, 'dropDX'),
    bytes: owned.reduce((a, b) => a + b.size, 0),
    destroy: () => owned.forEach((b) => b.destroy()),
  };
}
