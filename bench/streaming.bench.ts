/**
 * Streaming costs on a generated real-shaped pair (SmolLM2-135M config, 10 of its 30 layers: 128 MB of BF16 per
 * model, ≈ 256 MB for the pair; tests/support/genPair.ts), measured side by side in one run:
 *  - sigma_scan_vs_raw_read = σ scan (computeSimilarity, Base + Instruct) / reading the same tensor bytes with
 *    Blob.slice(16 MiB).arrayBuffer() and nothing else;
 *  - merged_export_vs_raw_copy = merged export (planMergedModel with a random LoRA r 8 on all seven decoder linears,
 *    every file written to disk with the CLI's writeOutputFile) / copying the same Instruct files with
 *    Blob.slice(16 MiB) → FileHandle.write (same read and write path, no merge).
 * Each bench iteration times the baseline and the subject back to back (alternating which goes first; files are in
 * the page cache after generation), so every iteration yields one ratio under the same machine load; the printed
 * ratio is the median over 4 iterations, MB/s the median time. The vitest table shows each pair's total time.
 * memory_plan_vs_allocated is not measured: src/engine/plan/ (planMemory) did not exist when this was written.
 * Run: npm run bench (vitest bench --run); the ratios are printed as `name: value` lines at the end.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { writeOutputFile } from '../src/cli/merge';
import { computeSimilarity } from '../src/engine/analysis/similarity';
import { planMergedModel } from '../src/engine/graft/mergedModel';
import { TARGET_MODULES, type LoraModuleWeights } from '../src/engine/model/loraTypes';
import { openCheckpoint, type ModelFiles } from '../src/io/checkpoint';
import { modelFilesFromDir } from '../src/node/files';
import { genPair } from '../tests/support/genPair';

const CONFIG = '/work/shared/configs/HuggingFaceTB__SmolLM2-135M/config.json';
const CHUNK = 16 * 2 ** 20;
const OPTS = { time: 0, iterations: 4, warmupIterations: 0 };
const LAYERS = 10;

const tmp = await mkdtemp(join(tmpdir(), 'shadowft-bench-'));
const pair = await genPair({ config: JSON.parse(readFileSync(CONFIG, 'utf8')) as Record<string, unknown>, dir: tmp, layers: LAYERS });
const baseFiles = await modelFilesFromDir(pair.baseDir);
const instructFiles = await modelFilesFromDir(pair.instructDir);
const base = await openCheckpoint(baseFiles);
const instruct = await openCheckpoint(instructFiles);

/** Per-iteration times (ms) of each side, measured back to back in the same iteration. */
const times = new Map<string, number[]>();
const push = (k: string, ms: number): void => void times.set(k, [...(times.get(k) ?? []), ms]);
let iteration = 0;

/**
 * A bench body that times `baseline` and `subject` back to back (alternating which goes first), so that each
 * iteration gives one ratio measured under the same machine load.
 */
function paired(baseName: string, baseline: () => Promise<unknown>, subjectName: string, subject: () => Promise<unknown>): () => Promise<void> {
  return async () => {
    const order = iteration++ % 2 === 0 ? ([[baseName, baseline], [subjectName, subject]] as const) : ([[subjectName, subject], [baseName, baseline]] as const);
    for (const [name, fn] of order) {
      const t0 = performance.now();
      await fn();
      push(name, performance.now() - t0);
    }
  };
}

/** Reads every tensor's bytes of a checkpoint with Blob.slice in 16 MiB pieces. */
async function rawRead(): Promise<number> {
  let n = 0;
  for (const ck of [base, instruct]) {
    for (const { file, info } of ck.tensors.values()) {
      for (let p = info.begin; p < info.end; p += CHUNK) n += (await file.slice(p, Math.min(info.end, p + CHUNK)).arrayBuffer()).byteLength;
    }
  }
  return n;
}

