/**
 * Memory plan of a LoRA training run (DESIGN.md "Precision and memory"): adds up every GPU buffer the engine will
 * create — frozen weights in their file dtype, LoRA params + grads + AdamW m, v (f32, 64-float padded slots as in
 * model/lora.ts), activations as model/activations.ts allocates them (with or without recompute), the vocabulary-
 * chunked head, RoPE tables and per-step scratch — and checks the largest buffer against the device limits and the
 * total against the user's budget. Closed-form on purpose: tests/gpu/memory-plan.test.ts checks it against the
 * bytes the allocators report. Pure arithmetic; no GPU work.
 */
import type { ModelConfig } from '../../io/config/types';
import type { DeviceLimits } from '../gpu/context';
import { CE_STATS_PER_ROW } from '../kernels/crossEntropyChunk';
import { layoutSlots, loraPartFloats } from '../model/lora';
import { activationSpecs, loraSplitKFloats, specBytes, type ActivationPhase } from '../model/activationSpecs';
import { linearShape, tensorTable } from '../arch/tensors';
import { bindableBytes, DEFAULT_VOCAB_CHUNK_ROWS, keptLogitsChunks, splitRows, tableChunkRows, vocabChunkRows } from '../model/vocabChunks';
import type { TrainSettings } from '../train/types';
import type { LoraSettings, TargetModule } from '../model/loraTypes';
import { TARGET_MODULES } from '../model/loraTypes';

/** Default memory budget: 8 GiB. */
export const DEFAULT_BUDGET_BYTES = 8 * 2 ** 30;

/** The settings a plan depends on. */
export type PlanSettings = Pick<TrainSettings, 'batchSize' | 'maxLength' | 'recompute'> & Partial<Pick<TrainSettings, 'stage'>> & { readonly lora: Pick<LoraSettings, 'r' | 'targetModules'> & { readonly dropout?: number } };

/** Limits a plan reads (DeviceLimits subset). */
export type PlanLimits = Pick<DeviceLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize' | 'minStorageBufferOffsetAlignment'>;

/** One line of the breakdown. */
export interface PlanLine {
  readonly key: 'weights' | 'lora' | 'full' | 'saved' | 'backward' | 'head' | 'rope' | 'scratch';
  readonly label: string;
  readonly bytes: number;
  readonly detail: string;
}

/** The result of {@link planMemory}. Bytes everywhere. */
export interface MemoryPlan {
  readonly lines: readonly PlanLine[];
  readonly totalBytes: number;
  readonly budgetBytes: number;
  /** frozen weights on the GPU */
  readonly weightBytes: number;
  /** LoRA params + grads + m + v (= LoraParams.bytes) */
  readonly loraBytes: number;
  /** everything createActivations allocates (= Activations.bytes): saved + backward + head lines */
  readonly activationBytes: number;
  /** the largest single buffer and its name */
  readonly largest: { readonly name: string; readonly bytes: number };
  /** min(maxBufferSize, maxStorageBufferBindingSize): every buffer is bound whole */
  readonly bindingLimit: number;
  /** Vc, rows of the vocabulary per head chunk (0 when none fits) */
  readonly vocabChunkRows: number;
  /** buffers embed_tokens is stored in */
  readonly embedChunks: number;
  /** buffers per kind of LoRA state (0 when one module does not fit a buffer) */
  readonly loraParts: number;
  readonly recompute: boolean;
  /** B, T, M = B·T */
  readonly B: number;
  readonly T: number;
  readonly fits: boolean;
  /** why it does not fit, with the numbers (empty when it fits) */
  readonly problems: readonly string[];
}

const f32 = (n: number): number => Math.max(4, Math.ceil(n) * 4);
const packed = (n: number, bytesPer: number): number => Math.max(4, Math.ceil((n * bytesPer) / 4) * 4);
const pad64 = (n: number): number => Math.ceil(n / 64) * 64;

/**
 * Frozen weights on the GPU (model/weights.ts), summed over the tensor table (arch/tensors.ts): matrices in the file
 * dtype, norms and biases f32; embed_tokens (and an untied lm_head) in row chunks when above the binding limit.
 */
function weightBytes(cfg: ModelConfig, wb: number, limits: PlanLimits, chunkSetting: number): { bytes: number; embedChunks: number; largest: number; largestName: string } {
  const { vocabSize: V, hiddenSize: C } = cfg;
  const rows = tableChunkRows(V, C, wb, limits, chunkSetting);
  const chunks = splitRows(V, rows);
  const table = chunks.reduce((a, c) => a + packed(c.rows * C, wb), 0);
  let bytes = 0;
  let largest = packed(rows * C, wb);
  let largestName = chunks.length > 1 ? `embed_tokens chunk [${rows}, ${C}]` : `embed_tokens [${V}, ${C}]`;
  for (const t of tensorTable(cfg)) {
    if (t.role === 'embed' || t.role === 'lm_head') {
      bytes += table;
      continue;
    }
    const n = t.shape.reduce((a, b) => a * b, 1);
    const b = t.gpuDtype === 'f32' ? f32(n) : packed(n, wb);
    bytes += b;
    if (b > largest) [largest, largestName] = [b, `${t.module ?? t.name} [${t.shape.join(', ')}]`];
  }
  return { bytes, embedChunks: chunks.length, largest, largestName };
}

