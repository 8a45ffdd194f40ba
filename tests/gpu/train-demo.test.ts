/**
 * The whole Shadow-FT path in Node on the real stories260K pair and the story-titles task: tokenise with the Instruct
 * chat template, train LoRA on Base with our WGSL kernels, evaluate held-out loss of Base+LoRA and Instruct+graft,
 * export the PEFT adapter and the merged Instruct model, and check merge = W_I + (α/r)·B·A against an independent loop.
 */
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/io/checkpoint';
import { readModelConfig } from '../../src/io/config';
import { readDatasetFile } from '../../src/io/dataset/parse';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { tokenizeDataset } from '../../src/io/tokenizer/labels';
import { decodeToF32, f32ToBf16Bits } from '../../src/io/dtype';
import { readSafetensorsHeader, readTensorBytes } from '../../src/io/safetensors';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { runTraining } from '../../src/engine/train/run';
import type { TrainEvent } from '../../src/engine/train/types';
import { planMergedModel, outputFileBlob } from '../../src/engine/graft/mergedModel';
import { modelFilesFromDir } from '../../src/node/files';
import { openAsBlob } from 'node:fs';
import { testGpu } from './device';

const M = '../shared/models';
const D = '../shared/datasets';

describe('Shadow-FT on stories260K (Node, WebGPU engine)', () => {
  it('trains LoRA on Base (loss goes down), lowers held-out loss for Base and for grafted Instruct, and merges exactly', async () => {
    const ctx = await testGpu();
    const baseFiles = await modelFilesFromDir(`${M}/stories260K-base`);
    const instFiles = await modelFilesFromDir(`${M}/stories260K-instruct`);
    const cfg = await readModelConfig(baseFiles.files.get('config.json')!, 'stories260K-base/config.json');
    const tok = await loadChatTokenizer(instFiles);
    const train = tokenizeDataset(tok, (await readDatasetFile(await openAsBlob(`${D}/story-titles.train.alpaca.json`), 'story-titles.train.alpaca.json')).conversations, 128, cfg.vocabSize).examples;
    const heldout = tokenizeDataset(tok, (await readDatasetFile(await openAsBlob(`${D}/story-titles.heldout.alpaca.json`), 'story-titles.heldout.alpaca.json')).conversations.slice(0, 16), 128, cfg.vocabSize).examples;
    const settings = { ...defaultTrainSettings(cfg, train.length), maxSteps: 20, maxLength: 128, learningRate: 3e-3, batchSize: 4, warmupRatio: 0.1 };
    const events: TrainEvent[] = [];
    const result = await runTraining({
      ctx, config: cfg, base: await openCheckpoint(baseFiles), instruct: await openCheckpoint(instFiles),
      train, heldout, settings, padTokenId: tok.padTokenId, onEvent: (e) => events.push(e),
    });
    expect(result).toMatchObject({ status: 'complete', steps: 20, totalSteps: 20 });
    const adapter = result.adapter;
    const steps = events.flatMap((e) => (e.status === 'step' ? [e.loss] : []));
    expect(steps.length).toBe(20);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(steps.slice(-5))).toBeLessThan(mean(steps.slice(0, 5)) - 0.1);
    const ev = (model: string) => events.find((e): e is Extract<TrainEvent, { status: 'eval' }> => e.status === 'eval' && e.model === model)!.loss;
    expect(ev('base+lora')).toBeLessThan(ev('base'));
    expect(ev('instruct+graft')).toBeLessThan(ev('instruct'));
    expect(events.at(-1)).toMatchObject({ status: 'done', steps: 20 });
    expect(adapter.modules.size).toBe(5 * 7);

    // Merge and compare with an independent f64 loop, rounded to BF16.
    const plan = await planMergedModel(instFiles, adapter);
    const file = plan.files.find((f) => f.name === 'model.safetensors')!;
    const blob = await outputFileBlob(file);
    const header = await readSafetensorsHeader(blob, 'merged/model.safetensors');
    const src = await openCheckpoint(instFiles);
    const s = settings.lora.alpha / settings.lora.r;
    for (const [path, w] of adapter.modules) {
      const info = header.tensors.get(`${path}.weight`)!;
      const merged = decodeToF32(await readTensorBytes(blob, info), info.dtype);
      const loc = src.tensors.get(`${path}.weight`)!;
      const wi = decodeToF32(await readTensorBytes(loc.file, loc.info), loc.info.dtype);
      let diff = 0;
      for (let o = 0; o < w.outFeatures; o++) {
        for (let i = 0; i < w.inFeatures; i++) {
          let acc = 0;
          for (let k = 0; k < settings.lora.r; k++) acc += (w.b[o * settings.lora.r + k] as number) * (w.a[k * w.inFeatures + i] as number);
          const want = f32ToBf16Bits(Math.fround((wi[o * w.inFeatures + i] as number) + s * acc));
          if (f32ToBf16Bits(merged[o * w.inFeatures + i] as number) !== want) diff++;
        }
      }
      expect(diff, path).toBeLessThanOrEqual(Math.ceil(1e-3 * w.outFeatures * w.inFeatures));
    }
  });
});
