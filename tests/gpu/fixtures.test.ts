/**
 * The whole engine (our WGSL kernels on a real WebGPU adapter) against the independent PyTorch goldens in
 * ../shared/fixtures: forward logits/loss, every step-1 LoRA gradient, 3 AdamW steps with clipping, final loss.
 */
import { describe, expect, it } from 'vitest';
import { checkFixtureOnGpu } from '../../src/engine/check/fixtures';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

/** [folder, layers, has case 5 (dpo_step)] */
const FIXTURES: [string, number, boolean][] = [['llama-tiny', 2, true], ['qwen2-tiny', 2, true], ['qwen3-tiny', 2, true], ['gemma3-tiny', 3, false]];

describe.each(FIXTURES)('fixture %s on the WebGPU engine', (name, layers, dpo) => {
  it('reproduces logits, loss, step-1 gradients, 3 AdamW steps and the final loss (and case 5 DPO where present) within the README tolerances', async () => {
    const ctx = await testGpu();
    const files = await modelFilesFromDir(`../shared/fixtures/${name}`);
    const rows = await checkFixtureOnGpu(ctx, files);
    const failed = rows.filter((r) => !r.pass);
    const kinds = new Set(rows.map((r) => r.quantity.split('/')[0]));
    const full = files.files.has('full_step.json') ? ['full_step'] : [];
    expect([...kinds].sort()).toEqual(['after', 'final', 'grad', 'grad_norm_before_clip', 'logits', 'loss', 'loss_after_final_step', 'loss_before_step', 'merge', 'sigma', ...full, ...(dpo ? ['dpo'] : [])].sort());
    expect(rows.filter((r) => r.quantity.startsWith('grad/step1/')).length).toBe(2 * 7 * layers);
    if (dpo) {
      const dpoKinds = new Set(rows.filter((r) => r.quantity.startsWith('dpo/')).map((r) => r.quantity.split('/')[1]));
      expect([...dpoKinds].sort()).toEqual(['final', 'grad', 'grad_norm_before_clip', 'loss_before_step', 'policy_chosen_logps', 'policy_rejected_logps', 'reference_chosen_logps', 'reference_rejected_logps']);
      expect(rows.filter((r) => r.quantity.startsWith('dpo/grad/step1/')).length).toBe(2 * 7 * layers);
      expect(rows.filter((r) => r.quantity.startsWith('dpo/loss_before_step/')).length).toBe(3);
    }
    expect(failed.map((r) => `${r.quantity}: max abs ${r.maxAbs} (${r.tolerance})`)).toEqual([]);
  });
});
