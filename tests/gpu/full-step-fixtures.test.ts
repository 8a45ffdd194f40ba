/**
 * Fixture case 6 (full-parameter steps and the Shadow-FT graft) on the WebGPU engine, for every folder that has it:
 * step-1 gradients of every tensor, 3 AdamW steps (no decay on biases and norms), the final weights and loss, the
 * graft in F32 and BF16 through the tuned-Base export and graftTuned.
 */
import { describe, expect, it } from 'vitest';
import { checkFullStepCase } from '../../src/engine/check/fullFixture';
import type { CheckRow } from '../../src/engine/check/compare';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

describe.each([['llama-tiny', 20, false], ['qwen2-tiny', 27, false], ['qwen3-tiny', 24, true]] as const)('full_step fixture %s', (name, nTensors, recompute) => {
  it(`reproduces every gradient, the final weights and the graft (recompute ${recompute})`, async () => {
    const ctx = await testGpu();
    const files = await modelFilesFromDir(`../shared/fixtures/${name}`);
    const rows: CheckRow[] = [];
    await checkFullStepCase(ctx, files, (r) => rows.push(r), { recompute });
    expect(rows.filter((r) => r.quantity.startsWith('full_step/grad/step1/')).length).toBe(nTensors);
    expect(rows.filter((r) => r.quantity.startsWith('full_step/final/')).length).toBe(nTensors);
    expect(rows.some((r) => r.quantity.includes('/export'))).toBe(true);
    expect(rows.filter((r) => !r.pass).map((r) => `${r.quantity}: max abs ${r.maxAbs} (${r.tolerance})`)).toEqual([]);
  });
});
