/**
 * σ per tensor vs the golden float64 values of ../shared/fixtures (case 3, sigma.json; relative 1e-9) and the
 * stories260K pair (../shared/models/pair_stats.json), plus the CSV, shape errors, added-token rows and abort.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { computeSimilarity, SimilarityError, type SimilarityReport } from '../../src/engine/analysis/similarity';
import { SIMILARITY_CSV_HEADER, similarityCsv } from '../../src/engine/analysis/similarityCsv';
import { openCheckpoint, type Checkpoint } from '../../src/io/checkpoint';
import { bf16BitsToF32, encodeFromF32, f32ToBf16Bits } from '../../src/io/dtype';
import { safetensorsBlob } from '../../src/io/safetensors';
import { modelFilesFromDir } from '../../src/node/files';

const FIX = '/work/shared/fixtures';
const MODELS = '/work/shared/models';

interface SigmaAgg { n_tensors: number; n_params: number; mean_unweighted: number; mean_param_weighted: number }
interface SigmaJson {
  layers: SigmaAgg;
  all_tensors: SigmaAgg;
  per_layer_mean_unweighted: Record<string, number>;
  per_tensor: Record<string, { sigma: number; numel: number; layer: boolean }>;
  unchanged_tensor: string;
}

function expectRel(got: number | null | undefined, want: number, tol: number, what: string): void {
  if (got === null || got === undefined) throw new Error(`${what}: missing`);
  const err = Math.abs(got - want) / Math.max(Math.abs(want), 1e-300);
  if (!(want === 0 ? got === 0 : err <= tol)) throw new Error(`${what}: got ${got}, expected ${want} (relative error ${err} > ${tol})`);
}

async function open(dir: string): Promise<Checkpoint> {
  return openCheckpoint(await modelFilesFromDir(dir));
}

function checkAgainstGolden(rep: SimilarityReport, gold: SigmaJson, model: string): void {
  expect(rep.rows.map((r) => r.tensor).sort()).toEqual(Object.keys(gold.per_tensor).sort());
  for (const r of rep.rows) {
    const g = gold.per_tensor[r.tensor];
    if (!g) throw new Error(`${model}: unexpected row ${r.tensor}`);
    expectRel(r.sigma, g.sigma, 1e-9, `${model} ${r.tensor}`);
    expect(r.numel, r.tensor).toBe(g.numel);
    expect(r.layer !== null, r.tensor).toBe(g.layer);
  }
  const s = rep.summary;
  for (const [mine, theirs, what] of [[s.layers, gold.layers, 'layers'], [s.allTensors, gold.all_tensors, 'all']] as const) {
    expect(mine.nTensors, what).toBe(theirs.n_tensors);
    expect(mine.nParams, what).toBe(theirs.n_params);
    expectRel(mine.meanUnweighted, theirs.mean_unweighted, 1e-9, `${model} ${what} mean_unweighted`);
    expectRel(mine.meanParamWeighted, theirs.mean_param_weighted, 1e-9, `${model} ${what} mean_param_weighted`);
  }
  expect(s.paperFigure).toBe(s.layers.meanUnweighted);
  expect(s.perLayer.map((l) => String(l.layer))).toEqual(Object.keys(gold.per_layer_mean_unweighted).sort());
  for (const l of s.perLayer) expectRel(l.meanUnweighted, gold.per_layer_mean_unweighted[String(l.layer)] as number, 1e-9, `${model} layer ${l.layer}`);
  const layerSig = Object.entries(gold.per_tensor).filter(([, v]) => v.layer);
  const minGold = layerSig.reduce((a, b) => (b[1].sigma < a[1].sigma ? b : a));
  const maxGold = layerSig.reduce((a, b) => (b[1].sigma > a[1].sigma ? b : a));
  expect(s.layers.min?.tensor).toBe(minGold[0]);
  expect(s.layers.max?.tensor).toBe(maxGold[0]);
  expect(rep.rows.find((r) => r.tensor === gold.unchanged_tensor)?.sigma).toBe(0);
}

describe.each(['llama-tiny', 'qwen2-tiny', 'qwen3-tiny'])('σ of %s vs sigma.json', (model) => {
  it('matches every per-tensor σ and aggregate within relative 1e-9 (default chunks and 1000-byte chunks)', async () => {
    const gold = JSON.parse(await readFile(join(FIX, model, 'sigma.json'), 'utf8')) as SigmaJson;
    const base = await open(join(FIX, model));
    const inst = await open(join(FIX, model, 'model-instruct'));
    const progress: number[] = [];
    const rep = await computeSimilarity(base, inst, { onProgress: (p) => progress.push(p.bytesDone / p.bytesTotal) });
    checkAgainstGolden(rep, gold, model);
    expect(progress.at(-1)).toBe(1);
    expect(progress.every((v, i) => i === 0 || v >= (progress[i - 1] as number))).toBe(true);
    expect(rep.onlyInBase).toEqual([]);
    expect(rep.onlyInInstruct).toEqual([]);
    expect(rep.warnings).toEqual([]);
    const small = await computeSimilarity(base, inst, { chunkBytes: 1000 });
    checkAgainstGolden(small, gold, `${model} (chunkBytes 1000)`);
  });

  it('writes a CSV that parses back to the report', async () => {
    const rep = await computeSimilarity(await open(join(FIX, model)), await open(join(FIX, model, 'model-instruct')));
    const csv = similarityCsv(rep);
    expect(csv.split('\n')[0]).toBe(SIMILARITY_CSV_HEADER);
    const parsed = Papa.parse<Record<string, string>>(csv.trimEnd(), { header: true });
    expect(parsed.errors).toEqual([]);
    expect(parsed.data.length).toBe(rep.rows.length);
    parsed.data.forEach((line, k) => {
      const r = rep.rows[k];
      if (!r) throw new Error('row count');
      expect(line.tensor).toBe(r.tensor);
      expect(line.layer).toBe(r.layer === null ? '' : String(r.layer));
      expect(line.module).toBe(r.module);
      expect(line.shape).toBe(r.shape.join('x'));
      expect(Number(line.numel)).toBe(r.numel);
      expectRel(Number(line.sigma), r.sigma, 1e-11, `csv ${r.tensor}`);
    });
    const mods = new Set(rep.rows.map((r) => r.module));
    for (const m of ['q_proj', 'down_proj', 'input_layernorm', 'post_attention_layernorm', 'embed_tokens', 'norm']) expect(mods).toContain(m);
    if (model === 'qwen2-tiny') for (const m of ['q_proj.bias', 'lm_head']) expect(mods).toContain(m);
    if (model === 'qwen3-tiny') for (const m of ['q_norm', 'k_norm']) expect(mods).toContain(m);
  });
});

describe('σ of the stories260K pair (BF16) vs pair_stats.json', () => {
  it('matches per-tensor σ, mean, min, max, embed_tokens and final norm', async () => {
    const stats = JSON.parse(await readFile(join(MODELS, 'pair_stats.json'), 'utf8')) as {
      sigma: { mean: number; min: number; max: number; n: number; embed_tokens: number; final_norm: number; per_tensor: Record<string, number> };
    };
    const rep = await computeSimilarity(await open(join(MODELS, 'stories260K-base')), await open(join(MODELS, 'stories260K-instruct')), { chunkBytes: 4096 });
    const g = stats.sigma;
    // pair_stats.json holds f32 reductions (torch): an independent numpy float64 σ differs from it by ≤ 1.4e-7
    // relative, so 1e-9 is out of reach here; 1e-6 still catches any real error (a wrong tensor or dtype).
    const tol = 1e-6;
    for (const [name, want] of Object.entries(g.per_tensor)) expectRel(rep.rows.find((r) => r.tensor === name)?.sigma, want, tol, name);
    expect(rep.summary.layers.nTensors).toBe(g.n);
    expectRel(rep.summary.paperFigure, g.mean, tol, 'mean');
    expectRel(rep.summary.layers.min?.sigma, g.min, tol, 'min');
    expectRel(rep.summary.layers.max?.sigma, g.max, tol, 'max');
    expectRel(rep.rows.find((r) => r.tensor === 'model.embed_tokens.weight')?.sigma, g.embed_tokens, tol, 'embed_tokens');
    expectRel(rep.rows.find((r) => r.module === 'norm')?.sigma, g.final_norm, tol, 'final norm');
    expect(rep.summary.allTensors.nTensors).toBe(47);
  });
});

/** A one-file checkpoint from f32 arrays, stored as `dtype`. */
async function memCheckpoint(name: string, tensors: Record<string, { shape: number[]; values: number[] }>, dtype: 'F32' | 'BF16' = 'F32'): Promise<Checkpoint> {
  const list = Object.entries(tensors).map(([n, t]) => {
    const data = encodeFromF32(new Float32Array(t.values), dtype);
    return { name: n, dtype, shape: t.shape, byteLength: data.byteLength, data };
  });
  return openCheckpoint({ name, files: new Map([['model.safetensors', safetensorsBlob(list)]]) });
}

