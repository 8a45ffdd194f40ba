/**
 * Memory plan of a full-parameter run (finetuning_type "full"): the buffers model/fullParams.ts creates — for every
 * trainable tensor of the table (arch/tensors.ts) an f32 master, an f32 gradient and the two f32 AdamW moments
 * (16 bytes per parameter; embed_tokens / lm_head in row chunks of at most one binding, as model/vocabTable.ts),
 * a frozen embedding in its file dtype when "train embeddings" is off, the embedding-gradient index — plus the same
 * activations as the LoRA path without the LoRA buffers (model/activationSpecs.ts with r = 0), RoPE tables and the
 * per-step scratch (split-K partials of the weight gradients dW = dyᵀ·x included). Closed-form; no GPU work.
 * Refuses, with the numbers and what to lower, when a buffer exceeds the binding limit or the total the budget.
 */
import type { ModelConfig } from '../../io/config/types';
import { CE_STATS_PER_ROW } from '../kernels/crossEntropyChunk';
import { splitKScratchFloats } from '../kernels/matmulVariant';
import { activationSpecs, specBytes, type ActivationPhase } from '../model/activationSpecs';
import { linearShape, tensorTable } from '../arch/tensors';
import { TARGET_MODULES } from '../model/loraTypes';
import { bindableBytes, DEFAULT_VOCAB_CHUNK_ROWS, keptLogitsChunks, splitRows, tableChunkRows, vocabChunkRows } from '../model/vocabChunks';
import { DEFAULT_BUDGET_BYTES, formatBytes, type MemoryPlan, type PlanLimits, type PlanLine } from './memory';

/** Settings a full-parameter plan depends on. */
export interface FullPlanSettings {
  readonly batchSize: number;
  readonly maxLength: number;
  readonly recompute: boolean;
  /** false: embed_tokens (and a tied lm_head) frozen in the file dtype */
  readonly trainEmbeddings: boolean;
}

/** A full-parameter plan: the LoRA plan's fields (loraBytes = 0) plus the parameter counts. */
export interface FullMemoryPlan extends MemoryPlan {
  /** trainable parameters */
  readonly trainableParams: number;
  /** parameters of embed_tokens (+ an untied lm_head is not counted here) */
  readonly embedParams: number;
  /** bytes "train embeddings: off" saves (0 when already off) */
  readonly embedSavingBytes: number;
}

const f32 = (n: number): number => Math.max(4, Math.ceil(n) * 4);
const packed = (n: number, bytesPer: number): number => Math.max(4, Math.ceil((n * bytesPer) / 4) * 4);

/** f32 values of the split-K scratch the weight gradients dW [out, in] = dyᵀ·x over M tokens need (0 when none splits). */
export function fullSplitKFloats(cfg: ModelConfig, M: number): number {
  return Math.max(0, ...TARGET_MODULES.map((m) => {
    const [out, inF] = linearShape(cfg, m);
    return Math.max(splitKScratchFloats(out, inF, M), splitKScratchFloats(M, inF, out), splitKScratchFloats(M, out, inF));
  }));
}

/**
 * Plans the GPU memory of full-parameter training of `cfg`.
 * @param weightsDtypeBytes bytes per element of the checkpoint (2 for BF16/F16, 4 for F32): only a frozen embedding keeps it
 * @returns the plan; `fits` false with `problems` naming the numbers and what to lower
 * @throws Error for a non-positive batch size or length, or weightsDtypeBytes other than 2 or 4.
 */
