/**
 * Bounded memory on a real-shaped ≥ 1 GB sharded pair: a Qwen3-0.6B-shaped Base/Instruct pair (real config, 8 of
 * the 28 layers so that both models together are ≈ 1.13 GB of BF16; Base in 4 shards, Instruct in 3) is generated
 * on disk (tests/support/genPair.ts) and goes through
 *  (a) computeSimilarity: σ of five tensors against an independent f64 computation from the generator's values;
 *  (b) the merge CLI (`merge INSTRUCT ADAPTER OUT --max-shard-size 100MB`) with a random LoRA (r 8, α 16) on q/v:
 *      HF sharding rule, index (total_size, weight_map) against the shard headers, untargeted tensors byte-identical
 *      to the Instruct files, targeted ones equal to RNE_bf16(W + s·B·A) from an f64 triple loop;
 *  (b') mergedModelZip (the app's download) streamed to a file: every stored entry equals the CLI's file;
 *  (c) `node bin/shadowft.mjs similarity BASE INSTRUCT --csv`: progress on stderr, CSV columns as the app's, same σ.
 * Memory bound for (a), (b) and (b'): peak heapUsed + arrayBuffers (sampled every progress callback and every 20 ms) <
 * 2 × largest tensor bytes (embed_tokens, 311 MB) + 64 MiB. Reading whole tensors (two at a time) would already
 * reach that before any f32 decoding; streaming stays at a few 16 MiB chunks plus garbage not yet collected.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mergeCommand } from '../../src/cli/merge';
import { formatBytes } from '../../src/cli/progress';
import { computeSimilarity, type SimilarityReport } from '../../src/engine/analysis/similarity';
import { SIMILARITY_CSV_HEADER } from '../../src/engine/analysis/similarityCsv';
import { buildAdapterFiles } from '../../src/engine/graft/adapterFiles';
import { planMergedModel } from '../../src/engine/graft/mergedModel';
import { mergedModelZip } from '../../src/engine/graft/zip';
import type { LoraAdapter, LoraModuleWeights } from '../../src/engine/model/loraTypes';
import { openCheckpoint } from '../../src/io/checkpoint';
import { f32ToBf16Bits } from '../../src/io/dtype';
import { modelFilesFromDir } from '../../src/node/files';
import { genPair, tensorValues, type GenPair, type GenTensor } from '../support/genPair';
import { MemorySampler, mib } from '../support/memorySampler';
import { openShards, rawBytes, zipEntries, type RawSt } from '../support/rawFiles';
import { referenceMerge } from './adapter-fixture';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = '/work/shared/configs/Qwen__Qwen3-0.6B/config.json';
const MARGIN = 64 * 2 ** 20;
const R = 8;
const ALPHA = 16;

let tmp = '';
let pair: GenPair;
let report: SimilarityReport | null = null;
let lastAdapter: LoraAdapter | null = null;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'shadowft-stream-'));
  pair = await genPair({ config: JSON.parse(readFileSync(CONFIG, 'utf8')) as Record<string, unknown>, dir: tmp, layers: 8, baseShards: 4, instructShards: 3 });
}, 180_000);
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const bound = (): number => 2 * pair.largestTensorBytes + MARGIN;
const tensorOf = (name: string): GenTensor => pair.tensors.find((t) => t.name === name) as GenTensor;

/** Independent σ: every element decoded with a scalar BF16 → f32 bit copy, three plain f64 sums. */
function referenceSigma(t: GenTensor): number {
  const f = new Float32Array(2);
  const u = new Uint32Array(f.buffer);
  let d = 0;
  let sa = 0;
  let sb = 0;
  for (const c of tensorValues(t)) {
    for (let i = 0; i < c.base.length; i++) {
      u[0] = (c.base[i] as number) << 16;
      u[1] = (c.instruct[i] as number) << 16;
      const x = f[0] as number;
      const y = f[1] as number;
      d += Math.abs(x - y);
      sa += Math.abs(x);
      sb += Math.abs(y);
    }
  }
  return d / (sa + sb);
}

