/**
 * The memory plan (src/engine/plan/) on the real configs in ../shared/configs, with the WebGPU spec's default limits
 * (maxBufferSize 256 MiB, maxStorageBufferBindingSize 128 MiB) — the smallest any adapter offers: the paper's
 * recipe (r = 128, T = 1024, B = 1) fits 8 GiB on Llama-3.2-1B-Instruct and Qwen3-0.6B with recompute; impossible
 * plans are refused with numbers and what to lower; runTraining refuses before touching the GPU.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/io/config';
import type { ModelConfig } from '../../src/io/config/types';
import type { Checkpoint } from '../../src/io/checkpoint';
import type { GpuContext } from '../../src/engine/gpu/context';
import { describePlan, MemoryPlanError, planAdvice } from '../../src/engine/plan/advice';
import { DEFAULT_BUDGET_BYTES, formatBytes, planMemory, type PlanLimits } from '../../src/engine/plan/memory';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { runTraining } from '../../src/engine/train/run';
import type { TrainSettings } from '../../src/engine/train/types';

const SPEC_DEFAULT: PlanLimits = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20, minStorageBufferOffsetAlignment: 256 };
const GiB = 2 ** 30;

function config(name: string): ModelConfig {
  return normalizeConfig(JSON.parse(readFileSync(`../shared/configs/${name}/config.json`, 'utf8')), `${name}/config.json`);
}

function recipe(cfg: ModelConfig, over: Partial<TrainSettings> = {}): TrainSettings {
  return { ...defaultTrainSettings(cfg, 1000), batchSize: 1, maxLength: 1024, recompute: true, ...over };
}

describe('memory plan on real configs', () => {
  const llama = config('meta-llama__Llama-3.2-1B-Instruct');
  const llamaPlan = planMemory(llama, recipe(llama), 2, SPEC_DEFAULT);
  it(`Llama-3.2-1B-Instruct, r=128, T=1024, B=1, recompute: ${formatBytes(llamaPlan.totalBytes)} fits under 8 GiB`, () => {
    console.log(`Llama-3.2-1B-Instruct r=128 T=1024 B=1 recompute\n${describePlan(llamaPlan)}`);
    expect(llamaPlan.problems).toEqual([]);
    expect(llamaPlan.fits).toBe(true);
    expect(llamaPlan.totalBytes).toBeLessThan(8 * GiB);
    // Frozen BF16 weights: 1.236e9 parameters (tied embedding counted once) ≈ 2.3 GiB, norms in f32.
    expect(llamaPlan.weightBytes / GiB).toBeGreaterThan(2.2);
    expect(llamaPlan.weightBytes / GiB).toBeLessThan(2.4);
    // LoRA r=128 on 7 modules × 16 layers: 16·128·(3·2048 + 2·2048 + 2·(512+2048)... ) floats, × 4 states.
    const perLayer = 128 * (2048 + 2048) + 2 * 128 * (2048 + 512) + 128 * (2048 + 2048) + 2 * 128 * (2048 + 8192) + 128 * (8192 + 2048);
    expect(llamaPlan.loraBytes).toBe(16 * perLayer * 4 * 4);
    expect(llamaPlan.embedChunks).toBe(Math.ceil(128256 / 16384));
    expect(llamaPlan.vocabChunkRows).toBe(16384);
    expect(llamaPlan.loraParts).toBeGreaterThan(1);
    expect(llamaPlan.largest.bytes).toBeLessThanOrEqual(SPEC_DEFAULT.maxStorageBufferBindingSize);
  });

  it('recompute keeps one layer of activations instead of L (Llama: 16 layers)', () => {
    const off = planMemory(llama, recipe(llama, { recompute: false }), 2, SPEC_DEFAULT);
    const saved = (p: typeof off) => p.lines.find((l) => l.key === 'saved')?.bytes ?? NaN;
    expect(saved(off)).toBeGreaterThan(8 * saved(llamaPlan));
    expect(off.totalBytes - llamaPlan.totalBytes).toBe(saved(off) - saved(llamaPlan));
  });

  it('Qwen3-0.6B, r=128, T=1024, B=1, recompute fits; the tied 151936 × 1024 table is stored in 10 chunks', () => {
    const qwen = config('Qwen__Qwen3-0.6B');
    const p = planMemory(qwen, recipe(qwen), 2, SPEC_DEFAULT);
    console.log(`Qwen3-0.6B r=128 T=1024 B=1 recompute\n${describePlan(p)}`);
    expect(p.fits).toBe(true);
    expect(p.embedChunks).toBe(10);
    expect(p.totalBytes).toBeLessThan(4 * GiB);
  });

  it('defaultTrainSettings turns recompute on for a real model only when the plan needs it', () => {
    const qwen = config('Qwen__Qwen3-0.6B');
    expect(defaultTrainSettings(qwen, 10).recompute).toBe(true);
    expect(defaultTrainSettings(qwen, 10, { limits: SPEC_DEFAULT, weightsDtypeBytes: 2 }).recompute).toBe(false);
    expect(defaultTrainSettings(llama, 10, { limits: SPEC_DEFAULT, weightsDtypeBytes: 2, budgetBytes: 4.5 * GiB }).recompute).toBe(true);
    expect(defaultTrainSettings(config('HuggingFaceTB__SmolLM2-135M'), 10).recompute).toBe(true);
  });
});

describe('plans that do not fit', () => {
  const llama = config('meta-llama__Llama-3.2-1B-Instruct');

  it('over budget: names the total, the budget and what to lower, with the bytes each saves', () => {
    const s = recipe(llama, { batchSize: 8, maxLength: 2048, recompute: false });
    const p = planMemory(llama, s, 2, SPEC_DEFAULT);
    expect(p.fits).toBe(false);
    expect(p.problems.join()).toMatch(new RegExp(`training needs ${formatBytes(p.totalBytes).replace('.', '\\.')} but the memory budget is 8\\.00 GiB \\(over by`));
    const advice = planAdvice(llama, s, 2, SPEC_DEFAULT, p);
    expect(advice.join('\n')).toMatch(/enable recompute \(saves [\d.]+ GiB/);
    expect(advice.join('\n')).toMatch(/lower Batch size 8 → 1 \(saves [\d.]+ GiB/);
    expect(advice.join('\n')).toMatch(/lower Max length 2048 → 1024/);
    expect(advice.join('\n')).toMatch(/lower Rank 128 → 64/);
  });

  it('a buffer over the binding limit: names the buffer, the bytes and the limit', () => {
    const p = planMemory(llama, recipe(llama, { batchSize: 64, maxLength: 4096 }), 2, SPEC_DEFAULT, 1e15);
    expect(p.fits).toBe(false);
    expect(p.problems.join('\n')).toMatch(/the largest buffer, .* needs [\d.]+ GiB \(\d+ bytes\) but this GPU's maxStorageBufferBindingSize is 128\.00 MiB \(134217728 bytes\)/);
  });

  it('frozen weights above the budget say so', () => {
    const p = planMemory(llama, recipe(llama), 2, SPEC_DEFAULT, 1 * GiB);
    expect(planAdvice(llama, recipe(llama), 2, SPEC_DEFAULT, p).at(-1)).toMatch(/the frozen weights alone need 2\.\d\d GiB: raise the budget or use a smaller model/);
  });

  it('runTraining refuses an impossible plan before any GPU work, with the numbers', async () => {
    // A context whose device throws on any use: the refusal must come first.
    const device = new Proxy({}, { get: (_, k) => { throw new Error(`GPU touched: device.${String(k)}`); } }) as GPUDevice;
    const ctx = { device, limits: { ...SPEC_DEFAULT, maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupsPerDimension: 65535 }, transient: [] } as unknown as GpuContext;
    const base = { modelName: 'Llama-3.2-1B', tensors: new Map([['model.embed_tokens.weight', { info: { dtype: 'BF16' } }]]), fileNames: [], totalBytes: 0 } as unknown as Checkpoint;
    const events: string[] = [];
    const job = {
      ctx, config: llama, base, train: [{ inputIds: Int32Array.from([1, 2, 3]), labels: Int32Array.from([-100, 2, 3]), truncated: false }], padTokenId: 0,
      settings: recipe(llama, { batchSize: 16, recompute: false }), onEvent: (e: { status: string }) => events.push(e.status),
    } as unknown as Parameters<typeof runTraining>[0];
    const err = await runTraining(job).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemoryPlanError);
    expect((err as Error).message).toMatch(/does not fit: .*training needs [\d.]+ GiB but the memory budget is 8\.00 GiB.*Try: lower Batch size 16 → 1 \(saves [\d.]+ GiB.*; fits\); enable recompute/);
    expect(events).toEqual([]);
    expect(DEFAULT_BUDGET_BYTES).toBe(8 * GiB);
  });

  it('rejects nonsense inputs', () => {
    expect(() => planMemory(llama, recipe(llama, { batchSize: 0 }), 2, SPEC_DEFAULT)).toThrow(/Batch size must be a whole number ≥ 1, got 0/);
    expect(() => planMemory(llama, recipe(llama), 3, SPEC_DEFAULT)).toThrow(/weightsDtypeBytes must be 2 \(BF16\/F16\) or 4 \(F32\), got 3/);
  });
});
