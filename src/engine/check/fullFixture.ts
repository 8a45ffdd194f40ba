/**
 * Fixture case 6 (shared/fixtures/README.md, `full_step.{json,safetensors}`): full-parameter tuning of the Base on the
 * GPU — every tensor trainable in f32 (a tied embedding is one tensor), 3 AdamW steps with transformers Trainer's
 * no-decay rule and global clipping over all tensors — and the Shadow-FT graft W_I + (W_B′ − W_B) in F32 and BF16,
 * through the same code the app and CLI use: model/fullParams.ts + train/fullStep.ts on the GPU, then the tuned-Base
 * export (graft/tunedBase.ts) grafted by graft/graftTuned.ts. Rows are named "full_step/…".
 * Tolerances (README): step-1 gradients per tensor max abs ≤ 1e-4·max|g_ref| + 1e-8; losses abs ≤ 1e-4; gradient
 * norm rel ≤ 1e-4; final weights abs ≤ 9e-4; graft F32 abs ≤ 2e-6·max(1, |w|); graft BF16 bit-exact but for
 * ≤ 0.01 % of elements off by one ulp (ties).
 */
import { openCheckpoint, readTensor, type ModelFiles } from '../../io/checkpoint';
import { normalizeConfig } from '../../io/config';
import type { ModelConfig } from '../../io/config/types';
import { decodeToF32, f32ToBf16Bits } from '../../io/dtype';
import type { GpuContext } from '../gpu/context';
import { addDeltaF32, planGraftTuned } from '../graft/graftTuned';
import { outputFolder, tunedBaseFiles } from '../graft/tunedBase';
import { createActivations } from '../model/activations';
import { createFullParams, readFullTensors } from '../model/fullParams';
import { makeGpuModel } from '../model/model';
import { trainFullStep } from '../train/fullStep';
import { evaluateLoss } from '../train/step';
import { absRow, relToMaxRow, scalarRelRow, type CheckRow } from './compare';
import { fixtureBatch, json, need, subFolder, tensors, type FixtureRunOptions } from './fixtures';

/** full_step.json fields this check reads. */
interface FullStepJson {
  readonly optimizer: { readonly lr: number; readonly betas: [number, number]; readonly eps: number; readonly weight_decay: number };
  readonly steps: number;
  readonly loss_before_step: readonly number[];
  readonly loss_after_final_step: number;
  readonly grad_norm_before_clip: readonly number[];
  readonly tensors: readonly string[];
}

/** Max norm of the clipping (README: "global clip 1.0 over all trainable tensors"). */
const MAX_GRAD_NORM = 1;

/**
 * Runs case 6 of one fixture folder and pushes one row per quantity.
 * @throws FixtureError for a missing file or tensor; the engine's errors for unsupported configs.
 */
export async function checkFullStepCase(ctx: GpuContext, files: ModelFiles, push: (r: CheckRow) => void, opts: FixtureRunOptions = {}): Promise<void> {
  const cfg: ModelConfig = normalizeConfig(await json<unknown>(files, 'config.json'), `${files.name}/config.json`);
  const spec = await json<FullStepJson>(files, 'full_step.json');
  const golden = await tensors(files, 'full_step.safetensors');
  const { batch } = fixtureBatch(await tensors(files, 'forward.safetensors'), `${files.name}/forward.safetensors`);
  const where = `${files.name}/full_step.safetensors`;
  const chunk = opts.vocabChunkRows === undefined ? {} : { vocabChunkRows: opts.vocabChunkRows };
  const full = await createFullParams(ctx, cfg, await openCheckpoint(files), { ...chunk, maxTokens: batch.batchSize * batch.seqLen });
  const acts = createActivations(ctx, cfg, batch.batchSize, batch.seqLen, 0, [], { ...chunk, recompute: opts.recompute ?? false });
  const model = makeGpuModel(cfg, full.weights);
  try {
    const o = spec.optimizer;
    for (let t = 1; t <= spec.steps; t++) {
      const r = await trainFullStep(ctx, model, acts, full, [batch], { lr: o.lr, step: t, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weight_decay, maxGradNorm: MAX_GRAD_NORM });
      push(absRow(`full_step/loss_before_step/${t}`, [r.loss], [spec.loss_before_step[t - 1] as number], 1e-4));
      push(scalarRelRow(`full_step/grad_norm_before_clip/${t}`, r.gradNorm, spec.grad_norm_before_clip[t - 1] as number, 1e-4));
      if (t === 1) {
        const grads = await readFullTensors(ctx, full, 'grads');
        for (const name of spec.tensors) push(relToMaxRow(`full_step/grad/step1/${name}`, need(grads, name, 'GPU gradients'), need(golden, `grad/step1/${name}`, where).data, 1e-4, 1e-8));
      }
    }
    const params = await readFullTensors(ctx, full, 'params');
    for (const name of spec.tensors) push(absRow(`full_step/final/${name}`, need(params, name, 'GPU weights'), need(golden, `final/${name}`, where).data, 9e-4));
    push(absRow('full_step/loss_after_final_step', [await evaluateLoss(ctx, model, acts, null, [batch])], [spec.loss_after_final_step], 1e-4));
  } finally {
    acts.destroy();
    full.destroy();
  }
  for (const r of await checkFullGraft(files, spec, golden)) push(r);
}

