/**
 * The whole engine (our WGSL kernels on a real WebGPU adapter) against the independent PyTorch goldens in
 * ../shared/fixtures: forward logits/loss, every step-1 LoRA gradient, 3 AdamW steps with clipping, final loss.
 */
import { describe, expect, it } from 'vitest';
import { checkFixtureOnGpu } from '../../src/engine/check/fixtures';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

const FIXTURES: [string, number][] = [['llama-tiny', 2], ['qwen2-tiny', 2], ['qwen3-tiny', 2], ['gemma3-tiny', 3]];

describe.each(FIXTURES)('fixture %s on the WebGPU engine', (name, layers) => {
  it('reproduces logits, loss, step-1 gradients, 3 AdamW steps and the final loss within the README tolerances', async () => {
    const ctx = await testGpu();
    const files = await modelFilesFromDir(`../shared/fixtures/${name}`);
    const rows = await checkFixtureOnGpu(ctx, files);
    const failed = rows.filter((r) => !r.pass);
    const kinds = new Set(rows.map((r) => r.quantity.split('/')[0]));
    const full = files.files.has('full_step.json') ? ['full_step'] : [];
    expect([...kinds].sort()).toEqual(['after', 'final', 'grad', 'grad_norm_before_clip', 'logits', 'loss', 'loss_after_final_step', 'loss_before_step', 'merge', 'sigma', ...full].sort());
    expect(rows.filter((r) => r.quantity.startsWith('grad/step1/')).length).toBe(2 * 7 * layers);
    expect(failed.map((r) => `${r.quantity}: max abs ${r.maxAbs} (${r.tolerance})`)).toEqual([]);
  });
});
