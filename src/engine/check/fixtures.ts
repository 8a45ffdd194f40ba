/**
 * GPU self-test against a golden fixture folder in the format of shared/fixtures (see its README):
 * config.json, model.safetensors, model-instruct/, forward.{json,safetensors}, lora_step.{json,safetensors},
 * merge.safetensors, sigma.json (and dpo_step.*, full_step.*). Runs OUR kernels on the given device: forward logits
 * and loss (case 1), three LoRA steps with clipping and AdamW (case 2), DPO with LoRA when dpo_step.* is present
 * (case 5, dpoFixture.ts); merge (case 4) and σ (case 3) via the graft and analysis modules; three full-parameter
 * steps and the graft (case 6, check/fullFixture.ts).
 */
import { openCheckpoint, type ModelFiles } from '../../io/checkpoint';
import { normalizeConfig } from '../../io/config';
import type { ModelConfig } from '../../io/config/types';
import type { Batch } from '../../io/dataset/types';
import { decodeToF32 } from '../../io/dtype';
import { readSafetensorsHeader, readTensorBytes } from '../../io/safetensors';
import type { GpuContext } from '../gpu/context';
import { createActivations } from '../model/activations';
import { createLoraParams, readLoraTensors } from '../model/lora';
import { destroyGpuModel, forwardLogits, makeGpuModel, uploadBatch } from '../model/model';
import { loadModelWeights, modulePath } from '../model/weights';
import { evaluateLoss, trainStep } from '../train/step';
import { TARGET_MODULES, type LoraModuleWeights, type LoraSettings } from '../model/loraTypes';
import { absRow, relToMaxRow, scalarRelRow, type CheckRow } from './compare';
import { checkMerge, checkSigma } from './graftChecks';
import { checkFullStepCase } from './fullFixture';
import { checkDpoFixture } from './dpoFixture';

/** Thrown when a fixture folder lacks a file or a tensor; names it. */
export class FixtureError extends Error {
  override name = 'FixtureError';
}

/** A JSON file of the fixture folder. @throws FixtureError when it is missing */
export async function json<T>(files: ModelFiles, path: string): Promise<T> {
  const b = files.files.get(path);
  if (!b) throw new FixtureError(`${files.name}: ${path} is missing`);
  return JSON.parse(await b.text()) as T;
}

/** Reads every tensor of a safetensors file in the fixture as f32 (exact upcast) or raw ints. */
export async function tensors(files: ModelFiles, path: string): Promise<Map<string, { shape: readonly number[]; data: Float32Array }>> {
  const b = files.files.get(path);
  if (!b) throw new FixtureError(`${files.name}: ${path} is missing`);
  const h = await readSafetensorsHeader(b, `${files.name}/${path}`);
  const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const info of h.tensors.values()) out.set(info.name, { shape: info.shape, data: decodeToF32(await readTensorBytes(b, info), info.dtype) });
  return out;
}

/** m.get(k). @throws FixtureError naming the tensor and `where` when absent */
export function need<T>(m: Map<string, T>, k: string, where: string): T {
  const v = m.get(k);
  if (v === undefined) throw new FixtureError(`${where}: tensor ${k} is missing`);
  return v;
}

/** The files of the fixture's model-instruct/ subfolder as their own ModelFiles. */
export function subFolder(files: ModelFiles, dir: string): ModelFiles {
  const sub = new Map<string, Blob>();
  for (const [k, v] of files.files) if (k.startsWith(`${dir}/`)) sub.set(k.slice(dir.length + 1), v);
  return { name: `${files.name}/${dir}`, files: sub };
}

const peftKey = (path: string, w: 'A' | 'B') => `base_model.model.${path}.lora_${w}.weight`;

/** Fixture batch from forward.safetensors: [B, T] ids and labels, numItems per the HF shift. */
export function fixtureBatch(fwd: Map<string, { shape: readonly number[]; data: Float32Array }>, where: string): { batch: Batch; mask: Float32Array } {
  const ids = need(fwd, 'input_ids', where);
  const labels = need(fwd, 'labels', where);
  const [B, T] = ids.shape as [number, number];
  let numItems = 0;
  for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) if (labels.data[b * T + t] !== -100) numItems++;
  return {
    batch: { batchSize: B, seqLen: T, inputIds: Int32Array.from(ids.data), labels: Int32Array.from(labels.data), numItems },
    mask: need(fwd, 'attention_mask', where).data,
  };
}

