/**
 * Default training settings: the Shadow-FT paper's recipe as run with LLaMA-Factory (LoRA on all seven decoder
 * linears, α = 2r, cosine with 10% warmup, clip 1.0, AdamW β = (0.9, 0.999), ε = 1e-8), scaled to the model:
 * r = 128 on real models, r = 8 on toy models (hidden size ≤ 256, like the bundled stories260K demo, whose reference
 * run in shared/models/REFERENCE_RESULTS.md used r 8, α 16, lr 1e-3, batch 8, 3 epochs).
 */
import type { ModelConfig } from '../../io/config/types';
import { DEFAULT_BUDGET_BYTES, planMemory, type PlanLimits } from '../plan/memory';
import { type TrainSettings } from './types';
import { TARGET_MODULES } from '../model/loraTypes';
import { validatePrefSettings } from './prefSettings';

/** True for toy-sized models (hidden size ≤ 256). */
export function isToyModel(cfg: Pick<ModelConfig, 'hiddenSize'>): boolean {
  return cfg.hiddenSize <= 256;
}

/** What the defaults may know about the device, to decide on recompute (plan/memory.ts). */
export interface DefaultsDevice {
  readonly limits: PlanLimits;
  /** bytes per value of the checkpoint's matrices (2 for BF16/F16, 4 for F32) */
  readonly weightsDtypeBytes: number;
  /** default 8 GiB */
  readonly budgetBytes?: number;
}

/**
 * Settings a user starts from; every field is editable in the UI.
 * recompute: false on toy models; on real models true unless `device` is given and the plan fits without it.
 * @param numExamples training examples (used to keep the batch no larger than the dataset)
 */
export function defaultTrainSettings(cfg: ModelConfig, numExamples: number, device?: DefaultsDevice): TrainSettings {
  const toy = isToyModel(cfg);
  const r = toy ? 8 : 128;
  const batchSize = Math.max(1, Math.min(toy ? 8 : 1, numExamples));
  const base = {
    lora: { r, alpha: 2 * r, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] },
    learningRate: toy ? 1e-3 : 1e-4,
    epochs: toy ? 3 : 1,
    maxSteps: 0,
    batchSize,
    gradAccum: toy ? 1 : 8,
    maxLength: Math.min(toy ? 512 : 1024, cfg.maxPositionEmbeddings),
    warmupRatio: 0.1,
    weightDecay: 0,
    maxGradNorm: 1.0,
    beta1: 0.9,
    beta2: 0.999,
    adamEps: 1e-8,
    seed: 42,
    chatTemplateKwargs: {},
  };
  const plain: TrainSettings = { ...base, recompute: false };
  if (toy) return plain;
  if (!device) return { ...base, recompute: true };
  const fits = planMemory(cfg, plain, device.weightsDtypeBytes, device.limits, device.budgetBytes ?? DEFAULT_BUDGET_BYTES).fits;
  return { ...base, recompute: !fits };
}

/** Thrown for settings that cannot run; the message names the field and the allowed range. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

/**
 * Checks ranges of every field (the stage and pref_* fields: prefSettings.ts).
 * @throws SettingsError naming the first bad field.
 */
export function validateSettings(s: TrainSettings, cfg: ModelConfig): void {
  const bad = (field: string, why: string) => {
    throw new SettingsError(`${field}: ${why}`);
  };
  const posInt = (v: number, field: string) => (!Number.isInteger(v) || v < 1) && bad(field, `must be a whole number ≥ 1, got ${v}`);
  posInt(s.lora.r, 'Rank');
  if (s.finetuningType !== undefined && s.finetuningType !== 'lora' && s.finetuningType !== 'full') bad('Finetuning type', `must be 'lora' or 'full', got ${JSON.stringify(s.finetuningType)}`);
  posInt(s.batchSize, 'Batch size');
  posInt(s.gradAccum, 'Gradient accumulation');
  posInt(s.maxLength, 'Max length');
  posInt(s.epochs, 'Epochs');
  if (!Number.isInteger(s.maxSteps) || s.maxSteps < 0) bad('Max steps', `must be a whole number ≥ 0 (0 = run all epochs), got ${s.maxSteps}`);
  if (!(s.lora.alpha > 0)) bad('Alpha', `must be > 0, got ${s.lora.alpha}`);
  if (!(s.learningRate > 0 && s.learningRate < 1)) bad('Learning rate', `must be in (0, 1), got ${s.learningRate}`);
  if (!(s.lora.dropout >= 0 && s.lora.dropout < 1)) bad('Dropout', `must be in [0, 1), got ${s.lora.dropout}`);
  if (!(s.warmupRatio >= 0 && s.warmupRatio <= 1)) bad('Warmup ratio', `must be in [0, 1], got ${s.warmupRatio}`);
  if (!(s.weightDecay >= 0)) bad('Weight decay', `must be ≥ 0, got ${s.weightDecay}`);
  if (!(s.maxGradNorm >= 0)) bad('Max grad norm', `must be ≥ 0 (0 = no clipping), got ${s.maxGradNorm}`);
  if (s.evalSteps !== undefined && (!Number.isInteger(s.evalSteps) || s.evalSteps < 0)) bad('Evaluate every', `must be a whole number of optimizer steps ≥ 0 (0 = before and after training only), got ${s.evalSteps}`);
  if (typeof s.recompute !== 'boolean') bad('Recompute', `must be true or false, got ${String(s.recompute)}`);
  if (s.lora.targetModules.length === 0) bad('Target modules', 'choose at least one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj');
  if (s.maxLength > cfg.maxPositionEmbeddings) bad('Max length', `${s.maxLength} exceeds the model's max_position_embeddings ${cfg.maxPositionEmbeddings}`);
  if (s.stage === 'dpo' && s.finetuningType === 'full') bad('Finetuning type', "stage dpo trains LoRA only; choose 'lora' (full-parameter runs are stage sft)");
  try {
    validatePrefSettings(s);
  } catch (e) {
    throw new SettingsError((e as Error).message);
  }
}
