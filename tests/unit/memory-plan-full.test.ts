/**
 * The full-parameter memory plan (src/engine/plan/fullMemory.ts) on the real configs in ../shared/configs: parameter
 * counts from the shapes (checked against the published sizes), 16 bytes per trainable parameter, the refusal with
 * the numbers and what to lower, and what "train embeddings: off" saves.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/io/config';
import type { ModelConfig } from '../../src/io/config/types';
import { planFullMemory } from '../../src/engine/plan/fullMemory';
import type { PlanLimits } from '../../src/engine/plan/memory';
import { GEMMA3_270M } from '../support/gemmaConfigs';

function config(name: string): ModelConfig {
  return normalizeConfig(JSON.parse(readFileSync(`../shared/configs/${name}/config.json`, 'utf8')), `${name}/config.json`);
}

const GiB = 2 ** 30;
/** An adapter that binds at most 1 GiB (a common laptop limit). */
const LIMITS_1G: PlanLimits = { maxBufferSize: GiB, maxStorageBufferBindingSize: GiB, minStorageBufferOffsetAlignment: 256 };

describe('full-parameter memory plan', () => {
  it('Qwen3-0.6B: 596,049,920 parameters × 16 bytes does not fit 8 GiB; the refusal names the numbers and what to lower', () => {
    const cfg = config('Qwen__Qwen3-0.6B');
    const p = planFullMemory(cfg, { batchSize: 1, maxLength: 512, recompute: true, trainEmbeddings: true }, 2, LIMITS_1G, 8 * GiB);
    expect(p.trainableParams).toBe(596_049_920);
    expect(p.lines.find((l) => l.key === 'full')?.bytes).toBeGreaterThanOrEqual(16 * 596_049_920);
    expect(p.fits).toBe(false);
    expect(p.problems.join(' ')).toMatch(/full-parameter training needs 9\.\d\d GiB but the memory budget is 8\.00 GiB/);
    expect(p.problems.join(' ')).toContain('turn "train embeddings" off (saves 2.03 GiB)');
    // the f32 embedding (594 MiB) fits one 1 GiB binding: no buffer problem
    expect(p.largest.bytes).toBe(151936 * 1024 * 4);
  });

  it('Qwen3-0.6B with the embedding frozen fits 8 GiB and saves 14 bytes per embedding parameter', () => {
    const cfg = config('Qwen__Qwen3-0.6B');
    const on = planFullMemory(cfg, { batchSize: 1, maxLength: 512, recompute: true, trainEmbeddings: true }, 2, LIMITS_1G, 8 * GiB);
    const off = planFullMemory(cfg, { batchSize: 1, maxLength: 512, recompute: true, trainEmbeddings: false }, 2, LIMITS_1G, 8 * GiB);
    expect(off.trainableParams).toBe(596_049_920 - 151936 * 1024);
    expect(on.totalBytes - off.totalBytes).toBe(on.embedSavingBytes);
    expect(off.fits).toBe(true);
  });

  it('Gemma 3 270M: the embedding is 167,772,160 of 268,098,176 parameters; freezing it saves 2.19 GiB', () => {
    const cfg = normalizeConfig(GEMMA3_270M, 'gemma-3-270m/config.json');
    const on = planFullMemory(cfg, { batchSize: 1, maxLength: 1024, recompute: true, trainEmbeddings: true }, 2, LIMITS_1G, 16 * GiB);
    expect(on.trainableParams).toBe(268_098_176);
    expect(on.embedParams).toBe(167_772_160);
    expect(on.embedSavingBytes).toBe(167_772_160 * 14);
    // the f32 embedding (640 MiB) in one 1 GiB binding; 256 MiB bindings split it into row chunks of 16384 rows
    const small = planFullMemory(cfg, { batchSize: 1, maxLength: 1024, recompute: true, trainEmbeddings: true }, 2, { ...LIMITS_1G, maxStorageBufferBindingSize: 256 * 2 ** 20 }, 16 * GiB);
    expect(small.embedChunks).toBe(262144 / 16384);
    expect(small.largest.bytes).toBeLessThanOrEqual(256 * 2 ** 20);
  });

  it('refuses a batch size or length below 1', () => {
    expect(() => planFullMemory(config('Qwen__Qwen3-0.6B'), { batchSize: 0, maxLength: 8, recompute: false, trainEmbeddings: true }, 2, LIMITS_1G)).toThrow('Batch size must be a whole number ≥ 1, got 0');
  });
});