/** A fixture case present in a folder that this engine does not run yet, with why. */
export interface SkippedCase {
  /** the case's JSON file, e.g. "dpo_step.json" */
  readonly file: string;
  /** the fixtures README's name for it, e.g. "case 5 (DPO with LoRA)" */
  readonly name: string;
  readonly reason: string;
}

/**
 * The "*_step.json" cases {@link checkFixtureOnGpu} runs when present (case 2 always, case 5 DPO and case 6
 * full-parameter when the folder has them).
 */
const RUN: readonly string[] = ['lora_step.json', 'dpo_step.json', 'full_step.json'];

/** Cases of ../shared/fixtures/README.md beyond 1–6, with what this engine lacks to run them (none today). */
const NOT_RUN: readonly SkippedCase[] = [];

/**
 * The cases a fixture folder holds that {@link checkFixtureOnGpu} does not run (check-fixtures names them, so a
 * skipped case is never mistaken for a passed one); also any other "*_step.json" it does not know.
 */
export function skippedFixtureCases(files: ModelFiles): SkippedCase[] {
  const out: SkippedCase[] = NOT_RUN.filter((c) => files.files.has(c.file));
  for (const path of files.files.keys()) {
    if (/^[^/]+_step\.json$/.test(path) && !RUN.includes(path) && !NOT_RUN.some((c) => c.file === path)) out.push({ file: path, name: path, reason: 'a case this version does not know' });
  }
  return out;
}

/** Engine options a fixture run can exercise (defaults: the engine's own). */
export interface FixtureRunOptions {
  /** Activation recomputation in the backward (activations.ts). */
  readonly recompute?: boolean;
  /** Most vocabulary rows per head chunk and per stored embedding chunk (vocabChunks.ts). */
  readonly vocabChunkRows?: number;
  /**
   * The optional cases to run when the folder has them (default: both). The memory-limit tests force the limits down
   * to the LoRA run's largest buffer, which a DPO micro-batch (2·B rows) and the f32 masters of whole tensors exceed.
   */
  readonly cases?: readonly ('dpo' | 'full')[];
}

/**
 * Runs the forward and LoRA-step cases of one fixture folder on `ctx` and returns one row per quantity.
 * @throws FixtureError for a missing file or tensor; the engine's errors for unsupported configs.
 */
