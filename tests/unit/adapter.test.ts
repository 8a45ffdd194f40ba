/**
 * PEFT adapter files: buildAdapterFiles writes the fixture's trained LoRA (../shared/fixtures case 2, `final/`
 * tensors) bit for bit under PEFT key names with the PEFT config; readAdapterFiles reads it back and rejects
 * malformed adapters with clear errors.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdapterError, buildAdapterFiles, readAdapterFiles } from '../../src/engine/graft/adapterFiles';
import { adapterConfigJson } from '../../src/engine/graft/adapterConfig';
import type { LoraAdapter } from '../../src/engine/model/loraTypes';
import type { ModelFiles } from '../../src/io/checkpoint';
import { bf16BitsToF32, encodeFromF32 } from '../../src/io/dtype';
import { readSafetensorsHeader, readTensorBytes, safetensorsBlob } from '../../src/io/safetensors';
import { FIX, FIXTURE_SETTINGS, fixtureAdapter, fixturePeftTensors, MODELS, openSt, rawOf } from './adapter-fixture';

const files = (m: Record<string, Blob | string>): ModelFiles => ({ name: 'adapter', files: new Map(Object.entries(m).map(([k, v]) => [k, typeof v === 'string' ? new Blob([v]) : v])) });

describe.each(MODELS)('PEFT adapter of %s', (model) => {
  it('writes the PEFT config and the final/ LoRA tensors bit for bit under PEFT keys', async () => {
    const adapter = await fixtureAdapter(model);
    const out = buildAdapterFiles(adapter, { baseModelNameOrPath: 'org/model-instruct' });
    const cfg = JSON.parse(out['adapter_config.json']) as Record<string, unknown>;
    expect(cfg).toMatchObject({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, lora_dropout: 0, bias: 'none', fan_in_fan_out: false,
      use_rslora: false, base_model_name_or_path: 'org/model-instruct', inference_mode: true, modules_to_save: null,
      init_lora_weights: true, layers_to_transform: null, use_dora: false,
    });
    expect(cfg.target_modules).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const ref = (JSON.parse(await readFile(join(FIX, model, 'lora_step.json'), 'utf8')) as { adapter_config: Record<string, unknown> }).adapter_config;
    for (const [k, v] of Object.entries(ref)) {
      if (k === 'target_modules') expect([...(cfg[k] as string[])].sort()).toEqual([...(v as string[])].sort());
      else expect(cfg[k], k).toEqual(v);
    }
    expect(Object.keys(cfg)).toEqual(Object.keys(cfg).sort());

    const st = out['adapter_model.safetensors'];
    const header = await readSafetensorsHeader(st, 'adapter_model.safetensors');
    expect(header.metadata).toEqual({ format: 'pt' });
    const fix = await openSt(join(FIX, model, 'lora_step.safetensors'));
    const want = [...fix.header.tensors.keys()].filter((k) => k.startsWith('final/')).map((k) => k.slice(6)).sort();
    expect([...header.tensors.keys()]).toEqual(want);
    expect(want.length).toBe(2 * 7 * 2);
    for (const [name, info] of header.tensors) {
      const src = fix.header.tensors.get(`final/${name}`);
      expect(info.dtype).toBe('F32');
      expect(info.shape, name).toEqual(src?.shape);
      expect(await readTensorBytes(st, info), name).toEqual(await rawOf(fix, `final/${name}`));
    }
    expect(header.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape[0]).toBe(4);
    expect(header.tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight')?.shape[1]).toBe(4);
  });

  it('reads its own files back to the same adapter', async () => {
    const adapter = await fixtureAdapter(model);
    const out = buildAdapterFiles(adapter, { baseModelNameOrPath: 'x' });
    const back = await readAdapterFiles(files(out));
    expect(back.settings).toEqual(FIXTURE_SETTINGS);
    expect([...back.modules.keys()]).toEqual([...adapter.modules.keys()]);
    for (const [path, w] of adapter.modules) {
      const b = back.modules.get(path);
      expect(b?.inFeatures).toBe(w.inFeatures);
      expect(b?.outFeatures).toBe(w.outFeatures);
      expect(b?.a).toEqual(w.a);
      expect(b?.b).toEqual(w.b);
    }
  });
});

describe('readAdapterFiles errors and variants', () => {
  const cfgText = (over: Record<string, unknown> = {}): string => JSON.stringify({ ...JSON.parse(adapterConfigJson(FIXTURE_SETTINGS, 'x')), ...over });
  async function stFrom(mut: (m: Map<string, { shape: number[]; values: Float32Array }>) => void, dtype: 'F32' | 'BF16' = 'F32'): Promise<Blob> {
    const m = new Map([...(await fixturePeftTensors('llama-tiny'))].map(([k, t]) => [k, { shape: [...t.shape], values: t.values }]));
    mut(m);
    return safetensorsBlob([...m].map(([name, t]) => {
      const data = encodeFromF32(t.values, dtype);
      return { name, dtype, shape: t.shape, byteLength: data.byteLength, data };
    }));
  }
  const A0 = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';

  it('names missing files', async () => {
    const st = await stFrom(() => undefined);
    await expect(readAdapterFiles(files({ 'adapter_model.safetensors': st }))).rejects.toThrow(/adapter_config\.json is missing/);
    await expect(readAdapterFiles(files({ 'adapter_config.json': cfgText(), 'adapter_model.bin': 'x' }))).rejects.toThrow(/safe_serialization/);
  });

  it('rejects configs a plain merge cannot express', async () => {
    const st = await stFrom(() => undefined);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ peft_type: 'IA3' }, /peft_type is "IA3"/],
      [{ use_dora: true }, /DoRA/],
      [{ r: 0 }, /r must be a positive integer/],
      [{ bias: 'all' }, /bias/],
      [{ rank_pattern: { q_proj: 8 } }, /rank_pattern/],
      [{ modules_to_save: ['lm_head'] }, /modules_to_save/],
      [{ target_modules: ['q_proj', 'lm_head'] }, /lm_head not supported/],
      [{ target_modules: ['q_proj'] }, /down_proj is not in target_modules q_proj/],
    ];
    for (const [over, re] of cases) {
      await expect(readAdapterFiles(files({ 'adapter_config.json': cfgText(over), 'adapter_model.safetensors': st })), JSON.stringify(over)).rejects.toThrow(re);
    }
    await expect(readAdapterFiles(files({ 'adapter_config.json': '{oops', 'adapter_model.safetensors': st }))).rejects.toThrow(/not valid JSON/);
  });

  it('rejects bad keys and shapes, naming the tensor', async () => {
    const cfg = cfgText();
    const bad = async (mut: (m: Map<string, { shape: number[]; values: Float32Array }>) => void, re: RegExp): Promise<void> => {
      const p = readAdapterFiles(files({ 'adapter_config.json': cfg, 'adapter_model.safetensors': await stFrom(mut) }));
      await expect(p).rejects.toThrow(AdapterError);
      await expect(readAdapterFiles(files({ 'adapter_config.json': cfg, 'adapter_model.safetensors': await stFrom(mut) }))).rejects.toThrow(re);
    };
    await bad((m) => m.delete(A0), /layers\.0\.self_attn\.q_proj has lora_B but no lora_A/);
    await bad((m) => m.set('base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector', { shape: [64], values: new Float32Array(64) }), /unexpected tensor .*lora_magnitude_vector/);
    await bad((m) => m.set(A0, { shape: [5, 64], values: new Float32Array(320) }), /q_proj\.lora_A\.weight has shape \[5,64\], expected \[r=4, in_features\]/);
    await bad((m) => {
      const t = m.get(A0);
      if (t) m.set(A0.replace('self_attn.q_proj', 'mlp.q_proj'), t);
    }, /mlp\.q_proj is not a LoRA-targetable module/);
  });

  it('accepts BF16 weights (exact upcast) and a target_modules string', async () => {
    const st = await stFrom(() => undefined, 'BF16');
    const ad: LoraAdapter = await readAdapterFiles(files({ 'adapter_config.json': cfgText({ target_modules: 'all-linear' }), 'adapter_model.safetensors': st }));
    expect(ad.settings.targetModules).toEqual(FIXTURE_SETTINGS.targetModules);
    const src = (await fixturePeftTensors('llama-tiny')).get(A0)?.values as Float32Array;
    const got = ad.modules.get('model.layers.0.self_attn.q_proj')?.a as Float32Array;
    const bits = new Uint16Array(encodeFromF32(src, 'BF16').buffer);
    expect(Array.from(got)).toEqual(Array.from(bits, (h) => bf16BitsToF32(h)));
  });

  it('refuses to write a module outside target_modules or with a wrong array length', async () => {
    const ad = await fixtureAdapter('llama-tiny');
    expect(() => buildAdapterFiles({ ...ad, settings: { ...ad.settings, targetModules: ['q_proj'] } }, { baseModelNameOrPath: 'x' })).toThrow(/not in target_modules/);
    const mods = new Map(ad.modules);
    const w = mods.get('model.layers.0.mlp.up_proj');
    if (!w) throw new Error('fixture');
    mods.set('model.layers.0.mlp.up_proj', { ...w, a: w.a.subarray(1) });
    expect(() => buildAdapterFiles({ ...ad, modules: mods }, { baseModelNameOrPath: 'x' })).toThrow(/up_proj lora_A has 255 values, expected r × in = 4 × 64/);
  });
});
