/**
 * Fixture case 5 (shared/fixtures README, `dpo_step.{json,safetensors}`): DPO with LoRA, the Shadow-DPO building
 * block. On OUR kernels: the reference log-probs with the adapter off, then 3 preference steps (train/prefStep.ts)
 * from the fixture's LoRA init with the lr of the case (AdamW and clipping otherwise as case 2): per step the loss,
 * the policy log-probs and the gradient norm before clipping; the step-1 raw gradients; the final weights.
 * Tolerances: the README's (case 2) for loss, gradients, norm and weights; log-probs (sums of ≤ T token NLLs, each
 * within the loss tolerance) abs ≤ 1e-3.
 */
import type { ModelFiles } from '../../io/checkpoint';
import type { PreferenceBatch } from '../../io/dataset/types';
import { labelCountsOf } from '../../io/dataset/prefBatches';
import { decodeToF32 } from '../../io/dtype';
import { readSafetensorsHeader, readTensorBytes } from '../../io/safetensors';
import type { GpuContext } from '../gpu/context';
import { createActivations } from '../model/activations';
import { createLoraParams, readLoraTensors } from '../model/lora';
import type { GpuModel } from '../model/model';
import type { LoraModuleWeights, LoraSettings } from '../model/loraTypes';
import { modulePath } from '../model/weights';
import { PREF_DEFAULTS } from '../train/prefLoss';
import { createPrefStepBuffers, prefTrainStep, referenceLogps } from '../train/prefStep';
import { absRow, relToMaxRow, scalarRelRow, type CheckRow } from './compare';

/** The fields of dpo_step.json this check reads (see the fixtures README, case 5). */
interface DpoJson {
  readonly beta: number;
  readonly optimizer: string | { lr: number; betas?: [number, number]; eps?: number; weight_decay?: number };
  readonly reference_chosen_logps: number[];
  readonly reference_rejected_logps: number[];
  readonly policy_chosen_logps: number[][];
  readonly policy_rejected_logps: number[][];
  readonly loss_before_step: number[];
  readonly grad_norm_before_clip: number[];
}

/** AdamW/clip settings of case 2 (lora_step.json) that case 5 reuses. */
export interface Case2Optimizer {
  readonly lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
}

/** The case's learning rate: an object's `lr`, or "lr <number>" in the README-style text, else the README's 1e-3. */
export function dpoLearningRate(optimizer: DpoJson['optimizer']): number {
  if (typeof optimizer === 'object' && optimizer !== null && Number.isFinite(optimizer.lr)) return optimizer.lr;
  const m = typeof optimizer === 'string' ? /\blr\s*=?\s*([0-9.]+(?:e-?[0-9]+)?)/i.exec(optimizer) : null;
  return m ? Number(m[1]) : 1e-3;
}

const peftKey = (path: string, w: 'A' | 'B') => `base_model.model.${path}.lora_${w}.weight`;

/**
 * Runs case 5 on `ctx` with the already loaded model of the folder and returns its rows (quantities prefixed "dpo/").
 * @throws Error naming the file and tensor when dpo_step.* lacks one
 */
