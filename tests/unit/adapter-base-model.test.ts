/**
 * The adapter's base_model_name_or_path (engine/graft/adapterBaseModel.ts) and model card (adapterCard.ts): a bare
 * folder name made AutoPeftModelForCausalLM.from_pretrained(adapter_dir) work only from the folder's parent, so the
 * CLI writes the user's id, else the Instruct's Hub id (config.json `_name_or_path`, a Hugging Face cache path), else
 * the absolute path; the README.md card carries base_model and library_name: peft as PEFT's save_pretrained writes.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { withBaseModel } from '../../src/app/exports';
import { adapterBaseModel, hubIdFromCachePath, isBareFolderName, isHubId } from '../../src/engine/graft/adapterBaseModel';
import { buildAdapterFiles } from '../../src/engine/graft/adapterFiles';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import type { ModelFiles } from '../../src/io/checkpoint';
import type { ModelConfig } from '../../src/io/config/types';

const folder = (name: string, config?: Record<string, unknown>): ModelFiles => ({ name, files: new Map(config ? [['config.json', new Blob([JSON.stringify(config)])]] : []) });
const frontMatter = (md: string): Record<string, unknown> => parse(/^---\n([\s\S]*?)\n---\n/.exec(md)?.[1] ?? '') as Record<string, unknown>;

describe('adapter base_model_name_or_path', () => {
  it('prefers the given id, then the Hub id in config.json, then a cache path, then the absolute path', async () => {
    const hub = folder('Qwen3-8B', { model_type: 'qwen3', _name_or_path: 'Qwen/Qwen3-8B' });
    expect(await adapterBaseModel(hub, { given: '  my-org/tuned  ', path: '/m/Qwen3-8B' })).toEqual({ value: 'my-org/tuned', source: 'given' });
    expect(await adapterBaseModel(hub, { given: ' ', path: '/m/Qwen3-8B' })).toEqual({ value: 'Qwen/Qwen3-8B', source: 'config' });
    const local = folder('stories260K-instruct', { model_type: 'llama', _name_or_path: '/home/me/stories260K-instruct' });
    expect(await adapterBaseModel(local, { path: '/root/.cache/huggingface/hub/models--meta-llama--Llama-3.2-1B-Instruct/snapshots/abc123' })).toEqual({ value: 'meta-llama/Llama-3.2-1B-Instruct', source: 'cache-path' });
    expect(await adapterBaseModel(local, { path: '/work/models/stories260K-instruct' })).toEqual({ value: '/work/models/stories260K-instruct', source: 'path' });
    expect(await adapterBaseModel(folder('stories260K-instruct'))).toEqual({ value: 'stories260K-instruct', source: 'folder-name' });
  });

  it('the app (export panel): the typed id, else the loaded Instruct\'s config Hub id, else its folder name', async () => {
    const t = { adapter: { settings: { r: 1, alpha: 2, dropout: 0, useRslora: false, targetModules: [] }, modules: new Map() }, baseModel: 'b', instructModel: 'Qwen3-8B' };
    const hub = folder('Qwen3-8B', { _name_or_path: 'Qwen/Qwen3-8B' });
    expect((await withBaseModel(t, hub, '/data/Qwen3-8B')).baseModelNameOrPath).toBe('/data/Qwen3-8B');
    expect((await withBaseModel(t, hub, '')).baseModelNameOrPath).toBe('Qwen/Qwen3-8B');
    expect((await withBaseModel(t, folder('other', { _name_or_path: 'x/y' }))).baseModelNameOrPath).toBe('Qwen3-8B');
  });

  it('recognises Hub ids and cache paths, not local paths', () => {
    for (const id of ['Qwen/Qwen3-8B', 'meta-llama/Llama-3.1-8B-Instruct', 'a/b.c_d']) expect(isHubId(id), id).toBe(true);
    for (const p of ['/abs/x', './x', '../x', 'x', 'a/b/c', './.', '../..']) expect(isHubId(p), p).toBe(false);
    expect(hubIdFromCachePath('/c/models--Qwen--Qwen3-0.6B/snapshots/r1/')).toBe('Qwen/Qwen3-0.6B');
    expect(hubIdFromCachePath('/c/Qwen3-0.6B')).toBeNull();
    expect(isBareFolderName('stories260K-instruct')).toBe(true);
    expect(isBareFolderName('Qwen/Qwen3-8B')).toBe(false);
  });
});

describe('adapter model card (README.md)', () => {
  const cfg = { hiddenSize: 64, numLayers: 5 } as unknown as ModelConfig;
  const settings = defaultTrainSettings(cfg, 100);
  const adapter = { settings: { r: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj' as const] }, modules: new Map([['model.layers.0.self_attn.q_proj', { a: new Float32Array(4 * 64), b: new Float32Array(64 * 4), inFeatures: 64, outFeatures: 64 }]]) };

  it('names base_model and library_name: peft as PEFT writes them, with the training settings and the Shadow-FT note', () => {
    const f = buildAdapterFiles(adapter, { baseModelNameOrPath: 'Qwen/Qwen3-8B', card: { trainedOn: 'Qwen/Qwen3-8B-Base', training: settings, steps: 12 } });
    expect(JSON.parse(f['adapter_config.json']).base_model_name_or_path).toBe('Qwen/Qwen3-8B');
    const md = f['README.md'];
    expect(frontMatter(md)).toEqual({ base_model: 'Qwen/Qwen3-8B', library_name: 'peft', pipeline_tag: 'text-generation', tags: ['base_model:adapter:Qwen/Qwen3-8B', 'lora', 'transformers', 'shadow-ft'] });
    expect(md).toContain('trained on the Base model `Qwen/Qwen3-8B-Base`');
    expect(md).toContain('Shadow-FT');
    expect(md).toContain(`learning rate ${settings.learningRate}`);
    expect(md).toContain('(12 optimizer steps done)');
    expect(md).toContain('r 4, lora_alpha 8: scaling s = 2');
    expect(md).toContain('loads `Qwen/Qwen3-8B` from any working directory');
  });

  it('names the preference objective of a stage dpo run instead of the SFT loss', () => {
    const dpo = { ...settings, stage: 'dpo' as const, prefLoss: 'ipo' as const, prefBeta: 0.2, prefFtx: 0.5 };
    const md = buildAdapterFiles(adapter, { baseModelNameOrPath: 'Qwen/Qwen3-8B', card: { training: dpo } })['README.md'];
    expect(md).toContain('- stage dpo: pref_loss ipo, pref_beta 0.2, pref_ftx 0.5 on chosen/rejected pairs');
    expect(md).not.toContain('loss on assistant tokens only');
    expect(buildAdapterFiles(adapter, { baseModelNameOrPath: 'Qwen/Qwen3-8B', card: { training: settings } })['README.md']).toContain('loss on assistant tokens only');
  });

  it('says how to fix a bare folder name', () => {
    const md = buildAdapterFiles(adapter, { baseModelNameOrPath: 'stories260K-instruct' })['README.md'];
    expect(frontMatter(md).base_model).toBe('stories260K-instruct');
    expect(md).toMatch(/folder name `stories260K-instruct`: PEFT finds it only when run from the folder that contains it/);
    expect(md).not.toContain('## Training settings');
  });
});
