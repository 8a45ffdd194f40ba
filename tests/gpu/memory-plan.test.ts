/**
 * The memory plan's closed forms (src/engine/plan/memory.ts) against what the allocators really create on a WebGPU
 * device: Activations.bytes (with and without recompute), LoraParams.bytes (one part, and several parts under a
 * small binding limit) and ModelWeights.gpuBytes, on the three fixture models (llama F32 tied; qwen2 BF16 untied
 * with q/k/v biases; qwen3 F32 with q/k norms).
 */
import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { createActivations } from '../../src/engine/model/activations';
import { createLoraParams } from '../../src/engine/model/lora';
import { loadModelWeights } from '../../src/engine/model/weights';
import { planMemory } from '../../src/engine/plan/memory';
import { checkpointWeightBytes } from '../../src/engine/train/run';
import { TARGET_MODULES, type LoraSettings } from '../../src/engine/model/loraTypes';
import { openCheckpoint } from '../../src/io/checkpoint';
import { normalizeConfig } from '../../src/io/config';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

describe.each(['llama-tiny', 'qwen2-tiny', 'qwen3-tiny'])('memory plan of %s = bytes allocated', (name) => {
  it.each([
    [2, 24, 4, false, 0],
    [2, 24, 4, true, 0],
    [3, 17, 8, true, 40 * 1024],
    [1, 5, 1, false, 40 * 1024],
  ])('B=%i T=%i r=%i recompute=%s limit=%i: activations, LoRA and weights', async (B, T, r, recompute, limit) => {
    const real = await testGpu();
    const ctx: GpuContext = limit ? { ...real, limits: { ...real.limits, maxBufferSize: limit, maxStorageBufferBindingSize: limit } } : real;
    const files = await modelFilesFromDir(`../shared/fixtures/${name}`);
    const cfg = normalizeConfig(JSON.parse(await files.files.get('config.json')!.text()), name);
    const targets = name === 'qwen2-tiny' ? TARGET_MODULES.filter((m) => m !== 'v_proj') : [...TARGET_MODULES];
    const lora: LoraSettings = { r, alpha: 2 * r, dropout: 0, useRslora: false, targetModules: targets };
    const ckpt = await openCheckpoint(files);
    const plan = planMemory(cfg, { batchSize: B, maxLength: T, recompute, lora }, checkpointWeightBytes(ckpt), ctx.limits);
    const acts = createActivations(ctx, cfg, B, T, r, targets, { recompute });
    const params = createLoraParams(ctx, cfg, lora, { seed: 1 });
    const weights = await loadModelWeights(ctx, cfg, ckpt);
    try {
      expect(plan.activationBytes).toBe(acts.bytes);
      expect(plan.loraBytes).toBe(params.bytes);
      expect(plan.loraParts).toBe(params.parts.length);
      expect(plan.weightBytes).toBe(weights.gpuBytes);
      expect(plan.embedChunks).toBe(weights.embed.chunks.length);
      expect(plan.vocabChunkRows).toBe(acts.vocabChunkRows);
      expect(plan.fits).toBe(true);
      if (limit) expect(plan.largest.bytes).toBeLessThanOrEqual(limit);
    } finally {
      acts.destroy();
      params.destroy();
      weights.destroy();
    }
  });

  it('with every buffer limited to 24 KiB, the plan fits exactly when the allocators succeed', async () => {
    const real = await testGpu();
    const ctx: GpuContext = { ...real, limits: { ...real.limits, maxBufferSize: 24 * 1024, maxStorageBufferBindingSize: 24 * 1024 } };
    const files = await modelFilesFromDir(`../shared/fixtures/${name}`);
    const cfg = normalizeConfig(JSON.parse(await files.files.get('config.json')!.text()), name);
    const lora: LoraSettings = { r: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] };
    const ckpt = await openCheckpoint(files);
    const plan = planMemory(cfg, { batchSize: 2, maxLength: 24, recompute: false, lora }, checkpointWeightBytes(ckpt), ctx.limits);
    const made: { destroy(): void }[] = [];
    let error: unknown = null;
    try {
      made.push(await loadModelWeights(ctx, cfg, ckpt), createLoraParams(ctx, cfg, lora, { seed: 1 }), createActivations(ctx, cfg, 2, 24, 4, lora.targetModules));
    } catch (e) {
      error = e;
    } finally {
      made.forEach((m) => m.destroy());
    }
    expect(plan.fits, `plan: ${plan.problems.join('; ')}; allocation: ${String(error)}`).toBe(error === null);
    if (!plan.fits) expect(plan.problems.join()).toMatch(/the largest buffer, .* needs [\d.]+ KiB \(\d+ bytes\) but this GPU's maxStorageBufferBindingSize is 24\.00 KiB/);
  });
});