/** Deterministic uniform values in [-amp, amp). */
function uniform(n: number, seed: number, amp: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1) * amp);
}

describe('streaming σ scan and merged export on a Qwen3-0.6B-shaped sharded pair', () => {
  it('generated pair is ≥ 1 GB, sharded, with real Qwen3 names', async () => {
    expect(pair.totalFileBytes).toBeGreaterThanOrEqual(1e9);
    const names = pair.tensors.map((t) => t.name);
    expect(names).toContain('model.layers.7.self_attn.q_norm.weight');
    expect(names).not.toContain('lm_head.weight');
    expect(tensorOf('model.layers.0.self_attn.q_proj.weight').shape).toEqual([2048, 1024]);
    expect((await readdir(pair.baseDir)).filter((n) => n.endsWith('.safetensors')).length).toBe(4);
    expect((await readdir(pair.instructDir)).filter((n) => n.endsWith('.safetensors')).length).toBe(3);
  });

  it('computeSimilarity matches an independent σ and stays under the memory bound', async () => {
    const base = await openCheckpoint(await modelFilesFromDir(pair.baseDir));
    const instruct = await openCheckpoint(await modelFilesFromDir(pair.instructDir));
    const mem = new MemorySampler();
    const rep = await computeSimilarity(base, instruct, { onProgress: mem.sample });
    const m = mem.stop();
    console.info(`σ scan of ${(pair.totalFileBytes / 1e9).toFixed(2)} GB: peak JS memory ${mib(m.peak)} (baseline ${mib(m.baseline)}, ${m.samples} samples), bound ${mib(bound())}`);
    expect(m.peak).toBeLessThan(bound());
    expect(rep.rows.length).toBe(pair.tensors.length);
    expect([rep.onlyInBase, rep.onlyInInstruct, rep.warnings]).toEqual([[], [], []]);
    for (const name of ['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.3.self_attn.k_norm.weight', 'model.layers.7.mlp.down_proj.weight', 'model.norm.weight']) {
      const want = referenceSigma(tensorOf(name));
      const got = rep.rows.find((r) => r.tensor === name)?.sigma as number;
      expect(Math.abs(got - want), name).toBeLessThanOrEqual(1e-9 * want);
    }
    report = rep;
  }, 300_000);

  it('merge CLI writes HF shards + index; untargeted tensors byte-identical, q/v = RNE(W + s·B·A); memory bounded', async () => {
    const adapterDir = join(tmp, 'adapter');
    const outDir = join(tmp, 'merged');
    const modules = new Map<string, LoraModuleWeights>();
    for (let l = 0; l < 8; l++) {
      for (const m of ['q_proj', 'v_proj']) {
        const [out, inF] = tensorOf(`model.layers.${l}.self_attn.${m}.weight`).shape as [number, number];
        modules.set(`model.layers.${l}.self_attn.${m}`, { a: uniform(R * inF, 11 + 2 * l, 0.05), b: uniform(out * R, 12 + 2 * l + (m === 'v_proj' ? 100 : 0), 0.05), inFeatures: inF, outFeatures: out });
      }
    }
    const adapter: LoraAdapter = { settings: { r: R, alpha: ALPHA, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj'] }, modules };
    lastAdapter = adapter;
    const files = buildAdapterFiles(adapter, { baseModelNameOrPath: 'qwen3-shaped-instruct' });
    await mkdir(adapterDir);
    await writeFile(join(adapterDir, 'adapter_config.json'), files['adapter_config.json']);
    await writeFile(join(adapterDir, 'adapter_model.safetensors'), new Uint8Array(await files['adapter_model.safetensors'].arrayBuffer()));
    const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const mem = new MemorySampler();
    try {
      expect(await mergeCommand.run([pair.instructDir, adapterDir, outDir, '--max-shard-size', '100MB'])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    const m = mem.stop();
    console.info(`merge export of ${(pair.modelTensorBytes / 1e9).toFixed(2)} GB: peak JS memory ${mib(m.peak)} (baseline ${mib(m.baseline)}, ${m.samples} samples), bound ${mib(bound())}`);
    expect(m.peak).toBeLessThan(bound());

    // Index and shards: HF greedy rule (a shard closes when the next tensor would pass 100 MB), map = headers.
    const index = JSON.parse(await readFile(join(outDir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(index.metadata.total_size).toBe(pair.modelTensorBytes);
    expect(Object.keys(index.weight_map).sort()).toEqual(pair.tensors.map((t) => t.name).sort());
    const shardNames = (await readdir(outDir)).filter((n) => n.endsWith('.safetensors')).sort();
    expect(shardNames.length).toBeGreaterThanOrEqual(4);
    expect(shardNames.every((n, i) => n === `model-${String(i + 1).padStart(5, '0')}-of-${String(shardNames.length).padStart(5, '0')}.safetensors`)).toBe(true);
    const out = await openShards(outDir);
    const src = await openShards(pair.instructDir);
    try {
      let order: string[] = [];
      let prev: number | null = null;
      for (const s of shardNames) {
        const h = (out.files.get(s) as RawSt).header;
        const names = Object.keys(h).sort((a, b) => (h[a] as { data_offsets: number[] }).data_offsets[0]! - (h[b] as { data_offsets: number[] }).data_offsets[0]!);
        const sizes = names.map((n) => tensorOf(n).byteLength);
        const total = sizes.reduce((a, b) => a + b, 0);
        expect(total <= 100e6 || names.length === 1, s).toBe(true);
        if (prev !== null) expect(prev + (sizes[0] as number), s).toBeGreaterThan(100e6);
        prev = total;
        for (const n of names) {
          expect(index.weight_map[n], n).toBe(s);
          expect([h[n]?.dtype, h[n]?.shape], n).toEqual(['BF16', tensorOf(n).shape]);
        }
        order = order.concat(names);
      }
      // HF sharding keeps the source order across shards; inside a shard, safetensors' save_file lays tensors
      // out by dtype alignment then name (all BF16 here: by name).
      const shardIdx = pair.tensors.map((t) => shardNames.indexOf(index.weight_map[t.name] as string));
      expect(shardIdx.every((k, i) => i === 0 || k >= (shardIdx[i - 1] as number))).toBe(true);
      expect(order).toEqual(shardNames.flatMap((s) => pair.tensors.map((t) => t.name).filter((n) => index.weight_map[n] === s).sort()));

      const s = ALPHA / R;
      const exact = new Set(['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.v_proj.weight', 'model.layers.7.self_attn.q_proj.weight', 'model.layers.7.self_attn.v_proj.weight']);
      const step = 16 * 2 ** 20;
      for (const t of pair.tensors) {
        const lora = modules.get(t.name.replace(/\.weight$/, ''));
        const o = out.of.get(t.name) as RawSt;
        const i = src.of.get(t.name) as RawSt;
        if (!lora) {
          for (let p = 0; p < t.byteLength; p += step) {
            const q = Math.min(t.byteLength, p + step);
            expect((await rawBytes(o, t.name, p, q)).equals(await rawBytes(i, t.name, p, q)), t.name).toBe(true);
          }
          continue;
        }
        const got = new Uint16Array(new Uint8Array(await rawBytes(o, t.name)).buffer);
        const wBits = new Uint16Array(new Uint8Array(await rawBytes(i, t.name)).buffer);
        expect(got.some((v, k) => v !== wBits[k]), `${t.name} changed`).toBe(true);
        if (!exact.has(t.name)) continue;
        const w = new Float32Array(new Uint32Array(Array.from(wBits, (b) => b << 16)).buffer);
        const want = referenceMerge(w, lora.a, lora.b, lora.outFeatures, lora.inFeatures, R, s);
        let bad = 0;
        for (let k = 0; k < want.length; k++) if (f32ToBf16Bits(want[k] as number) !== got[k]) bad++;
        expect(bad, `${t.name}: elements differing from RNE_bf16(W + s·B·A)`).toBe(0);
      }
    } finally {
      for (const f of [...out.files.values(), ...src.files.values()]) await f.fh.close();
    }
    expect((await readdir(outDir)).filter((n) => !n.endsWith('.safetensors')).sort()).toEqual(['config.json', 'model.safetensors.index.json', 'tokenizer_config.json']);
  }, 300_000);

  it('mergedModelZip (the app export) streams the same merged files into a zip with bounded memory', async () => {
    if (!lastAdapter) throw new Error('needs the adapter of the merge CLI test above');
    const mem = new MemorySampler();
    const plan = await planMergedModel(await modelFilesFromDir(pair.instructDir), lastAdapter, { maxShardSize: 100e6, onProgress: mem.sample });
    const res = mergedModelZip(plan, { folder: 'merged', lastModified: new Date(0) });
    const zipPath = join(tmp, 'merged.zip');
    const fh = await open(zipPath, 'w');
    let written = 0;
    try {
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
        await fh.write(part);
        written += part.byteLength;
        mem.sample();
      }
    } finally {
      await fh.close();
    }
    const m = mem.stop();
    console.info(`zip export of ${(written / 1e9).toFixed(2)} GB: peak JS memory ${mib(m.peak)} (baseline ${mib(m.baseline)}, ${m.samples} samples), bound ${mib(bound())}`);
    expect(m.peak).toBeLessThan(bound());
    expect(written).toBe(Number(res.headers.get('Content-Length')));
    // Every stored entry equals the file the merge CLI wrote (verified above).
    const entries = await zipEntries(zipPath);
    const outDir = join(tmp, 'merged');
    expect(entries.map((e) => e.name).sort()).toEqual((await readdir(outDir)).map((n) => `merged/${n}`).sort());
    const z = await open(zipPath, 'r');
    try {
      for (const e of entries) {
        const f = await open(join(outDir, e.name.slice('merged/'.length)), 'r');
        try {
          expect((await f.stat()).size, e.name).toBe(e.size);
          for (let p = 0; p < e.size; p += 16 * 2 ** 20) {
            const n = Math.min(16 * 2 ** 20, e.size - p);
            const [a, b] = [Buffer.alloc(n), Buffer.alloc(n)];
            await z.read(a, 0, n, e.dataOffset + p);
            await f.read(b, 0, n, p);
            expect(a.equals(b), `${e.name} at ${p}`).toBe(true);
          }
        } finally {
          await f.close();
        }
      }
    } finally {
      await z.close();
    }
  }, 300_000);

  it('`shadowft similarity` on the pair prints progress on stderr and writes the app CSV with the same σ', async () => {
    const csv = join(tmp, 'sigma.csv');
    const child = spawn(process.execPath, [join(ROOT, 'bin/shadowft.mjs'), 'similarity', pair.baseDir, pair.instructDir, '--csv', csv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/paper figure \(unweighted mean over model\.layers\.N tensors\): \d/);
    const progress = stderr.split('\n').filter((l) => /^σ +\d+%/.test(l));
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect(progress.at(-1)).toContain(`σ 100%  ${formatBytes(2 * pair.modelTensorBytes)} / ${formatBytes(2 * pair.modelTensorBytes)}`);
    expect(stderr).toContain(`wrote ${pair.tensors.length} rows to ${csv}`);
    const text = await readFile(csv, 'utf8');
    expect(text.split('\n')[0]).toBe(SIMILARITY_CSV_HEADER);
    const rows = Papa.parse<Record<string, string>>(text.trimEnd(), { header: true }).data;
    const rep = report ?? (await computeSimilarity(await openCheckpoint(await modelFilesFromDir(pair.baseDir)), await openCheckpoint(await modelFilesFromDir(pair.instructDir))));
    expect(rows.map((r) => r.tensor)).toEqual(rep.rows.map((r) => r.tensor));
    rows.forEach((r, k) => {
      const want = rep.rows[k];
      expect([r.layer, r.module, r.shape, Number(r.numel)], r.tensor).toEqual([want?.layer === null ? '' : String(want?.layer), want?.module, want?.shape.join('x'), want?.numel]);
      expect(Math.abs(Number(r.sigma) - (want?.sigma as number)), r.tensor).toBeLessThanOrEqual(1e-11 * (want?.sigma as number));
    });
  }, 300_000);
});
