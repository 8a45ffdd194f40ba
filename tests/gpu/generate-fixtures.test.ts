/**
 * Generation on the fixtures' tiny Llama / Qwen2 (BF16, q/k/v biases) / Qwen3 (q/k norm, head_dim ≠ C/H) / Gemma 3
 * (sliding window 8, so the 8-token prompt + 40 new tokens decode far past the window) models:
 * greedy tokens equal the CPU reference (engine/reference/model.ts, full recompute) for 40 new tokens, with and
 * without a LoRA, and the cached decode's logits equal a full recompute of the sequence at every step.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createGenerator } from '../../src/engine/generate/generate';
import { createLoraParams } from '../../src/engine/model/lora';
import { destroyGpuModel } from '../../src/engine/model/model';
import { refForwardLogits, type RefLora } from '../../src/engine/reference/model';
import { loadPair, randomAdapter, type LoadedPair } from '../support/genModels';
import { testGpu } from './device';

const NEW = 40;
const PROMPT = [1, 17, 42, 99, 5, 200, 31, 7];
const loaded: LoadedPair[] = [];

afterAll(() => loaded.forEach((p) => destroyGpuModel(p.gpu)));

/** argmax of every row P−1+i of one causal CPU forward over prompt + ids (teacher forcing = full-recompute greedy). */
function cpuTokens(p: LoadedPair, ids: number[], lora: RefLora | null): number[] {
  const V = p.cfg.vocabSize;
  const all = refForwardLogits(p.ref, [...PROMPT, ...ids.slice(0, -1)], lora, 'all');
  return ids.map((_, i) => {
    const row = PROMPT.length - 1 + i;
    let best = 0;
    for (let v = 1; v < V; v++) if ((all[row * V + v] as number) > (all[row * V + best] as number)) best = v;
    return best;
  });
}

describe.each(['llama-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gemma3-tiny'])('generation on fixture %s', (name) => {
  it('greedy (no LoRA and LoRA) equals the CPU reference for 40 tokens; cached logits equal a full recompute', async () => {
    const ctx = await testGpu();
    const p = await loadPair(ctx, `../shared/fixtures/${name}`);
    loaded.push(p);
    const gen = createGenerator(ctx, p.gpu, 64);
    const a = randomAdapter(p.cfg, 4, 8, 11, 0.1);
    const lora = createLoraParams(ctx, p.cfg, a.settings, a.modules);
    try {
      const settings = { maxNewTokens: NEW, temperature: 0, topP: 1, seed: 0 };
      const plainSteps: Float32Array[] = [];
      const plain = await gen.generate(PROMPT, settings, { onLogits: (l) => plainSteps.push(l) });
      const steps: Float32Array[] = [];
      const tuned = await gen.generate(PROMPT, settings, { lora, onLogits: (l) => steps.push(l) });
      expect(plain.newIds.length).toBe(NEW);
      expect(cpuTokens(p, plain.newIds, null)).toEqual(plain.newIds);
      expect(cpuTokens(p, tuned.newIds, { r: 4, scaling: 2, modules: a.modules })).toEqual(tuned.newIds);
      // The adapter changes the answer's logits (gemma3-tiny's greedy answer is one repeated token with or without it:
      // its post-branch norms bound what a LoRA adds to the √C-scaled residual, so tokens alone would not show it).
      const moved = Math.max(...Array.from(steps[0]!, (v, i) => Math.abs(v - (plainSteps[0]![i] as number))));
      expect(moved).toBeGreaterThan(1e-2);
      if (name !== 'gemma3-tiny') expect(tuned.newIds).not.toEqual(plain.newIds);
      let worst = 0;
      for (const i of [0, 1, 7, 20, NEW - 1]) {
        const full = await gen.lastLogits([...PROMPT, ...tuned.newIds.slice(0, i)], lora);
        const cached = steps[i]!;
        for (let v = 0; v < full.length; v++) worst = Math.max(worst, Math.abs((cached[v] as number) - (full[v] as number)));
      }
      expect(worst).toBeLessThan(1e-4);
    } finally {
      lora.destroy();
      gen.destroy();
    }
  });
});