type Tensors = Map<string, { shape: readonly number[]; data: Float32Array }>;

/**
 * The graft of the fixture's W_B′ (`final/`): addDeltaF32 per tensor vs `graft/`, and the exported tuned Base
 * grafted onto model-instruct/ by planGraftTuned vs `graft/` (F32 Instruct) or `graft_bf16/` (BF16 Instruct).
 */
async function checkFullGraft(files: ModelFiles, spec: FullStepJson, golden: Tensors): Promise<CheckRow[]> {
  const where = `${files.name}/full_step.safetensors`;
  const instruct = subFolder(files, 'model-instruct');
  const baseCk = await openCheckpoint(files);
  const instCk = await openCheckpoint(instruct);
  const read = async (ck: typeof baseCk, name: string) => {
    const t = await readTensor(ck, name);
    return decodeToF32(t.bytes, t.info.dtype);
  };
  let worst = 0;
  let maxAbs = 0;
  for (const name of spec.tensors) {
    const w = await read(instCk, name);
    addDeltaF32(w, need(golden, `final/${name}`, where).data, await read(baseCk, name), w);
    const ref = need(golden, `graft/${name}`, where).data;
    for (let i = 0; i < w.length; i++) {
      const d = Math.abs((w[i] as number) - (ref[i] as number));
      maxAbs = Math.max(maxAbs, d);
      worst = Math.max(worst, d / (2e-6 * Math.max(1, Math.abs(ref[i] as number))));
    }
  }
  const rows: CheckRow[] = [{ quantity: `full_step/graft/f32 (${spec.tensors.length} tensors)`, maxAbs, maxRel: worst * 2e-6, tolerance: 'abs ≤ 2e-6·max(1,|w|)', pass: worst <= 1 }];
  // The exporters: tuned Base (F32) → graft onto the Instruct in its layout and dtype.
  const tuned = await outputFolder(`${files.name}/tuned-base`, tunedBaseFiles(files, spec.tensors.map((name) => {
    const g = need(golden, `final/${name}`, where);
    return { name, shape: g.shape, read: async () => g.data };
  })));
  const plan = await planGraftTuned(files, tuned, instruct, { skipDerivationCheck: true });
  const merged = await openCheckpoint(await outputFolder(`${files.name}/merged`, plan.files));
  let n = 0;
  let diff = 0;
  let big = 0;
  let f32Worst = 0;
  let f32Max = 0;
  for (const name of spec.tensors) {
    const loc = merged.tensors.get(name);
    if (!loc) return [...rows, { quantity: `full_step/graft/export: ${name} missing`, maxAbs: Infinity, maxRel: Infinity, tolerance: 'every tensor exported', pass: false }];
    const got = await read(merged, name);
    const bf = golden.get(`graft_bf16/${name}`);
    if (loc.info.dtype === 'BF16') {
      if (!bf) throw new Error(`${where}: BF16 Instruct but no graft_bf16/${name}`);
      for (let i = 0; i < got.length; i++) {
        const a = f32ToBf16Bits(got[i] as number);
        const b = f32ToBf16Bits(bf.data[i] as number);
        n++;
        if (a !== b) {
          diff++;
          if (Math.abs(a - b) > 1) big++;
        }
      }
    } else {
      const ref = need(golden, `graft/${name}`, where).data;
      for (let i = 0; i < got.length; i++) {
        const d = Math.abs((got[i] as number) - (ref[i] as number));
        f32Max = Math.max(f32Max, d);
        f32Worst = Math.max(f32Worst, d / (2e-6 * Math.max(1, Math.abs(ref[i] as number))));
      }
    }
  }
  if (n) rows.push({ quantity: `full_step/graft_bf16/export (${diff} of ${n} elements differ)`, maxAbs: big ? 2 : diff ? 1 : 0, maxRel: diff / n, tolerance: '≤ 0.01 % of elements off by exactly 1 ulp', pass: big === 0 && diff <= 1e-4 * n });
  else rows.push({ quantity: `full_step/graft/export (${spec.tensors.length} tensors)`, maxAbs: f32Max, maxRel: f32Worst * 2e-6, tolerance: 'abs ≤ 2e-6·max(1,|w|)', pass: f32Worst <= 1 });
  return rows;
}
