/**
 * Generation from an adapter (model/loraFromAdapter.ts) and from the exported BF16 merge (generate/mergedModel.ts)
 * on the demo Instruct model, each against the CPU reference of the same weights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { createGenerator } from '../../src/engine/generate/generate';
import { loadMergedModel } from '../../src/engine/generate/mergedModel';
import { LoraError } from '../../src/engine/model/lora';
import { loraParamsFromAdapter } from '../../src/engine/model/loraFromAdapter';
import { destroyGpuModel } from '../../src/engine/model/model';
import { modulePath } from '../../src/engine/model/weights';
import { loadRefModel, refForwardLogits, type RefLora, type RefModel } from '../../src/engine/reference/model';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { replyPromptIds } from '../../src/app/generate';
import { loadPair, randomAdapter, type LoadedPair } from '../support/genModels';
import { testGpu } from './device';

let ctx: GpuContext;
let inst: LoadedPair;
let prompt: number[];
const greedy = { maxNewTokens: 40, temperature: 0, topP: 1, seed: 0 };

beforeAll(async () => {
  ctx = await testGpu();
  inst = await loadPair(ctx, 'public/demo/stories260K-instruct');
  prompt = replyPromptIds(await loadChatTokenizer(inst.files), 'Write a story about a frog named Pip.');
});
afterAll(() => {
  if (inst) destroyGpuModel(inst.gpu);
});

/** argmax per row P−1+i of one CPU forward over prompt + ids (teacher forcing = full-recompute greedy). */
function cpuTokens(ref: RefModel, ids: number[], lora: RefLora | null): number[] {
  const V = ref.cfg.vocabSize;
  const all = refForwardLogits(ref, [...prompt, ...ids.slice(0, -1)], lora, 'all');
  return ids.map((_, i) => {
    const row = prompt.length - 1 + i;
    let best = 0;
    for (let v = 1; v < V; v++) if ((all[row * V + v] as number) > (all[row * V + best] as number)) best = v;
    return best;
  });
}

describe('generation from adapters and merges', () => {
  it('an adapter missing some modules is uploaded with zeros there and matches the CPU reference', async () => {
    const full = randomAdapter(inst.cfg, 4, 8, 21, 0.2);
    const modules = new Map(full.modules);
    modules.delete(modulePath(1, 'q_proj'));
    modules.delete(modulePath(3, 'down_proj'));
    const lora = loraParamsFromAdapter(ctx, inst.cfg, { settings: full.settings, modules });
    const gen = createGenerator(ctx, inst.gpu, 128);
    try {
      const out = await gen.generate(prompt, greedy, { lora });
      expect(cpuTokens(inst.ref, out.newIds, { r: 4, scaling: 2, modules })).toEqual(out.newIds);
    } finally {
      gen.destroy();
      lora.destroy();
    }
  });

  it('refuses an adapter whose shapes do not fit, naming the tensor', () => {
    const a = randomAdapter(inst.cfg, 4, 8, 1);
    const bad = new Map(a.modules);
    const p = modulePath(2, 'up_proj');
    const w = bad.get(p)!;
    bad.set(p, { ...w, inFeatures: w.inFeatures + 1, a: new Float32Array(4 * (w.inFeatures + 1)) });
    expect(() => loraParamsFromAdapter(ctx, inst.cfg, { settings: a.settings, modules: bad })).toThrow(LoraError);
    expect(() => loraParamsFromAdapter(ctx, inst.cfg, { settings: a.settings, modules: bad })).toThrow(/base_model\.model\.model\.layers\.2\.mlp\.up_proj\.lora_A\.weight/);
    const extra = new Map(a.modules);
    extra.set('model.layers.9.self_attn.q_proj', a.modules.get(modulePath(0, 'q_proj'))!);
    expect(() => loraParamsFromAdapter(ctx, inst.cfg, { settings: a.settings, modules: extra })).toThrow(/layers\.9.*no targeted module/);
  });

  it('the exported BF16 merge generates like the CPU reference of the merged file, and close to the f32 graft', async () => {
    const a = randomAdapter(inst.cfg, 4, 8, 5, 0.1);
    const { model, checkpoint } = await loadMergedModel(ctx, inst.files, inst.cfg, a);
    const gen = createGenerator(ctx, model, 128);
    const genI = createGenerator(ctx, inst.gpu, 128);
    const lora = loraParamsFromAdapter(ctx, inst.cfg, a);
    try {
      const first: Float32Array[] = [];
      const out = await gen.generate(prompt, greedy, { onLogits: (l, i) => i === 0 && first.push(l) });
      const mergedRef = await loadRefModel(inst.cfg, checkpoint);
      expect(cpuTokens(mergedRef, out.newIds, null)).toEqual(out.newIds);
      // The merge changes the weights (BF16), and its first logits sit near the f32 graft's, far from Instruct's.
      const graft = await genI.lastLogits(prompt, lora);
      const plain = await genI.lastLogits(prompt, null);
      const dist = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - (y[i] as number))), 0);
      expect(dist(first[0]!, graft)).toBeLessThan(0.25 * dist(graft, plain));
    } finally {
      gen.destroy();
      genI.destroy();
      lora.destroy();
      destroyGpuModel(model);
    }
  });
});
