/**
 * Merged Instruct model vs ../shared/fixtures case 4 (merge.safetensors: float64 W_I + 2·B·A rounded to F32, and
 * for the BF16 model the `bf16/` RNE keys), untargeted tensors byte-identical to model-instruct, sharding, tied
 * embeddings, rsLoRA scaling against an independent f64 loop, and error messages.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputFileBlob, planMergedModel, type MergedModelPlan } from '../../src/engine/graft/mergedModel';
import { parseSize, planShards, shardFileName } from '../../src/engine/graft/shards';
import { openCheckpoint, type ModelFiles } from '../../src/io/checkpoint';
import { decodeToF32, encodeFromF32 } from '../../src/io/dtype';
import type { LoraAdapter, LoraModuleWeights } from '../../src/engine/model/loraTypes';
import { readSafetensorsHeader, readTensorBytes, safetensorsBlob } from '../../src/io/safetensors';
import { modelFilesFromDir } from '../../src/node/files';
import { expectMergeClose, FIX, fixtureAdapter, MODELS, openSt, rawOf, referenceMerge, type StFile } from './adapter-fixture';

async function materialise(plan: MergedModelPlan, name = 'out'): Promise<ModelFiles> {
  const files = new Map<string, Blob>();
  for (const f of plan.files) {
    const b = await outputFileBlob(f);
    expect(b.size, f.name).toBe(f.size);
    files.set(f.name, b);
  }
  return { name, files };
}

async function instructFiles(model: string): Promise<ModelFiles> {
  return modelFilesFromDir(join(FIX, model, 'model-instruct'));
}

/** Checks merged weights against merge.safetensors and every other tensor byte for byte against Instruct. */
async function checkMerged(model: string, out: ModelFiles): Promise<void> {
  const ck = await openCheckpoint(out);
  const inst = await openSt(join(FIX, model, 'model-instruct', 'model.safetensors'));
  const gold = await openSt(join(FIX, model, 'merge.safetensors'));
  const targeted = [...gold.header.tensors.keys()].filter((k) => !k.startsWith('bf16/'));
  expect(targeted.length).toBe(14);
  expect([...ck.tensors.keys()].sort()).toEqual([...inst.header.tensors.keys()].sort());
  let off = 0;
  let total = 0;
  for (const [name, loc] of ck.tensors) {
    const got = await readTensorBytes(loc.file, loc.info);
    const src = inst.header.tensors.get(name);
    expect(loc.info.dtype, name).toBe(src?.dtype);
    expect(loc.info.shape, name).toEqual(src?.shape);
    if (!targeted.includes(name)) {
      expect(got, `${name} copied byte for byte`).toEqual(await rawOf(inst, name));
      continue;
    }
    if (loc.info.dtype === 'F32') {
      expectMergeClose(decodeToF32(got, 'F32'), decodeToF32(await rawOf(gold, name), 'F32'), `${model} ${name}`);
    } else {
      const [o, n] = await bf16Off(got, gold, `bf16/${name}`);
      off += o;
      total += n;
    }
  }
  expect(off, `${model}: BF16 elements off by one ulp (of ${total})`).toBeLessThanOrEqual(1e-4 * total);
  if (model === 'qwen2-tiny') expect(total).toBe(73_728);
}

/**
 * BF16 bits equal except by exactly one ulp; returns [elements off, elements]. The README allows ≤ 0.01% of the
 * elements off by one ulp, counted over all `bf16/` keys of a model (the golden A/B went through float64, so an f32
 * value within an ulp of a BF16 rounding tie may round the other way).
 */
async function bf16Off(got: Uint8Array, gold: StFile, key: string): Promise<[number, number]> {
  const g = new Uint16Array(got.slice().buffer);
  const w = new Uint16Array((await rawOf(gold, key)).slice().buffer);
  expect(g.length).toBe(w.length);
  let off = 0;
  for (let i = 0; i < w.length; i++) {
    if (g[i] === w[i]) continue;
    off++;
    expect(Math.abs((g[i] as number) - (w[i] as number)), `${key}[${i}] differs by more than 1 ulp`).toBe(1);
  }
  return [off, w.length];
}