export async function checkDpoFixture(ctx: GpuContext, files: ModelFiles, model: GpuModel, settings: LoraSettings, o: Case2Optimizer, opts: { recompute?: boolean; vocabChunkRows?: number } = {}): Promise<CheckRow[]> {
  const jb = files.files.get('dpo_step.json');
  const sb = files.files.get('dpo_step.safetensors');
  if (!jb || !sb) throw new Error(`${files.name}: dpo_step.json and dpo_step.safetensors are both required for case 5`);
  const js = JSON.parse(await jb.text()) as DpoJson;
  const h = await readSafetensorsHeader(sb, `${files.name}/dpo_step.safetensors`);
  const t = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const info of h.tensors.values()) t.set(info.name, { shape: info.shape, data: decodeToF32(await readTensorBytes(sb, info), info.dtype) });
  const need = (k: string) => {
    const v = t.get(k);
    if (!v) throw new Error(`${files.name}/dpo_step.safetensors: tensor ${k} is missing`);
    return v;
  };
  const [P, T] = need('chosen_input_ids').shape as [number, number];
  for (const k of ['rejected_input_ids', 'chosen_labels', 'rejected_labels']) {
    const s = need(k).shape;
    if (s[0] !== P || s[1] !== T) throw new Error(`${files.name}/dpo_step.safetensors: ${k} is [${s.join(', ')}], expected [${P}, ${T}] like chosen_input_ids`);
  }
  const ids = Int32Array.from([...need('chosen_input_ids').data, ...need('rejected_input_ids').data]);
  const labels = Int32Array.from([...need('chosen_labels').data, ...need('rejected_labels').data]);
  const labelCounts = labelCountsOf(labels, 2 * P, T);
  const batch: PreferenceBatch = { batchSize: 2 * P, seqLen: T, inputIds: ids, labels, numItems: labelCounts.reduce((a, b) => a + b, 0), pairs: P, labelCounts, sources: Array.from({ length: P }, (_, i) => `dpo_step pair ${i}`) };
  const cfg = model.cfg;
  const init = new Map<string, LoraModuleWeights>();
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    for (const m of settings.targetModules) {
      const path = modulePath(layer, m);
      const a = need(peftKey(path, 'A'));
      const b = need(peftKey(path, 'B'));
      init.set(path, { a: a.data, b: b.data, inFeatures: a.shape[1] as number, outFeatures: b.shape[0] as number });
    }
  }
  const chunk = opts.vocabChunkRows === undefined ? {} : { vocabChunkRows: opts.vocabChunkRows };
  const acts = createActivations(ctx, cfg, 2 * P, T, settings.r, settings.targetModules, { ...chunk, recompute: opts.recompute ?? false });
  const lora = createLoraParams(ctx, cfg, settings, init);
  const buffers = createPrefStepBuffers(ctx, acts);
  const rows: CheckRow[] = [];
  try {
    const [ref] = await referenceLogps(ctx, model, acts, [batch]);
    if (!ref) throw new Error('case 5: no reference log-probs');
    rows.push(absRow('dpo/reference_chosen_logps', ref.chosen, js.reference_chosen_logps, 1e-3));
    rows.push(absRow('dpo/reference_rejected_logps', ref.rejected, js.reference_rejected_logps, 1e-3));
    const pref = { ...PREF_DEFAULTS, lossType: 'sigmoid' as const, beta: js.beta };
    const lr = dpoLearningRate(js.optimizer);
    const steps = js.loss_before_step.length;
    for (let s = 1; s <= steps; s++) {
      const r = await prefTrainStep(ctx, model, acts, lora, [batch], [ref], { lr, step: s, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay, maxGradNorm: o.maxGradNorm }, pref, buffers);
      rows.push(absRow(`dpo/loss_before_step/${s}`, [r.loss], [js.loss_before_step[s - 1] as number], 1e-4));
      rows.push(absRow(`dpo/policy_chosen_logps/${s}`, r.policy.chosen, js.policy_chosen_logps[s - 1] ?? [], 1e-3));
      rows.push(absRow(`dpo/policy_rejected_logps/${s}`, r.policy.rejected, js.policy_rejected_logps[s - 1] ?? [], 1e-3));
      rows.push(scalarRelRow(`dpo/grad_norm_before_clip/${s}`, r.gradNorm, js.grad_norm_before_clip[s - 1] as number, 1e-4));
      const grads = await readLoraTensors(ctx, lora, 'grads');
      for (const [path, g] of grads) {
        for (const w of ['A', 'B'] as const) {
          const key = `grad/step${s}/${peftKey(path, w)}`;
          if (s === 1) rows.push(relToMaxRow(`dpo/${key}`, w === 'A' ? g.a : g.b, need(key).data, 1e-4, 1e-8));
        }
      }
    }
    for (const [path, p] of await readLoraTensors(ctx, lora)) {
      for (const w of ['A', 'B'] as const) rows.push(absRow(`dpo/final/${peftKey(path, w)}`, w === 'A' ? p.a : p.b, need(`final/${peftKey(path, w)}`).data, 1e-4));
    }
  } finally {
    buffers.destroy();
    lora.destroy();
    acts.destroy();
  }
  return rows;
}