/** A random LoRA (r 8, α 16) on every decoder linear of the Instruct checkpoint. */
function randomAdapter(): { settings: { r: number; alpha: number; dropout: number; useRslora: boolean; targetModules: typeof TARGET_MODULES }; modules: Map<string, LoraModuleWeights> } {
  const r = 8;
  let s = 12345;
  const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1) * 0.05);
  const modules = new Map<string, LoraModuleWeights>();
  for (const [name, { info }] of instruct.tensors) {
    const m = /^(model\.layers\.\d+\.(self_attn|mlp)\.([a-z_]+))\.weight$/.exec(name);
    if (!m || !(TARGET_MODULES as readonly string[]).includes(m[3] as string)) continue;
    const [out, inF] = info.shape as [number, number];
    modules.set(m[1] as string, { a: rand(r * inF), b: rand(out * r), inFeatures: inF, outFeatures: out });
  }
  return { settings: { r, alpha: 16, dropout: 0, useRslora: false, targetModules: TARGET_MODULES }, modules };
}
const adapter = randomAdapter();

let runs = 0;
async function freshDir(): Promise<string> {
  const d = join(tmp, `out-${runs++}`);
  await mkdir(d);
  return d;
}

async function mergedExport(): Promise<void> {
  const dir = await freshDir();
  const plan = await planMergedModel(instructFiles, adapter, { chunkBytes: CHUNK });
  for (const f of plan.files) await writeOutputFile(dir, f);
  await rm(dir, { recursive: true });
}

async function rawCopy(files: ModelFiles): Promise<void> {
  const dir = await freshDir();
  for (const [name, blob] of files.files) {
    const fh = await open(join(dir, name), 'w');
    try {
      for (let p = 0; p < blob.size; p += CHUNK) await fh.write(new Uint8Array(await blob.slice(p, Math.min(blob.size, p + CHUNK)).arrayBuffer()));
    } finally {
      await fh.close();
    }
  }
  await rm(dir, { recursive: true });
}

const label = `SmolLM2-135M shape, ${LAYERS} layers`;
describe(`σ scan of the pair (${(2 * pair.modelTensorBytes / 1e6).toFixed(0)} MB of BF16 tensors, ${label})`, () => {
  bench('raw read, then computeSimilarity (paired)', paired('raw_read', rawRead, 'sigma_scan', () => computeSimilarity(base, instruct)), OPTS);
});
describe(`merged export of the Instruct (${(pair.modelTensorBytes / 1e6).toFixed(0)} MB, LoRA r 8 on all linears)`, () => {
  bench('raw copy, then planMergedModel + writeOutputFile (paired)', paired('raw_copy', () => rawCopy(instructFiles), 'merged_export', mergedExport), OPTS);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
  const median = (xs: readonly number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
  const ratio = (num: string, den: string): string => {
    const a = times.get(num) ?? [];
    const b = times.get(den) ?? [];
    return median(a.map((x, k) => x / (b[k] as number))).toFixed(3);
  };
  const mbps = (bytes: number, k: string): string => (bytes / 1e6 / (median(times.get(k) ?? []) / 1000)).toFixed(1);
  const lines = [
    `sigma_scan_vs_raw_read: ${ratio('sigma_scan', 'raw_read')}`,
    `merged_export_vs_raw_copy: ${ratio('merged_export', 'raw_copy')}`,
    `sigma_scan_MB_per_s: ${mbps(2 * pair.modelTensorBytes, 'sigma_scan')}`,
    `raw_read_MB_per_s: ${mbps(2 * pair.modelTensorBytes, 'raw_read')}`,
    `merged_export_MB_per_s: ${mbps(pair.modelTensorBytes, 'merged_export')}`,
    `raw_copy_MB_per_s: ${mbps(pair.modelTensorBytes, 'raw_copy')}`,
  ];
  console.log(`\nstreaming (median over ${OPTS.iterations} paired iterations; memory_plan_vs_allocated is printed by bench/memoryPlan.bench.ts):\n${lines.join('\n')}`);
});
