/**
 * A Mistral model whose sliding window (6) is shorter than the sequence (24) trains instead of being refused, and
 * matches a reference with the window applied (HF masking_utils sliding_window_overlay: query i sees keys i−W+1 … i):
 * the llama-tiny fixture's weights under a Mistral config.json with `sliding_window: 6`. The GPU logits equal the CPU
 * f64 reference model's (which applies the window; checked itself against transformers' Gemma 3 goldens) and differ
 * from full causal attention; the backward's LoRA gradients equal central finite differences of the GPU loss;
 * the settings check accepts Max length above the window.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { openCheckpoint, type ModelFiles } from '../../src/io/checkpoint';
import { normalizeConfig } from '../../src/io/config';
import type { Batch } from '../../src/io/dataset/types';
import { readF32, writeBytes } from '../../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../../src/engine/gpu/context';
import { createActivations, type Activations } from '../../src/engine/model/activations';
import { createLoraParams, readLoraTensors, type LoraParams } from '../../src/engine/model/lora';
import { forwardLogits, makeGpuModel, recordBackward, recordForward, uploadBatch, type GpuModel } from '../../src/engine/model/model';
import { loadModelWeights } from '../../src/engine/model/weights';
import { TARGET_MODULES } from '../../src/engine/model/loraTypes';
import { loadRefModel, refForwardLogits } from '../../src/engine/reference/model';
import { defaultTrainSettings, validateSettings } from '../../src/engine/train/defaults';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';
import { expectLoraGradsMatchFd } from '../support/loraFd';

const DIR = '../shared/fixtures/llama-tiny';
const W = 6;
const T = 24;

async function loss(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams, batch: Batch, withGrad: boolean): Promise<number> {
  for (const part of lora.parts) {
    const z = ctx.device.createCommandEncoder();
    z.clearBuffer(part.grads);
    ctx.device.queue.submit([z.finish()]);
  }
  const s = uploadBatch(ctx, model, acts, batch);
  const enc = ctx.device.createCommandEncoder();
  recordForward(ctx, enc, model, acts, lora, s);
  if (withGrad) recordBackward(ctx, enc, model, acts, lora, s, 1 / batch.numItems);
  await submitAndWait(ctx, [enc.finish()]);
  return (await readF32(ctx, acts.losses, 0, T)).reduce((a, b) => a + b, 0) / batch.numItems;
}

describe('Mistral with a sliding window shorter than the sequence', () => {
  it('trains: logits equal the windowed reference, LoRA gradients equal finite differences', async () => {
    const ctx = await testGpu();
    const llama = await modelFilesFromDir(DIR);
    const raw = { ...JSON.parse(readFileSync(`${DIR}/config.json`, 'utf8')), model_type: 'mistral', sliding_window: W } as Record<string, unknown>;
    const files: ModelFiles = { name: 'mistral-window-6', files: new Map([...llama.files, ['config.json', new Blob([JSON.stringify(raw)])]]) };
    const cfg = normalizeConfig(raw, 'mistral-window-6/config.json');
    expect(cfg.layerTypes).toEqual(['sliding_attention', 'sliding_attention']);
    expect(() => validateSettings({ ...defaultTrainSettings(cfg, 10), maxLength: T }, cfg)).not.toThrow();
    const ckpt = await openCheckpoint(files);
    const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, ckpt));
    const ref = await loadRefModel(cfg, ckpt);
    const full = await loadRefModel({ ...cfg, layerTypes: ['full_attention', 'full_attention'] }, ckpt);
    const ids = Array.from({ length: T }, (_, t) => (t * 37 + 5) % cfg.vocabSize);
    const labels = Int32Array.from(ids, (v, t) => (t < 4 ? -100 : v));
    const batch: Batch = { batchSize: 1, seqLen: T, inputIds: Int32Array.from(ids), labels, numItems: T - 4 };
    const lora = createLoraParams(ctx, cfg, { r: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] }, { seed: 3 });
    for (const slot of lora.slots) {
      writeBytes(ctx, lora.parts[slot.part]!.params, slot.bOffset * 4, Float32Array.from({ length: slot.outFeatures * 4 }, (_, i) => 0.05 * Math.sin(i * 1.3 + slot.layer)));
    }
    const acts = createActivations(ctx, cfg, 1, T, 4, [...TARGET_MODULES]);
    try {
      const got = await forwardLogits(ctx, model, acts, null, uploadBatch(ctx, model, acts, batch));
      const want = refForwardLogits(ref, ids, null, 'all');
      const causal = refForwardLogits(full, ids, null, 'all');
      let err = 0;
      let windowEffect = 0;
      for (let i = 0; i < want.length; i++) {
        err = Math.max(err, Math.abs((got[i] as number) - (want[i] as number)));
        windowEffect = Math.max(windowEffect, Math.abs((want[i] as number) - (causal[i] as number)));
      }
      expect(err).toBeLessThan(2e-4);
      expect(windowEffect).toBeGreaterThan(1e-2);

      await loss(ctx, model, acts, lora, batch, true);
      const grads = await readLoraTensors(ctx, lora, 'grads');
      await expectLoraGradsMatchFd(ctx, lora, grads, [[0, 'q_proj', 'a'], [0, 'k_proj', 'b'], [1, 'v_proj', 'a'], [1, 'o_proj', 'b']] as const, () => loss(ctx, model, acts, lora, batch, false));
    } finally {
      lora.destroy();
      acts.destroy();
      model.weights.destroy();
    }
  });
});