describe.each(MODELS)('merged Instruct model of %s vs merge.safetensors', (model) => {
  it('merges the 14 targeted weights, copies the rest byte for byte, and re-reads as safetensors', async () => {
    const progress: number[] = [];
    const plan = await planMergedModel(await instructFiles(model), await fixtureAdapter(model), { onProgress: (p) => progress.push(p.bytesDone / p.bytesTotal) });
    expect(plan.scaling).toBe(2);
    expect(plan.files.map((f) => f.name)).toEqual(['model.safetensors', 'config.json']);
    expect(plan.mergedTensors.length).toBe(14);
    const out = await materialise(plan);
    expect(progress.at(-1)).toBe(1);
    const header = await readSafetensorsHeader(out.files.get('model.safetensors') as Blob, 'merged model.safetensors');
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.dataStart % 8).toBe(0);
    await checkMerged(model, out);
    const cfg = out.files.get('config.json') as Blob;
    expect(await cfg.text()).toBe(await ((await instructFiles(model)).files.get('config.json') as Blob).text());
  });

  it('shards at a small max size (index + names) and reads back identically, with tiny read chunks', async () => {
    const one = await materialise(await planMergedModel(await instructFiles(model), await fixtureAdapter(model)));
    const plan = await planMergedModel(await instructFiles(model), await fixtureAdapter(model), { maxShardSize: 60_000, chunkBytes: 1000 });
    const shards = plan.files.filter((f) => f.name.endsWith('.safetensors'));
    expect(shards.length).toBeGreaterThan(2);
    shards.forEach((f, i) => expect(f.name).toBe(shardFileName(i, shards.length)));
    expect(shards[0]?.name).toMatch(/^model-00001-of-\d{5}\.safetensors$/);
    const out = await materialise(plan);
    const index = JSON.parse(await (out.files.get('model.safetensors.index.json') as Blob).text()) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(index.metadata.total_size).toBe(plan.totalTensorBytes);
    expect(Object.keys(index.weight_map)).toEqual(Object.keys(index.weight_map).sort());
    const ck = await openCheckpoint(out);
    const ref = await openCheckpoint(one);
    expect(ck.fileNames.length).toBe(shards.length);
    for (const [name, loc] of ck.tensors) {
      expect(index.weight_map[name]).toBe(loc.fileName);
      const r = ref.tensors.get(name);
      if (!r) throw new Error(`missing ${name}`);
      expect(await readTensorBytes(loc.file, loc.info), name).toEqual(await readTensorBytes(r.file, r.info));
    }
    for (const s of shards) {
      const h = await readSafetensorsHeader(out.files.get(s.name) as Blob, s.name);
      const bytes = [...h.tensors.values()].reduce((a, t) => a + t.end - t.begin, 0);
      expect(bytes <= 60_000 || h.tensors.size === 1, s.name).toBe(true);
    }
    await checkMerged(model, out);
  });
});

