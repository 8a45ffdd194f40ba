/**
 * The graft's derivation check (src/engine/graft/derivation.ts) on real tunes of the demo pair made by our trainer:
 * one LoRA run on the Base (demo recipe: r 8, α 16, lr 1e-3, cosine, 10% warmup) captured after 5, 20 and 60
 * optimizer steps, and a full-rank LoRA run (r 64 = the hidden size, so every linear weight may change in every
 * direction, as a full fine-tune of the decoder linears does) after 5 and 40 steps. Each is grafted both as the
 * adapter folder and as the Base merged with it (W_B + s·B·A in BF16: what PEFT merge_and_unload saves, and what a
 * full fine-tune hands over: a complete model folder). Every one must be accepted — the old check refused the 20-step
 * tune (σ(W_B′, W_B) / σ(W_B, W_I) = 0.546 > 0.5) — while a 20-step LoRA tune of the Instruct (the conventional run),
 * merged, is refused as closer to the Instruct. A real full fine-tune (torch AdamW on every tensor) is checked by
 * scripts/real_tools/check.py (`npm run check:real-tools`).
 */
import { openAsBlob } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOutputFile } from '../../src/cli/merge';
import { buildAdapterFiles } from '../../src/engine/graft/adapterFiles';
import { planGraftTuned } from '../../src/engine/graft/graftTuned';
import { planMergedModel } from '../../src/engine/graft/mergedModel';
import type { GpuContext } from '../../src/engine/gpu/context';
import type { LoraAdapter } from '../../src/engine/model/loraTypes';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { runTraining } from '../../src/engine/train/run';
import type { TrainSettings } from '../../src/engine/train/types';
import { openCheckpoint, type Checkpoint, type ModelFiles } from '../../src/io/checkpoint';
import { readModelConfig } from '../../src/io/config';
import type { ModelConfig } from '../../src/io/config/types';
import type { TokenizedExample } from '../../src/io/dataset/types';
import { readDatasetFile } from '../../src/io/dataset/parse';
import { tokenizeDataset } from '../../src/io/tokenizer/labels';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

const M = '../shared/models';
let tmp: string;
let ctx: GpuContext;
let cfg: ModelConfig;
let baseFiles: ModelFiles;
let instFiles: ModelFiles;
let train: TokenizedExample[];
let padTokenId: number;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'shadowft-derivation-'));
  ctx = await testGpu();
  baseFiles = await modelFilesFromDir(`${M}/stories260K-base`);
  instFiles = await modelFilesFromDir(`${M}/stories260K-instruct`);
  cfg = await readModelConfig(baseFiles.files.get('config.json')!, 'stories260K-base/config.json');
  const tok = await loadChatTokenizer(instFiles);
  padTokenId = tok.padTokenId;
  const rows = (await readDatasetFile(await openAsBlob('../shared/datasets/story-titles.train.alpaca.json'), 'story-titles.train.alpaca.json')).conversations;
  train = tokenizeDataset(tok, rows, 64, cfg.vocabSize).examples;
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Trains LoRA on `model` for max(steps) steps; returns the adapter after each of `steps`. */
async function tune(model: Checkpoint, steps: readonly number[], r: number): Promise<Map<number, LoraAdapter>> {
  const d = defaultTrainSettings(cfg, train.length);
  const settings: TrainSettings = { ...d, lora: { ...d.lora, r, alpha: 2 * r }, maxSteps: Math.max(...steps), maxLength: 64, batchSize: 8, gradAccum: 1 };
  const got = new Map<number, LoraAdapter>();
  const result = await runTraining({
    ctx, config: cfg, base: model, train, settings, padTokenId, onEvent: () => {}, checkpointEvery: 1,
    onCheckpoint: async (c) => void (steps.includes(c.step) && got.set(c.step, { settings: settings.lora, modules: c.params })),
  });
  expect(result.status).toBe('complete');
  expect([...got.keys()].sort((a, b) => a - b)).toEqual([...steps].sort((a, b) => a - b));
  return got;
}

/** Writes the adapter folder and `onto` merged with it; returns both folders. */
async function folders(name: string, adapter: LoraAdapter, onto: ModelFiles): Promise<{ adapter: ModelFiles; merged: ModelFiles }> {
  const a = join(tmp, `${name}-adapter`);
  await mkdir(a);
  const f = buildAdapterFiles(adapter, { baseModelNameOrPath: 'stories260K-instruct' });
  await writeFile(join(a, 'adapter_config.json'), f['adapter_config.json']);
  await writeFile(join(a, 'adapter_model.safetensors'), new Uint8Array(await f['adapter_model.safetensors'].arrayBuffer()));
  const m = join(tmp, `${name}-merged`);
  await mkdir(m);
  for (const file of (await planMergedModel(onto, adapter)).files) await writeOutputFile(m, file);
  return { adapter: await modelFilesFromDir(a), merged: await modelFilesFromDir(m) };
}

describe('graft derivation check on real tunes (demo pair)', () => {
  it('accepts LoRA tunes of the Base after 5, 20 and 60 steps and full-rank ones after 5 and 40, as adapters and merged', async () => {
    const base = await openCheckpoint(baseFiles);
    const runs: (readonly [string, LoraAdapter])[] = [...(await tune(base, [5, 20, 60], 8)).entries()].map(([s, a]) => [`r8-${s}`, a] as const);
    runs.push(...[...(await tune(base, [5, 40], 64)).entries()].map(([s, a]) => [`r64-${s}`, a] as const));
    const ratios: Record<string, number | null> = {};
    for (const [name, adapter] of runs) {
      const { adapter: ad, merged } = await folders(name, adapter, baseFiles);
      const lora = await planGraftTuned(baseFiles, ad, instFiles);
      expect(lora.kind).toBe('lora');
      const full = await planGraftTuned(baseFiles, merged, instFiles);
      const v = full.derivation.verdict!;
      ratios[name] = full.derivation.ratio;
      expect(v.refusal, name).toBeNull();
      expect(v.changed, name).toBe(35);
      expect(v.closerToBase, name).toBe(v.deciding);
      expect(v.nearBase, name).toBe(35);
    }
    // The runs span the range that matters: the 20-step tune is the one the old ratio < 0.5 check refused.
    expect(ratios['r8-20']).toBeGreaterThan(0.5);
    expect(ratios['r8-60']).toBeGreaterThan(ratios['r8-20']!);
  });

  it('refuses a tune of the Instruct (the conventional run), merged, as closer to the Instruct', async () => {
    const inst = await openCheckpoint(instFiles);
    const adapter = (await tune(inst, [20], 8)).get(20)!;
    const { merged } = await folders('instruct-r8-20', adapter, instFiles);
    await expect(planGraftTuned(baseFiles, merged, instFiles)).rejects.toThrow(/closer to the Instruct \(stories260K-instruct\) than to the Base \(stories260K-base\) on \d+ of the 45 tensors it changed/);
    const forced = await planGraftTuned(baseFiles, merged, instFiles, { skipDerivationCheck: true });
    expect(forced.derivation.verdict!.closerToBase).toBeLessThan(forced.derivation.verdict!.deciding / 2);
  });
});
