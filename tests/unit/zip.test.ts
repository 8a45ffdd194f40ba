/**
 * Zip exports re-read with an independent unzipper (fflate unzipSync): file names, Content-Length, the adapter's
 * keys/shapes/bytes, and merged weights equal to W_I + s·B·A (independent f64 loop, then the stored dtype; and the
 * fixture's merge.safetensors).
 */
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { planMergedModel } from '../../src/engine/graft/mergedModel';
import { adapterZip, mergedModelZip } from '../../src/engine/graft/zip';
import { readAdapterFiles } from '../../src/engine/graft/adapterFiles';
import { openCheckpoint, type ModelFiles } from '../../src/io/checkpoint';
import { decodeToF32, encodeFromF32 } from '../../src/io/dtype';
import { readSafetensorsHeader, readTensorBytes } from '../../src/io/safetensors';
import { modelFilesFromDir } from '../../src/node/files';
import { expectMergeClose, FIX, fixtureAdapter, openSt, rawOf, referenceMerge } from './adapter-fixture';

async function unzip(res: Response): Promise<Record<string, Uint8Array>> {
  const bytes = new Uint8Array(await res.clone().arrayBuffer());
  expect(Number(res.headers.get('Content-Length'))).toBe(bytes.byteLength);
  return unzipSync(bytes);
}

const asFiles = (name: string, entries: Record<string, Uint8Array>, prefix = ''): ModelFiles => ({
  name,
  files: new Map(Object.entries(entries).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), new Blob([v as Uint8Array<ArrayBuffer>])])),
});

describe('adapter zip', () => {
  it('holds adapter_config.json, adapter_model.safetensors with the trained tensors, and the README.md model card', async () => {
    const adapter = await fixtureAdapter('qwen2-tiny');
    const entries = await unzip(adapterZip(adapter, { baseModelNameOrPath: 'org/instruct', folder: 'my-adapter' }));
    expect(Object.keys(entries).sort()).toEqual(['my-adapter/README.md', 'my-adapter/adapter_config.json', 'my-adapter/adapter_model.safetensors']);
    expect(new TextDecoder().decode(entries['my-adapter/README.md'])).toMatch(/^---\nbase_model: org\/instruct\nlibrary_name: peft\n/);
    const cfg = JSON.parse(new TextDecoder().decode(entries['my-adapter/adapter_config.json'])) as Record<string, unknown>;
    expect(cfg.base_model_name_or_path).toBe('org/instruct');
    expect(cfg.r).toBe(4);
    const st = new Blob([entries['my-adapter/adapter_model.safetensors'] as Uint8Array<ArrayBuffer>]);
    const h = await readSafetensorsHeader(st, 'zip adapter_model.safetensors');
    expect(h.tensors.size).toBe(28);
    const fix = await openSt(join(FIX, 'qwen2-tiny', 'lora_step.safetensors'));
    for (const [name, info] of h.tensors) {
      expect(info.shape, name).toEqual(fix.header.tensors.get(`final/${name}`)?.shape);
      expect(await readTensorBytes(st, info), name).toEqual(await rawOf(fix, `final/${name}`));
    }
    const back = await readAdapterFiles(asFiles('unzipped', entries, 'my-adapter/'));
    expect(back.modules.get('model.layers.1.mlp.gate_proj')?.b).toEqual(adapter.modules.get('model.layers.1.mlp.gate_proj')?.b);
  });
});

describe.each(['llama-tiny', 'qwen2-tiny'])('merged model zip of %s', (model) => {
  it('streams the sharded merged model; weights equal W_I + s·B·A', async () => {
    const adapter = await fixtureAdapter(model);
    const plan = await planMergedModel(await modelFilesFromDir(join(FIX, model, 'model-instruct')), adapter, { maxShardSize: 100_000 });
    const entries = await unzip(mergedModelZip(plan));
    const names = Object.keys(entries).sort();
    expect(names).toEqual(plan.files.map((f) => f.name).sort());
    expect(names).toContain('model.safetensors.index.json');
    expect(names).toContain('config.json');
    expect(names.filter((n) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(n)).length).toBeGreaterThan(1);
    const ck = await openCheckpoint(asFiles(model, entries));
    const inst = await openSt(join(FIX, model, 'model-instruct', 'model.safetensors'));
    const gold = await openSt(join(FIX, model, 'merge.safetensors'));
    for (const [path, w] of adapter.modules) {
      const name = `${path}.weight`;
      const loc = ck.tensors.get(name);
      if (!loc) throw new Error(`zip lacks ${name}`);
      const dtype = loc.info.dtype as 'F32' | 'BF16';
      const wi = decodeToF32(await rawOf(inst, name), dtype);
      const got = decodeToF32(await readTensorBytes(loc.file, loc.info), dtype);
      const ref = referenceMerge(wi, w.a, w.b, w.outFeatures, w.inFeatures, 4, 2);
      const want = dtype === 'F32' ? ref : decodeToF32(encodeFromF32(ref, 'BF16'), 'BF16');
      expect(Array.from(got), name).toEqual(Array.from(want));
      if (dtype === 'F32') expectMergeClose(got, decodeToF32(await rawOf(gold, name), 'F32'), name);
    }
    for (const [name, loc] of ck.tensors) {
      if (adapter.modules.has(name.replace(/\.weight$/, ''))) continue;
      expect(await readTensorBytes(loc.file, loc.info), name).toEqual(await rawOf(inst, name));
    }
  });
});

describe('merged model zip streaming', () => {
  it('computes tensors only as the archive is read (first body chunk leaves most of the model unread)', async () => {
    let done = 0;
    let total = 0;
    const plan = await planMergedModel(await modelFilesFromDir(join(FIX, 'qwen3-tiny', 'model-instruct')), await fixtureAdapter('qwen3-tiny'), {
      chunkBytes: 4096,
      onProgress: (p) => {
        done = p.bytesDone;
        total = p.bytesTotal;
      },
    });
    const reader = (mergedModelZip(plan).body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect(done).toBeLessThan(plan.totalTensorBytes / 4);
    await reader.cancel();
    let n = 0;
    const all = (mergedModelZip(plan).body as ReadableStream<Uint8Array>).getReader();
    for (let r = await all.read(); !r.done; r = await all.read()) n += r.value.byteLength;
    expect(n).toBeGreaterThan(plan.totalTensorBytes);
    expect(total).toBe(plan.totalTensorBytes);
    expect(done).toBe(plan.totalTensorBytes);
  });
});