describe('merged stories260K-instruct (BF16, tokenizer files)', () => {
  it('copies config, generation config, tokenizer and licence files unchanged and rounds merged weights to BF16', async () => {
    const src = await modelFilesFromDir('/work/shared/models/stories260K-instruct');
    let seed = 7;
    const rnd = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.2;
    const modules = new Map<string, LoraModuleWeights>();
    for (const [path, out] of [['model.layers.0.self_attn.q_proj', 64], ['model.layers.4.self_attn.v_proj', 32], ['model.layers.2.mlp.down_proj', 64]] as const) {
      const inF = path.endsWith('down_proj') ? 172 : 64;
      modules.set(path, { a: Float32Array.from({ length: 2 * inF }, rnd), b: Float32Array.from({ length: out * 2 }, rnd), inFeatures: inF, outFeatures: out });
    }
    const adapter: LoraAdapter = { settings: { r: 2, alpha: 3, dropout: 0, useRslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'] }, modules };
    const plan = await planMergedModel(src, adapter);
    expect(plan.scaling).toBe(1.5);
    expect(plan.files.map((f) => f.name)).toEqual(['model.safetensors', 'LICENSE', 'config.json', 'generation_config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    const out = await materialise(plan);
    for (const f of plan.files.slice(1)) expect(new Uint8Array(await (out.files.get(f.name) as Blob).arrayBuffer()), f.name).toEqual(new Uint8Array(await (src.files.get(f.name) as Blob).arrayBuffer()));
    const ck = await openCheckpoint(out);
    const inst = await openCheckpoint(src);
    expect(ck.tensors.size).toBe(47);
    for (const [name, loc] of ck.tensors) {
      const ref = inst.tensors.get(name);
      if (!ref) throw new Error(name);
      const got = await readTensorBytes(loc.file, loc.info);
      const w = modules.get(name.replace(/\.weight$/, ''));
      if (!w) {
        expect(got, name).toEqual(await readTensorBytes(ref.file, ref.info));
        continue;
      }
      const merged = referenceMerge(decodeToF32(await readTensorBytes(ref.file, ref.info), 'BF16'), w.a, w.b, w.outFeatures, w.inFeatures, 2, 1.5);
      expect(got, name).toEqual(encodeFromF32(merged, 'BF16'));
    }
  });
});

describe('merge options and errors', () => {
  it('uses α/√r with rsLoRA (checked against an independent f64 loop)', async () => {
    const ad = await fixtureAdapter('qwen3-tiny');
    const rs = { ...ad, settings: { ...ad.settings, useRslora: true } };
    const plan = await planMergedModel(await instructFiles('qwen3-tiny'), rs);
    expect(plan.scaling).toBe(4);
    const ck = await openCheckpoint(await materialise(plan));
    const inst = await openSt(join(FIX, 'qwen3-tiny', 'model-instruct', 'model.safetensors'));
    for (const path of ['model.layers.0.self_attn.q_proj', 'model.layers.1.mlp.down_proj']) {
      const w = ad.modules.get(path);
      const loc = ck.tensors.get(`${path}.weight`);
      if (!w || !loc) throw new Error(path);
      const want = referenceMerge(decodeToF32(await rawOf(inst, `${path}.weight`), 'F32'), w.a, w.b, w.outFeatures, w.inFeatures, 4, 4);
      expectMergeClose(decodeToF32(await readTensorBytes(loc.file, loc.info), 'F32'), want, path);
    }
  });

  it("keeps the Instruct's own head layout: lm_head written iff the Instruct files have it, whatever config.json says", async () => {
    const src = await instructFiles('qwen2-tiny');
    const cfg = JSON.parse(await (src.files.get('config.json') as Blob).text()) as Record<string, unknown>;
    const inst = await openCheckpoint(src);
    const head = inst.tensors.get('lm_head.weight');
    if (!head) throw new Error('qwen2-tiny Instruct has its own lm_head');
    // config.json says tied but the file ships a real head: transformers' loading would use it, so the export keeps it.
    const saysTied = new Map(src.files);
    saysTied.set('config.json', new Blob([JSON.stringify({ ...cfg, tie_word_embeddings: true })]));
    const ck = await openCheckpoint(await materialise(await planMergedModel({ name: 'says-tied', files: saysTied }, await fixtureAdapter('qwen2-tiny'))));
    const got = ck.tensors.get('lm_head.weight');
    expect(got).toBeDefined();
    expect(await readTensorBytes((got as NonNullable<typeof got>).file, (got as NonNullable<typeof got>).info)).toEqual(await readTensorBytes(head.file, head.info));
    // An Instruct without lm_head.weight stays without one.
    const list = await Promise.all([...inst.tensors.values()].filter((l) => l.info.name !== 'lm_head.weight').map(async (l) => ({ name: l.info.name, dtype: l.info.dtype, shape: l.info.shape, byteLength: l.info.end - l.info.begin, data: await readTensorBytes(l.file, l.info) })));
    const noHead = new Map(src.files);
    noHead.set('model.safetensors', safetensorsBlob(list));
    noHead.set('config.json', new Blob([JSON.stringify({ ...cfg, tie_word_embeddings: true })]));
    const ck2 = await openCheckpoint(await materialise(await planMergedModel({ name: 'tied', files: noHead }, await fixtureAdapter('qwen2-tiny'))));
    expect(ck2.tensors.has('lm_head.weight')).toBe(false);
    expect(ck2.tensors.has('model.embed_tokens.weight')).toBe(true);
  });

  it('names the module and both shapes when the adapter does not fit the model', async () => {
    await expect(planMergedModel(await instructFiles('qwen3-tiny'), await fixtureAdapter('llama-tiny'))).rejects.toThrow(/model\.layers\.0\.self_attn\.k_proj: lora_B·lora_A is \[32, 64\] but model-instruct model\.layers\.0\.self_attn\.k_proj\.weight is \[64,64\]/);
    const ad = await fixtureAdapter('llama-tiny');
    const mods = new Map(ad.modules);
    mods.set('model.layers.7.mlp.up_proj', mods.get('model.layers.0.mlp.up_proj') as never);
    await expect(planMergedModel(await instructFiles('llama-tiny'), { ...ad, modules: mods })).rejects.toThrow(/model-instruct has no tensor model\.layers\.7\.mlp\.up_proj\.weight/);
    const noCfg = await instructFiles('llama-tiny');
    const files = new Map(noCfg.files);
    files.delete('config.json');
    await expect(planMergedModel({ name: 'x', files }, ad)).rejects.toThrow(/config\.json is missing/);
  });

  it('stops with the signal reason when aborted mid-stream', async () => {
    const ctl = new AbortController();
    const plan = await planMergedModel(await instructFiles('llama-tiny'), await fixtureAdapter('llama-tiny'), { chunkBytes: 4096, signal: ctl.signal, onProgress: (p) => p.bytesDone > 50_000 && ctl.abort(new Error('stop')) });
    await expect(outputFileBlob(plan.files[0] as MergedModelPlan['files'][number])).rejects.toThrow('stop');
  });
});

describe('shard planning', () => {
  const t = (name: string, byteLength: number): { name: string; byteLength: number } => ({ name, byteLength });
  it('starts a new shard before a tensor that would overflow, and gives an oversized tensor its own shard', () => {
    const s = planShards([t('a', 40), t('b', 50), t('c', 10), t('d', 250), t('e', 1), t('f', 60), t('g', 40)], 100);
    expect(s.map((x) => [x.fileName, x.tensors.map((y) => y.name).join('')])).toEqual([
      ['model-00001-of-00004.safetensors', 'abc'], ['model-00002-of-00004.safetensors', 'd'], ['model-00003-of-00004.safetensors', 'ef'], ['model-00004-of-00004.safetensors', 'g'],
    ]);
    expect(planShards([t('a', 40), t('b', 60)], 100).map((x) => x.fileName)).toEqual(['model.safetensors']);
  });
  it('parses HF-style sizes', () => {
    expect(parseSize('5GB')).toBe(5e9);
    expect(parseSize('500MiB')).toBe(500 * 2 ** 20);
    expect(parseSize('2e9')).toBe(2e9);
    expect(parseSize(' 10 kb ')).toBe(10_000);
    expect(() => parseSize('5 parsecs')).toThrow(/cannot read size/);
  });
});