export async function checkFixtureOnGpu(ctx: GpuContext, files: ModelFiles, onRow?: (r: CheckRow) => void, opts: FixtureRunOptions = {}): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const push = (r: CheckRow) => {
    rows.push(r);
    onRow?.(r);
  };
  const cfg: ModelConfig = normalizeConfig(await json<unknown>(files, 'config.json'), `${files.name}/config.json`);
  const ckpt = await openCheckpoint(files);
  const fwd = await tensors(files, 'forward.safetensors');
  const { batch, mask } = fixtureBatch(fwd, `${files.name}/forward.safetensors`);
  const step = await json<{ adapter_config: { r: number; lora_alpha: number; target_modules: string[] }; optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number }; clip: { max_norm: number }; steps: number; loss_before_step: number[]; loss_after_final_step: number; grad_norm_before_clip: number[] }>(files, 'lora_step.json');
  const chunk = opts.vocabChunkRows === undefined ? {} : { vocabChunkRows: opts.vocabChunkRows };
  const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, ckpt, undefined, chunk));
  const settings: LoraSettings = { r: step.adapter_config.r, alpha: step.adapter_config.lora_alpha, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] };
  const acts = createActivations(ctx, cfg, batch.batchSize, batch.seqLen, settings.r, settings.targetModules, { ...chunk, recompute: opts.recompute ?? false });
  const lt = await tensors(files, 'lora_step.safetensors');
  const init = new Map<string, LoraModuleWeights>();
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    for (const m of settings.targetModules) {
      const path = modulePath(layer, m);
      const a = need(lt, peftKey(path, 'A'), 'lora_step.safetensors');
      const b = need(lt, peftKey(path, 'B'), 'lora_step.safetensors');
      init.set(path, { a: a.data, b: b.data, inFeatures: a.shape[1] as number, outFeatures: b.shape[0] as number });
    }
  }
  // Case 1: forward logits and loss (no LoRA).
  const V = cfg.vocabSize;
  const logits = await forwardLogits(ctx, model, acts, null, uploadBatch(ctx, model, acts, batch));
  push(absRow('logits', logits, need(fwd, 'logits', 'forward.safetensors').data, 2e-4, (i) => mask[Math.floor(i / V)] === 1));
  const loss = await evaluateLoss(ctx, model, acts, null, [batch]);
  push(absRow('loss', [loss], need(fwd, 'loss', 'forward.safetensors').data, 1e-4));
  // Case 2: three LoRA steps from the fixture's init (constant lr, clipping, AdamW).
  const lora = createLoraParams(ctx, cfg, settings, init);
  try {
    const o = step.optimizer;
    for (let t = 1; t <= step.steps; t++) {
      const r = await trainStep(ctx, model, acts, lora, [batch], { lr: o.lr, step: t, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weight_decay, maxGradNorm: step.clip.max_norm });
      push(absRow(`loss_before_step/${t}`, [r.loss], [step.loss_before_step[t - 1] as number], 1e-4));
      push(scalarRelRow(`grad_norm_before_clip/${t}`, r.gradNorm, step.grad_norm_before_clip[t - 1] as number, 1e-4));
      const grads = await readLoraTensors(ctx, lora, 'grads');
      const params = await readLoraTensors(ctx, lora);
      for (const [path, g] of grads) {
        for (const w of ['A', 'B'] as const) {
          const key = peftKey(path, w);
          if (t === 1) push(relToMaxRow(`grad/step1/${key}`, w === 'A' ? g.a : g.b, need(lt, `grad/step1/${key}`, 'lora_step.safetensors').data, 1e-4, 1e-8));
          const p = params.get(path) as LoraModuleWeights;
          const ref = t < step.steps ? `after/step${t}/${key}` : `final/${key}`;
          push(absRow(ref, w === 'A' ? p.a : p.b, need(lt, ref, 'lora_step.safetensors').data, 1e-4));
        }
      }
    }
    const after = await evaluateLoss(ctx, model, acts, lora, [batch]);
    push(absRow('loss_after_final_step', [after], [step.loss_after_final_step], 1e-4));
    // Case 5 (when present): DPO with LoRA, AdamW/clip of case 2 with the case's own lr.
    if (files.files.has('dpo_step.json') && (opts.cases ?? ['dpo']).includes('dpo')) {
      const o = step.optimizer;
      const dpo = await checkDpoFixture(ctx, files, model, settings, { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay, maxGradNorm: step.clip.max_norm }, opts);
      for (const r of dpo) push(r);
    }
  } finally {
    lora.destroy();
    acts.destroy();
    destroyGpuModel(model);
  }
  // Cases 3 and 4 (CPU: σ sums in f64, merge in f64 → f32 → BF16).
  const instruct = subFolder(files, 'model-instruct');
  const sigma = files.files.get('sigma.json');
  const merge = files.files.get('merge.safetensors');
  const loraStep = files.files.get('lora_step.safetensors');
  if (!sigma || !merge || !loraStep) throw new FixtureError(`${files.name}: sigma.json, merge.safetensors and lora_step.safetensors are required`);
  for (const r of await checkSigma(files, instruct, await sigma.text())) push(r);
  for (const r of await checkMerge(instruct, loraStep, merge, step.adapter_config.lora_alpha / step.adapter_config.r, step.adapter_config.r)) push(r);
  // Case 6 (full-parameter steps and the Shadow-FT graft), when the folder has it.
  if (files.files.has('full_step.json') && (opts.cases ?? ['full']).includes('full')) await checkFullStepCase(ctx, files, push, opts);
  return rows;
}
