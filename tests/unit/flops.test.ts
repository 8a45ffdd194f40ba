import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/io/config';
import { requiredFullStepFlops, requiredStepFlops } from '../../src/engine/plan/flops';
import { TARGET_MODULES } from '../../src/engine/model/loraTypes';
import { readFileSync } from 'node:fs';

const demo = normalizeConfig(JSON.parse(readFileSync('../shared/models/stories260K-base/config.json', 'utf8')) as Record<string, unknown>, 'config.json');

describe('requiredStepFlops', () => {
  it('counts the demo step by hand: C 64, 5 layers, H 8, KV 4, D 8, MLP 172, V 512, r 8 on all seven, B 8, T 215', () => {
    expect([demo.hiddenSize, demo.numLayers, demo.numHeads, demo.numKvHeads, demo.headDim, demo.intermediateSize, demo.vocabSize]).toEqual([64, 5, 8, 4, 8, 172, 512]);
    const tokens = 8 * 215;
    // per layer: q 64·64, k 32·64, v 32·64, o 64·64, gate 172·64, up 172·64, down 64·172 parameters
    const N = 4096 + 2048 + 2048 + 4096 + 3 * 11008;
    // LoRA in + out per module: q 128, k 96, v 96, o 128, gate 236, up 236, down 236
    const inOut = 128 + 96 + 96 + 128 + 3 * 236;
    const f = requiredStepFlops(demo, { r: 8, targetModules: [...TARGET_MODULES] }, 8, 215);
    expect(f.frozenLinears).toBe(5 * 4 * N * tokens);
    expect(f.lora).toBe(5 * 6 * 8 * inOut * tokens);
    expect(f.attention).toBe(5 * 8 * 8 * ((215 * 216) / 2) * 12 * 8);
    expect(f.lmHead).toBe(4 * 64 * 512 * tokens);
    expect(f.total).toBe(f.frozenLinears + f.lora + f.attention + f.lmHead);
    expect(f.total / 1e9).toBeCloseTo(2.97, 2);
  });

  it('drops the LoRA term for untargeted modules and r 0, and refuses bad shapes', () => {
    const all = requiredStepFlops(demo, { r: 8, targetModules: [...TARGET_MODULES] }, 1, 4);
    const q = requiredStepFlops(demo, { r: 8, targetModules: ['q_proj'] }, 1, 4);
    expect(q.lora).toBe(5 * 6 * 8 * 128 * 4);
    expect(q.frozenLinears).toBe(all.frozenLinears);
    expect(requiredStepFlops(demo, { r: 0, targetModules: [...TARGET_MODULES] }, 1, 4).lora).toBe(0);
    expect(() => requiredStepFlops(demo, { r: 8, targetModules: [] }, 0, 4)).toThrow(RangeError);
  });
});

describe('requiredFullStepFlops', () => {
  it('adds dW = dyᵀ·x of every linear and, with the head trained, dE = dlogitsᵀ·h; no LoRA term', () => {
    const tokens = 8 * 215;
    const N = 4096 + 2048 + 2048 + 4096 + 3 * 11008;
    const f = requiredFullStepFlops(demo, 8, 215, true);
    expect(f.lora).toBe(0);
    expect(f.weightGrads).toBe(5 * 2 * N * tokens + 2 * 64 * 512 * tokens);
    expect(f.total).toBe(f.frozenLinears + f.attention + f.lmHead + f.weightGrads);
    expect(requiredFullStepFlops(demo, 8, 215, false).weightGrads).toBe(5 * 2 * N * tokens);
  });
});
