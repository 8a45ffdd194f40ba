/**
 * The PyTorch fixtures (../shared/fixtures) must pass whatever the engine does to save memory:
 *  - activation recomputation (one shared set of layer activations, each layer re-run in the backward) together with
 *    a vocabulary chunk of 100 rows (V = 256 → 3 chunks: online log-sum-exp merged across chunks, dH accumulated);
 *  - device limits forced down to just above the largest other buffer (32 KiB for the F32 llama fixture, 24 KiB for
 *    the BF16 qwen2 fixture), so embed_tokens (and qwen2's untied lm_head) are stored as several row-chunk buffers,
 *    the embedding lookup runs per chunk, and (qwen2) the LoRA state is split into parts.
 */
import { describe, expect, it } from 'vitest';
import { checkFixtureOnGpu, type FixtureRunOptions } from '../../src/engine/check/fixtures';
import type { GpuContext } from '../../src/engine/gpu/context';
import { layoutSlots, loraPartFloats } from '../../src/engine/model/lora';
import { tableChunkRows } from '../../src/engine/model/vocabChunks';
import { TARGET_MODULES } from '../../src/engine/model/loraTypes';
import { normalizeConfig } from '../../src/io/config';
import { modelFilesFromDir } from '../../src/node/files';
import { readFile } from 'node:fs/promises';
import { testGpu } from './device';

async function run(name: string, ctx: GpuContext, opts: FixtureRunOptions): Promise<void> {
  const files = await modelFilesFromDir(`../shared/fixtures/${name}`);
  const rows = await checkFixtureOnGpu(ctx, files, undefined, opts);
  expect(rows.filter((r) => r.quantity.startsWith('grad/step1/')).length).toBe(2 * 7 * 2);
  expect(rows.some((r) => r.quantity === 'logits')).toBe(true);
  expect(rows.filter((r) => !r.pass).map((r) => `${r.quantity}: max abs ${r.maxAbs} (${r.tolerance})`)).toEqual([]);
}

describe.each(['llama-tiny', 'qwen2-tiny', 'qwen3-tiny'])('fixture %s with recompute and 100-row vocabulary chunks', (name) => {
  it('reproduces logits, loss, step-1 gradients, 3 AdamW steps and the final loss', async () => {
    await run(name, await testGpu(), { recompute: true, vocabChunkRows: 100 });
  });
});

describe.each([
  ['llama-tiny', 4, 32 * 1024, 1],
  ['qwen2-tiny', 2, 24 * 1024, 2],
] as const)('fixture %s (%i-byte weights) with every buffer limited to %i bytes', (name, dtypeBytes, limit, minLoraParts) => {
  it('splits embed_tokens / lm_head and the LoRA state into several buffers and still reproduces PyTorch', async () => {
    const real = await testGpu();
    const ctx: GpuContext = { ...real, limits: { ...real.limits, maxBufferSize: limit, maxStorageBufferBindingSize: limit } };
    // Preconditions: with these limits the [256, 64] table (and for qwen2 the LoRA state) cannot be single buffers.
    expect(tableChunkRows(256, 64, dtypeBytes, ctx.limits)).toBeLessThan(256);
    const cfg = normalizeConfig(JSON.parse(await readFile(`../shared/fixtures/${name}/config.json`, 'utf8')), name);
    expect(layoutSlots(cfg, { r: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] }, loraPartFloats(ctx.limits)).parts.length).toBeGreaterThanOrEqual(minLoraParts);
    // LoRA cases only: these limits sit just above the LoRA run's largest buffer (see FixtureRunOptions.cases).
    await run(name, ctx, { cases: [] });
  });
});
