/**
 * CPU parts of the fixture self-test: σ per tensor (case 3, sigma.json) and the LoRA merge (case 4, merge.safetensors)
 * through the same analysis/graft code the app and CLI use. Tolerances: shared/fixtures/README.md.
 */
import { openCheckpoint, type ModelFiles } from '../../io/checkpoint';
import { decodeToF32, f32ToBf16Bits } from '../../io/dtype';
import { readSafetensorsHeader, readTensorBytes } from '../../io/safetensors';
import { computeSimilarity } from '../analysis/similarity';
import { mergeLoraRows } from '../graft/mergeWeight';
import type { LoraModuleWeights } from '../model/loraTypes';
import type { CheckRow } from './compare';

type Tensors = Map<string, { shape: readonly number[]; data: Float32Array }>;

async function readAll(blob: Blob, what: string): Promise<Tensors> {
  const h = await readSafetensorsHeader(blob, what);
  const out: Tensors = new Map();
  for (const info of h.tensors.values()) out.set(info.name, { shape: info.shape, data: decodeToF32(await readTensorBytes(blob, info), info.dtype) });
  return out;
}

/**
 * σ of every tensor vs sigma.json `per_tensor` (relative ≤ 1e-9, f64 JS sums) and the paper's layer mean.
 * @throws Error when sigma.json or a model file is missing.
 */
export async function checkSigma(base: ModelFiles, instruct: ModelFiles, sigmaJson: string): Promise<CheckRow[]> {
  const want = JSON.parse(sigmaJson) as { per_tensor: Record<string, { sigma: number }>; layers: { mean_unweighted: number } };
  const report = await computeSimilarity(await openCheckpoint(base), await openCheckpoint(instruct));
  let maxAbs = 0;
  let maxRel = 0;
  let seen = 0;
  for (const row of report.rows) {
    const w = want.per_tensor[row.tensor];
    if (!w) continue;
    seen++;
    const d = Math.abs(row.sigma - w.sigma);
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, w.sigma === 0 ? d : d / w.sigma);
  }
  const all = Object.keys(want.per_tensor).length;
  const mean = report.summary.layers.meanUnweighted ?? NaN;
  const dMean = Math.abs(mean - want.layers.mean_unweighted);
  return [
    { quantity: `sigma/per_tensor (${seen}/${all} tensors)`, maxAbs, maxRel, tolerance: 'rel ≤ 1e-9, every tensor', pass: seen === all && maxRel <= 1e-9 },
    { quantity: 'sigma/layers.mean_unweighted', maxAbs: dMean, maxRel: dMean / want.layers.mean_unweighted, tolerance: 'rel ≤ 1e-9', pass: dMean <= 1e-9 * want.layers.mean_unweighted },
  ];
}

/**
 * Merge of model-instruct with the `final/` LoRA tensors of lora_step.safetensors vs merge.safetensors:
 * F32 keys abs ≤ 2e-6·max(1,|w|); `bf16/` keys (BF16 models) bit-exact but for ≤ 0.01 % 1-ulp flips.
 */
export async function checkMerge(instruct: ModelFiles, loraStep: Blob, mergeFile: Blob, scaling: number, r: number): Promise<CheckRow[]> {
  const lora = await readAll(loraStep, 'lora_step.safetensors');
  const golden = await readAll(mergeFile, 'merge.safetensors');
  const ckpt = await openCheckpoint(instruct);
  let maxAbs = 0;
  let worst = 0;
  let bfTotal = 0;
  let bfDiff = 0;
  let bfBig = 0;
  let n = 0;
  for (const [key, g] of golden) {
    if (key.startsWith('bf16/')) continue;
    const path = key.replace(/\.weight$/, '');
    const a = lora.get(`final/base_model.model.${path}.lora_A.weight`);
    const b = lora.get(`final/base_model.model.${path}.lora_B.weight`);
    const loc = ckpt.tensors.get(key);
    if (!a || !b || !loc) throw new Error(`merge check: no LoRA or Instruct tensor for ${key}`);
    const w = decodeToF32(await readTensorBytes(loc.file, loc.info), loc.info.dtype);
    const mod: LoraModuleWeights = { a: a.data, b: b.data, inFeatures: a.shape[1] as number, outFeatures: b.shape[0] as number };
    const merged = mergeLoraRows(w, 0, mod, r, scaling);
    n++;
    for (let i = 0; i < merged.length; i++) {
      const ref = g.data[i] as number;
      const d = Math.abs((merged[i] as number) - ref);
      maxAbs = Math.max(maxAbs, d);
      worst = Math.max(worst, d / (2e-6 * Math.max(1, Math.abs(ref))));
    }
    const bf = golden.get(`bf16/${key}`);
    if (bf) {
      for (let i = 0; i < merged.length; i++) {
        const got = f32ToBf16Bits(merged[i] as number);
        const want = f32ToBf16Bits(bf.data[i] as number);
        bfTotal++;
        if (got !== want) {
          bfDiff++;
          if (Math.abs(got - want) > 1) bfBig++;
        }
      }
    }
  }
  const rows: CheckRow[] = [{ quantity: `merge/f32 (${n} tensors)`, maxAbs, maxRel: worst * 2e-6, tolerance: 'abs ≤ 2e-6·max(1,|w|)', pass: n > 0 && worst <= 1 }];
  if (bfTotal) rows.push({ quantity: `merge/bf16 (${bfDiff} of ${bfTotal} elements differ)`, maxAbs: bfBig ? 2 : bfDiff ? 1 : 0, maxRel: bfDiff / bfTotal, tolerance: '≤ 0.01 % of elements off by exactly 1 ulp', pass: bfBig === 0 && bfDiff <= 1e-4 * bfTotal });
  return rows;
}
