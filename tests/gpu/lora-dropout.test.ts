/**
 * LoRA dropout (PEFT: lora_B(lora_A(dropout(x))), training mode only) in the whole model on llama-tiny:
 * with the mask seed fixed, the loss is a deterministic function of the LoRA weights, so the backward's gradients are
 * checked against central finite differences of the GPU loss; eval mode (no seed) ignores dropout.
 */
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/io/checkpoint';
import { readModelConfig } from '../../src/io/config';
import { readSafetensorsHeader, readTensorBytes } from '../../src/io/safetensors';
import { decodeToF32 } from '../../src/io/dtype';
import type { Batch } from '../../src/io/dataset/types';
import { readF32, writeBytes } from '../../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../../src/engine/gpu/context';
import { createActivations, type Activations } from '../../src/engine/model/activations';
import { createLoraParams, readLoraTensors, type LoraParams } from '../../src/engine/model/lora';
import { makeGpuModel, recordBackward, recordForward, uploadBatch, type GpuModel } from '../../src/engine/model/model';
import { loadModelWeights } from '../../src/engine/model/weights';
import { TARGET_MODULES, type LoraSettings } from '../../src/engine/model/loraTypes';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';
import { expectLoraGradsMatchFd } from '../support/loraFd';

const DIR = '../shared/fixtures/llama-tiny';

async function lossAndGrads(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams, batch: Batch, seed: number | undefined, withGrad: boolean): Promise<number> {
  for (const part of lora.parts) {
    const z = ctx.device.createCommandEncoder();
    z.clearBuffer(part.grads);
    ctx.device.queue.submit([z.finish()]);
  }
  const s = { ...uploadBatch(ctx, model, acts, batch), ...(seed === undefined ? {} : { dropoutSeed: seed }) };
  const enc = ctx.device.createCommandEncoder();
  recordForward(ctx, enc, model, acts, lora, s);
  if (withGrad) recordBackward(ctx, enc, model, acts, lora, s, 1 / batch.numItems);
  await submitAndWait(ctx, [enc.finish()]);
  const l = await readF32(ctx, acts.losses, 0, batch.batchSize * batch.seqLen);
  let sum = 0;
  for (const v of l) sum += v;
  return sum / batch.numItems;
}

describe('LoRA dropout in the model', () => {
  it('gradients match finite differences of the loss with the same mask; eval mode ignores dropout', async () => {
    const ctx = await testGpu();
    const files = await modelFilesFromDir(DIR);
    const cfg = await readModelConfig(files.files.get('config.json')!, 'llama-tiny/config.json');
    const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, await openCheckpoint(files)));
    const fwdBlob = files.files.get('forward.safetensors')!;
    const h = await readSafetensorsHeader(fwdBlob, 'forward.safetensors');
    const ids = decodeToF32(await readTensorBytes(fwdBlob, h.tensors.get('input_ids')!), 'I32');
    const labels = decodeToF32(await readTensorBytes(fwdBlob, h.tensors.get('labels')!), 'I32');
    const [B, T] = h.tensors.get('input_ids')!.shape as [number, number];
    let numItems = 0;
    for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) if (labels[b * T + t] !== -100) numItems++;
    const batch: Batch = { batchSize: B, seqLen: T, inputIds: Int32Array.from(ids), labels: Int32Array.from(labels), numItems };
    const mk = (dropout: number): LoraSettings => ({ r: 4, alpha: 8, dropout, useRslora: false, targetModules: [...TARGET_MODULES] });
    const settings = mk(0.3);
    const acts = createActivations(ctx, cfg, B, T, 4, settings.targetModules, { dropout: true });
    const lora = createLoraParams(ctx, cfg, settings, { seed: 5 });
    // B = 0 at PEFT init makes dA vanish; give B non-zero values so every gradient is informative.
    for (const slot of lora.slots) {
      const n = slot.outFeatures * 4;
      writeBytes(ctx, lora.parts[slot.part]!.params, slot.bOffset * 4, Float32Array.from({ length: n }, (_, i) => 0.05 * Math.sin(i * 1.7 + slot.layer)));
    }
    const seed = 0x1234567;
    const l0 = await lossAndGrads(ctx, model, acts, lora, batch, seed, true);
    const grads = await readLoraTensors(ctx, lora, 'grads');
    // Eval (no seed) equals the dropout-free model; training loss with dropout differs.
    const plain = createLoraParams(ctx, cfg, mk(0), { seed: 5 });
    for (const slot of plain.slots) {
      const n = slot.outFeatures * 4;
      writeBytes(ctx, plain.parts[slot.part]!.params, slot.bOffset * 4, Float32Array.from({ length: n }, (_, i) => 0.05 * Math.sin(i * 1.7 + slot.layer)));
    }
    const evalLoss = await lossAndGrads(ctx, model, acts, lora, batch, undefined, false);
    const plainLoss = await lossAndGrads(ctx, model, acts, plain, batch, seed, false);
    expect(Math.abs(evalLoss - plainLoss)).toBeLessThan(1e-6);
    expect(Math.abs(l0 - plainLoss)).toBeGreaterThan(1e-4);
    // Finite differences on the elements with the largest |g| of a few modules (A and B).
    await expectLoraGradsMatchFd(ctx, lora, grads, [[0, 'q_proj', 'a'], [1, 'down_proj', 'a'], [0, 'gate_proj', 'b'], [1, 'v_proj', 'a']] as const, () => lossAndGrads(ctx, model, acts, lora, batch, seed, false));
    lora.destroy();
    plain.destroy();
    acts.destroy();
  });
});