export function planFullMemory(cfg: ModelConfig, settings: FullPlanSettings, weightsDtypeBytes: number, limits: PlanLimits, budgetBytes = DEFAULT_BUDGET_BYTES, opts: { readonly vocabChunkRows?: number } = {}): FullMemoryPlan {
  const { batchSize: B, maxLength: T, recompute, trainEmbeddings } = settings;
  for (const [k, v] of Object.entries({ 'Batch size': B, 'Max length': T })) if (!Number.isInteger(v) || v < 1) throw new Error(`planFullMemory: ${k} must be a whole number ≥ 1, got ${v}`);
  if (weightsDtypeBytes !== 2 && weightsDtypeBytes !== 4) throw new Error(`planFullMemory: weightsDtypeBytes must be 2 (BF16/F16) or 4 (F32), got ${weightsDtypeBytes}`);
  const chunkSetting = opts.vocabChunkRows ?? DEFAULT_VOCAB_CHUNK_ROWS;
  const M = B * T;
  const { hiddenSize: C, headDim: D, numHeads: H, vocabSize: V, numLayers: L } = cfg;
  const limit = bindableBytes(limits);
  const problems: string[] = [];
  const buffers: [string, number][] = [];
  let state = 0;
  let frozen = 0;
  let trainableParams = 0;
  const embedParams = V * C;
  for (const t of tensorTable(cfg)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const vocab = t.role === 'embed' || t.role === 'lm_head';
    const isFrozen = !trainEmbeddings && (t.role === 'embed' || (t.role === 'lm_head' && cfg.tieWordEmbeddings));
    if (isFrozen) {
      const rows = tableChunkRows(V, C, weightsDtypeBytes, limits, chunkSetting);
      frozen += splitRows(V, rows).reduce((a, c) => a + packed(c.rows * C, weightsDtypeBytes), 0);
      buffers.push([`${t.name} chunk [${rows}, ${C}] (frozen)`, packed(rows * C, weightsDtypeBytes)]);
      continue;
    }
    trainableParams += n;
    if (vocab) {
      const rows = tableChunkRows(V, C, 4, limits, chunkSetting);
      state += 4 * splitRows(V, rows).reduce((a, c) => a + f32(c.rows * C), 0);
      buffers.push([`${t.name} f32 chunk [${rows}, ${C}]`, f32(rows * C)]);
    } else {
      state += 4 * f32(n);
      buffers.push([`${t.name} f32 [${t.shape.join(', ')}]`, f32(n)]);
    }
  }
  const index = f32(3 * M + 1);
  let Vc = 0;
  try {
    Vc = vocabChunkRows(V, C, M, limits, chunkSetting);
  } catch (e) {
    problems.push((e as Error).message);
  }
  const keptLogits = Vc ? keptLogitsChunks(V, M, Vc) : 1;
  const acts = activationSpecs(cfg, B, T, 0, [], { withBackward: true, recompute, dropout: false, vocabChunkRows: Math.max(Vc, 1), logitsChunks: keptLogits, statsPerRow: CE_STATS_PER_ROW });
  const sum = (phase: ActivationPhase) => acts.filter((a) => a.phase === phase).reduce((t, a) => t + specBytes(a), 0);
  const saved = sum('saved');
  const bwd = sum('backward');
  const head = sum('head');
  buffers.push([`logits chunk [M=${M}, Vc=${Vc}]`, f32(M * Vc)], [`residual [M=${M}, C=${C}]`, f32(M * C)]);
  const rope = 2 * f32((T * D) / 2);
  const splitK = fullSplitKFloats(cfg, M);
  // largest gradient for the norm partials (sumsq: at most 4096 partials), attention delta, split-K, step stats
  const scratch = f32(B * H * T) + f32(4096) + f32(splitK) + 260 + index;
  const lines: PlanLine[] = [
    { key: 'full', label: 'Trainable weights: f32 masters, gradients, AdamW m and v', bytes: state, detail: `${trainableParams.toLocaleString('en-US')} parameters × 16 bytes${trainEmbeddings ? '' : ' (embeddings frozen)'}` },
    { key: 'weights', label: 'Frozen weights', bytes: frozen, detail: frozen ? `embed_tokens [${V}, ${C}] at ${weightsDtypeBytes} bytes/value${cfg.tieWordEmbeddings ? ' (tied lm_head)' : ''}` : 'none (every tensor is trained)' },
    { key: 'saved', label: 'Saved activations', bytes: saved, detail: `B=${B} × T=${T}, ${recompute ? `recompute on: layer inputs × ${L + 1} + one shared layer` : `all ${L} layers kept`}` },
    { key: 'backward', label: 'Backward scratch', bytes: bwd, detail: 'gradients of one layer at a time' },
    { key: 'head', label: 'Loss head', bytes: head, detail: `logits [M=${M}, Vc=${Vc}] of V=${V}` },
    { key: 'rope', label: 'RoPE tables', bytes: rope, detail: `cos, sin [T=${T}, D/2=${D / 2}]` },
    { key: 'scratch', label: 'Per-step scratch', bytes: scratch, detail: 'attention delta, grad-norm partials, split-K partials of dW, step statistics, embedding-gradient index' },
  ];
  const totalBytes = lines.reduce((a, l) => a + l.bytes, 0);
  const largest = buffers.reduce((a, b) => (b[1] > a[1] ? b : a));
  if (largest[1] > limit) problems.push(`the largest buffer, ${largest[0]}, needs ${formatBytes(largest[1])} (${largest[1]} bytes) but this GPU binds at most ${formatBytes(limit)} (${limit} bytes)`);
  const embedSavingBytes = trainEmbeddings ? embedParams * (16 - weightsDtypeBytes) : 0;
  if (totalBytes > budgetBytes) {
    const lower = [
      trainEmbeddings ? `turn "train embeddings" off (saves ${formatBytes(embedSavingBytes)})` : null,
      recompute ? null : 'turn recompute on',
      B > 1 ? 'lower the batch size (use gradient accumulation)' : null,
      'lower max length',
      'or tune with LoRA (finetuning_type lora)',
    ].filter((x) => x !== null).join(', ');
    problems.push(`full-parameter training needs ${formatBytes(totalBytes)} but the memory budget is ${formatBytes(budgetBytes)} (over by ${formatBytes(totalBytes - budgetBytes)}; ${formatBytes(state)} of it is the 16 bytes per trainable parameter); ${lower}`);
  }
  return {
    lines, totalBytes, budgetBytes, weightBytes: frozen, loraBytes: 0, activationBytes: saved + bwd + head,
    largest: { name: largest[0], bytes: largest[1] }, bindingLimit: limit, vocabChunkRows: Vc, embedChunks: splitRows(V, tableChunkRows(V, C, trainEmbeddings ? 4 : weightsDtypeBytes, limits, chunkSetting)).length, loraParts: 0,
    recompute, B, T, fits: problems.length === 0, problems, trainableParams, embedParams, embedSavingBytes,
  };
}
