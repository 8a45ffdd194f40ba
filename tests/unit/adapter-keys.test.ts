/**
 * Adapters dropped back in (`shadowft merge`): keys checked against the Instruct model before merging. Expectations
 * from PEFT's formats: `save_pretrained` writes `base_model.model.<module>.lora_A.weight`; a `model.state_dict()`
 * keeps the adapter name (`….lora_A.default.weight`), read here as the same weight; other adapter names are refused
 * by name; an adapter for another model matches 0 keys; target_modules without tensors are reported.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { mergeCommand } from '../../src/cli/merge';
import { buildAdapterFiles } from '../../src/engine/graft/adapterFiles';
import { checkAdapterKeys, parsePeftKey } from '../../src/engine/graft/adapterKeys';
import { openCheckpoint } from '../../src/io/checkpoint';
import { readSafetensorsHeader, readTensorBytes, safetensorsBlob } from '../../src/io/safetensors';
import { modelFilesFromDir } from '../../src/node/files';
import { mergeLoadedAdapterZip } from '../../src/app/exports';
import { FIX, fixtureAdapter } from './adapter-fixture';

const INSTRUCT = join(FIX, 'llama-tiny', 'model-instruct');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Writes the llama-tiny fixture adapter with every key passed through `rename` (and `modules` kept). */
async function adapterDir(rename: (k: string) => string, keep?: (k: string) => boolean): Promise<string> {
  const ad = await fixtureAdapter('llama-tiny');
  const files = buildAdapterFiles(ad, { baseModelNameOrPath: 'llama-tiny-instruct' });
  const st = files['adapter_model.safetensors'];
  const h = await readSafetensorsHeader(st, 'a');
  const list = await Promise.all([...h.tensors.values()].filter((t) => keep?.(t.name) ?? true).map(async (t) => ({ name: rename(t.name), dtype: t.dtype, shape: t.shape, byteLength: t.end - t.begin, data: await readTensorBytes(st, t) })));
  const tmp = await mkdtemp(join(tmpdir(), 'shadowft-adapter-keys-'));
  dirs.push(tmp);
  await mkdir(join(tmp, 'adapter'));
  await writeFile(join(tmp, 'adapter', 'adapter_config.json'), files['adapter_config.json']);
  await writeFile(join(tmp, 'adapter', 'adapter_model.safetensors'), new Uint8Array(await safetensorsBlob(list, { format: 'pt' }).arrayBuffer()));
  return tmp;
}

async function merge(tmp: string): Promise<{ code: number; err: string }> {
  let err = '';
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return { code: await mergeCommand.run([INSTRUCT, join(tmp, 'adapter'), join(tmp, 'out')]), err };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}

describe('adapter keys against the model', () => {
  it('reads the ".default." adapter-name variant as the saved form (same merged bytes), and says so', async () => {
    const plain = await adapterDir((k) => k);
    const named = await adapterDir((k) => k.replace(/\.lora_([AB])\.weight$/, '.lora_$1.default.weight'));
    expect((await merge(plain)).code).toBe(0);
    const r = await merge(named);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/in-memory form with the adapter name .*\.lora_A\.default\.weight.*read as the saved form/);
    const a = await openCheckpoint(await modelFilesFromDir(join(plain, 'out')));
    const b = await openCheckpoint(await modelFilesFromDir(join(named, 'out')));
    for (const [name, loc] of a.tensors) {
      const other = b.tensors.get(name);
      expect(other, name).toBeDefined();
      expect(await readTensorBytes((other as typeof loc).file, (other as typeof loc).info), name).toEqual(await readTensorBytes(loc.file, loc.info));
    }
  });

  it('refuses another adapter name by name', async () => {
    const tmp = await adapterDir((k) => k.replace(/\.lora_([AB])\.weight$/, '.lora_$1.my_task.weight'));
    await expect(merge(tmp)).rejects.toThrow(/adapter named "my_task"/);
  });

  it('an adapter for another model: "0 of N matched", one adapter key and the nearest model key', async () => {
    const tmp = await adapterDir((k) => k.replace('base_model.model.model.layers.', 'base_model.model.transformer.h.'));
    const ad = await fixtureAdapter('llama-tiny');
    const n = ad.modules.size * 2;
    await expect(merge(tmp)).rejects.toThrow(new RegExp(`0 of ${n} adapter tensors matched a tensor of model-instruct: e\\.g\\. adapter key base_model\\.model\\.transformer\\.h\\.\\d+\\.\\S+\\.lora_[AB]\\.weight needs transformer\\.h\\.\\S+\\.weight; nearest model key: model\\.layers\\.\\d+\\.\\S+\\.weight`));
  });

  it('reports target_modules that have no tensors in the file', async () => {
    const tmp = await adapterDir((k) => k, (k) => /\.(q_proj|v_proj)\./.test(k));
    const r = await merge(tmp);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/target_modules lists down_proj, gate_proj, k_proj, o_proj, up_proj but the file has no LoRA tensors for them/);
  });

  it('unit: parsePeftKey and a partial match', () => {
    expect(parsePeftKey('base_model.model.model.layers.0.mlp.up_proj.lora_B.default.weight', 'w')).toEqual({ key: 'base_model.model.model.layers.0.mlp.up_proj.lora_B.weight', modulePath: 'model.layers.0.mlp.up_proj', which: 'B', adapterName: 'default' });
    expect(parsePeftKey('model.norm.weight', 'w')).toBeNull();
    const model = new Set(['model.layers.0.mlp.up_proj.weight']);
    expect(() => checkAdapterKeys(['base_model.model.model.layers.0.mlp.up_proj.lora_A.weight', 'base_model.model.model.layers.1.mlp.up_proj.lora_A.weight'], model, null, 'w', 'm')).toThrow(/1 of 2 adapter tensors matched.*layers\.1\.mlp\.up_proj\.lora_A\.weight.*nearest model key: model\.layers\.0\.mlp\.up_proj\.weight/);
  });
});

describe('"Load adapter" in the app (worker mergeLoadedAdapterZip)', () => {
  it('merges an adapter picked as files onto the loaded Instruct, with the key-check warnings; refuses a foreign one', async () => {
    const tmp = await adapterDir((k) => k.replace(/\.lora_([AB])\.weight$/, '.lora_$1.default.weight'));
    const files = await modelFilesFromDir(join(tmp, 'adapter'), 'my/adapter');
    const inst = await modelFilesFromDir(INSTRUCT);
    const ckpt = await openCheckpoint(inst);
    const z = await mergeLoadedAdapterZip(files, inst, ckpt, () => undefined, new AbortController().signal);
    expect(z.fileName).toBe('model-instruct-my_adapter-merged.zip');
    expect(z.mergedTensors).toBe((await fixtureAdapter('llama-tiny')).modules.size);
    expect(z.warnings.join('\n')).toMatch(/default\.weight/);
    expect(z.blob.size).toBeGreaterThan(ckpt.totalBytes);
    const foreign = await modelFilesFromDir(join(await adapterDir((k) => k.replace('model.layers.', 'decoder.blocks.')), 'adapter'));
    await expect(mergeLoadedAdapterZip(foreign, inst, ckpt, () => undefined, new AbortController().signal)).rejects.toThrow(/0 of \d+ adapter tensors matched.*nearest model key: model\.layers\./);
  });
});