/** LoRA floats per kind: Σ over layers and targets of pad64(R·in) + pad64(out·R) (model/lora.ts layout), ≥ 64. */
function loraFloats(cfg: ModelConfig, r: number, targets: readonly TargetModule[]): { total: number; largestSlot: number } {
  let perLayer = 0;
  let largestSlot = 0;
  for (const m of targets) {
    const [out, inF] = linearShape(cfg, m);
    const slot = pad64(r * inF) + pad64(out * r);
    perLayer += slot;
    largestSlot = Math.max(largestSlot, slot);
  }
  return { total: Math.max(64, perLayer * cfg.numLayers), largestSlot };
}

/** Formats bytes as GiB / MiB / KiB with 2 decimals (binary units). */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(2)} KiB`;
  return `${n} B`;
}

/**
 * Plans the GPU memory of training `cfg` with `settings` (micro-batch B = settings.batchSize, T = settings.maxLength;
 * stage dpo: B = 2·batchSize rows, a pair's chosen and rejected sequences, plus the per-row scale [B·T] f32 of the
 * preference backward — the reference pass is a forward on the same activations and adds nothing else).
 * @param weightsDtypeBytes bytes per element of the checkpoint's matrices (2 for BF16/F16, 4 for F32)
 * @param limits the device's limits (GpuContext.limits)
 * @param budgetBytes the most GPU memory the user allows (default 8 GiB)
 * @param opts.vocabChunkRows most rows per vocabulary chunk (default 16384, as the engine)
 * @returns the plan; `fits` is false, with `problems` naming the numbers, when a buffer exceeds the limits or the
 *   total exceeds the budget (see describePlan / planAdvice in advice.ts for what to lower).
 * @throws Error for non-positive B, T, R or a weightsDtypeBytes other than 2 or 4.
 */
export function planMemory(cfg: ModelConfig, settings: PlanSettings, weightsDtypeBytes: number, limits: PlanLimits, budgetBytes = DEFAULT_BUDGET_BYTES, opts: { readonly vocabChunkRows?: number } = {}): MemoryPlan {
  const { maxLength: T, recompute } = settings;
  const dpo = settings.stage === 'dpo';
  const B = dpo ? 2 * settings.batchSize : settings.batchSize;
  const { r, targetModules: targets } = settings.lora;
  for (const [k, v] of Object.entries({ 'Batch size': B, 'Max length': T, Rank: r })) if (!Number.isInteger(v) || v < 1) throw new Error(`planMemory: ${k} must be a whole number ≥ 1, got ${v}`);
  if (weightsDtypeBytes !== 2 && weightsDtypeBytes !== 4) throw new Error(`planMemory: weightsDtypeBytes must be 2 (BF16/F16) or 4 (F32), got ${weightsDtypeBytes}`);
  const chunkSetting = opts.vocabChunkRows ?? DEFAULT_VOCAB_CHUNK_ROWS;
  const M = B * T;
  const L = cfg.numLayers;
  const { hiddenSize: C, intermediateSize: I, numHeads: H, headDim: D, vocabSize: V } = cfg;
  const limit = bindableBytes(limits);
  const problems: string[] = [];
  const buffers: [string, number][] = [];

  const w = weightBytes(cfg, weightsDtypeBytes, limits, chunkSetting);
  buffers.push([w.largestName, w.largest]);

  const lf = loraFloats(cfg, r, targets);
  const loraBytes = 4 * lf.total * 4;
  let partSizes: number[] = [];
  try {
    partSizes = layoutSlots(cfg, { r, alpha: 1, dropout: 0, useRslora: false, targetModules: targets }, loraPartFloats(limits)).parts;
    buffers.push([`a LoRA buffer (${partSizes.length} part(s) × params, grads, m, v)`, Math.max(...partSizes) * 4]);
  } catch {
    buffers.push([`LoRA lora_A + lora_B of one module at rank ${r}`, lf.largestSlot * 4]);
  }

  let Vc = 0;
  try {
    Vc = vocabChunkRows(V, C, M, limits, chunkSetting);
  } catch (e) {
    problems.push((e as Error).message);
  }
  // The activations are summed from the same list createActivations allocates (model/activationSpecs.ts).
  const keptLogits = Vc ? keptLogitsChunks(V, M, Vc) : 1;
  const acts = activationSpecs(cfg, B, T, r, targets, { withBackward: true, recompute, dropout: (settings.lora.dropout ?? 0) > 0, vocabChunkRows: Math.max(Vc, 1), logitsChunks: keptLogits, statsPerRow: CE_STATS_PER_ROW });
  const sum = (phase: ActivationPhase) => acts.filter((a) => a.phase === phase).reduce((t, a) => t + specBytes(a), 0);
  const saved = sum('saved');
  const bwd = sum('backward');
  const head = sum('head');
  buffers.push([`activation gate/up [M=${M}, I=${I}]`, f32(M * I)], [`logits chunk [M=${M}, Vc=${Vc}]`, f32(M * Vc)], [`residual [M=${M}, C=${C}]`, f32(M * C)], [`attention q [M=${M}, H·D=${H * D}]`, f32(M * H * D)]);
  const rope = 2 * f32((T * D) / 2);
  const loraParts = partSizes.length;
  // One attention delta [B, H, T], one grad-norm partials buffer and one split-K partials buffer (the largest of the
  // LoRA products u, du, dB, dA that kernels/matmulVariant.ts splits), shared by every call (gpu/buffers.ts
  // scratchBuffer), plus the step statistics (train/step.ts createStepStats: 260 bytes).
  const splitK = loraSplitKFloats(cfg, M, r, targets);
  const scratch = f32(B * H * T) + f32(Math.min(Math.ceil(Math.max(B * T, ...partSizes) / 256), 4096)) + f32(splitK) + 260 + (dpo ? f32(M) + 260 : 0);

  const lines: PlanLine[] = [
    { key: 'weights', label: 'Frozen weights', bytes: w.bytes, detail: `${L} layers, matrices at ${weightsDtypeBytes} bytes/value, norms f32; embed_tokens in ${w.embedChunks} buffer(s)${cfg.tieWordEmbeddings ? ', tied lm_head' : ', lm_head the same'}` },
    { key: 'lora', label: 'LoRA params, grads, AdamW m and v', bytes: loraBytes, detail: `r=${r} on ${targets.length} modules × ${L} layers: ${lf.total.toLocaleString('en-US')} f32 × 4 in ${loraParts || '?'} part(s)` },
    { key: 'saved', label: 'Saved activations', bytes: saved, detail: `B=${B}${dpo ? ` (${settings.batchSize} pairs × chosen + rejected)` : ''} × T=${T}, ${recompute ? `recompute on: layer inputs × ${L + 1} + one shared layer` : `all ${L} layers kept`}` },
    { key: 'backward', label: 'Backward scratch', bytes: bwd, detail: 'gradients of one layer at a time' },
    { key: 'head', label: keptLogits > 1 ? `Loss head (all ${keptLogits} vocabulary chunks kept)` : 'Loss head (one vocabulary chunk)', bytes: head, detail: `logits [M=${M}, Vc=${Vc}] of V=${V} in ${Vc ? Math.ceil(V / Vc) : '?'} chunk(s), online log-sum-exp${keptLogits > 1 ? '; kept for the backward (no recompute)' : ''}` },
    { key: 'rope', label: 'RoPE tables', bytes: rope, detail: `cos, sin [T=${T}, D/2=${D / 2}]` },
    { key: 'scratch', label: 'Per-step scratch', bytes: scratch, detail: `attention backward delta, loss-sum / grad-norm partials, split-K partials of the LoRA gradients, step statistics (one of each, reused)${dpo ? '; DPO per-row scale [M] and its step statistics' : ''}` },
  ];
  const totalBytes = lines.reduce((a, l) => a + l.bytes, 0);
  const largest = buffers.reduce((a, b) => (b[1] > a[1] ? b : a));
  if (largest[1] > limit) {
    const which = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
    problems.push(`the largest buffer, ${largest[0]}, needs ${formatBytes(largest[1])} (${largest[1]} bytes) but this GPU's ${which} is ${formatBytes(limit)} (${limit} bytes)`);
  }
  if (totalBytes > budgetBytes) problems.push(`training needs ${formatBytes(totalBytes)} but the memory budget is ${formatBytes(budgetBytes)} (over by ${formatBytes(totalBytes - budgetBytes)})`);
  return {
    lines, totalBytes, budgetBytes, weightBytes: w.bytes, loraBytes, activationBytes: saved + bwd + head,
    largest: { name: largest[0], bytes: largest[1] }, bindingLimit: limit, vocabChunkRows: Vc, embedChunks: w.embedChunks, loraParts,
    recompute, B, T, fits: problems.length === 0, problems,
  };
}