const seq = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

describe('σ edge cases', () => {
  it('compares embed_tokens over the shared rows when tokens were added, with a warning', async () => {
    const b = seq(4 * 3, (i) => Math.sin(i + 1));
    const inst = seq(6 * 3, (i) => Math.sin(i + 1) * 1.1 + (i % 2 ? 0.01 : -0.02));
    const base = await memCheckpoint('b', { 'model.embed_tokens.weight': { shape: [4, 3], values: b }, 'model.layers.0.mlp.up_proj.weight': { shape: [2, 3], values: seq(6, (i) => i - 2) } });
    const ins = await memCheckpoint('i', { 'model.embed_tokens.weight': { shape: [6, 3], values: inst }, 'model.layers.0.mlp.up_proj.weight': { shape: [2, 3], values: seq(6, (i) => i - 1.5) }, 'lm_head.weight': { shape: [6, 3], values: inst } });
    const rep = await computeSimilarity(base, ins, { chunkBytes: 8 });
    const f = (x: number): number => Math.fround(x);
    let num = 0;
    let den = 0;
    for (let k = 0; k < 12; k++) {
      num += Math.abs(f(b[k] as number) - f(inst[k] as number));
      den += Math.abs(f(b[k] as number)) + Math.abs(f(inst[k] as number));
    }
    const emb = rep.rows.find((r) => r.tensor === 'model.embed_tokens.weight');
    expect(emb?.shape).toEqual([4, 3]);
    expect(emb?.numel).toBe(12);
    expectRel(emb?.sigma, num / den, 1e-12, 'shared-row σ');
    expect(rep.warnings.length).toBe(1);
    expect(rep.warnings[0]).toMatch(/embed_tokens.*4 rows.*6/);
    expect(rep.onlyInInstruct).toEqual(['lm_head.weight']);
    expectRel(rep.rows.find((r) => r.module === 'up_proj')?.sigma, 3 / (9 + 10), 1e-12, 'up_proj σ');
    expect(rep.rows[0]?.tensor).toBe('model.embed_tokens.weight');
  });

  it('names the tensor and both shapes on a shape mismatch elsewhere', async () => {
    const base = await memCheckpoint('b', { 'model.layers.0.self_attn.q_proj.weight': { shape: [2, 3], values: seq(6, (i) => i) } });
    const ins = await memCheckpoint('i', { 'model.layers.0.self_attn.q_proj.weight': { shape: [3, 2], values: seq(6, (i) => i) } });
    await expect(computeSimilarity(base, ins)).rejects.toThrow(SimilarityError);
    await expect(computeSimilarity(base, ins)).rejects.toThrow(/q_proj\.weight.*\[2,3\].*\[3,2\]/);
  });

  it('upcasts BF16 against F32 exactly and defines σ = 0 for two zero tensors', async () => {
    const vals = seq(8, (i) => 1 + i / 3);
    const base = await memCheckpoint('b', { 'model.norm.weight': { shape: [8], values: vals }, 'model.layers.0.input_layernorm.weight': { shape: [2], values: [0, 0] } }, 'BF16');
    const bf = vals.map((v) => bf16BitsToF32(f32ToBf16Bits(v)));
    expect(bf).not.toEqual(vals);
    const ins = await memCheckpoint('i', { 'model.norm.weight': { shape: [8], values: bf }, 'model.layers.0.input_layernorm.weight': { shape: [2], values: [0, 0] } });
    const rep = await computeSimilarity(base, ins);
    expect(rep.rows.map((r) => r.sigma)).toEqual([0, 0]);
  });

  it('stops with the signal reason when aborted', async () => {
    const base = await open(join(FIX, 'llama-tiny'));
    const inst = await open(join(FIX, 'llama-tiny', 'model-instruct'));
    const ctl = new AbortController();
    const run = computeSimilarity(base, inst, { chunkBytes: 1024, signal: ctl.signal, onProgress: (p) => p.bytesDone > 10_000 && ctl.abort(new Error('user cancelled')) });
    await expect(run).rejects.toThrow('user cancelled');
  });

  it('rejects checkpoints without a common tensor', async () => {
    const a = await memCheckpoint('a', { x: { shape: [1], values: [1] } });
    const b = await memCheckpoint('b', { y: { shape: [1], values: [1] } });
    await expect(computeSimilarity(a, b)).rejects.toThrow(/no tensor name in common/);
  });
});
