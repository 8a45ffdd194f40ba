/**
 * Generation on the stories260K demo pair with our WGSL engine and its KV cache, against the independent CPU
 * reference (engine/reference/model.ts, f64, full recompute): Base, Instruct and Instruct + a LoRA with non-zero B.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { createGenerator, type Generator } from '../../src/engine/generate/generate';
import { modelStopTokenIds } from '../../src/engine/generate/stopTokens';
import { createLoraParams, type LoraParams } from '../../src/engine/model/lora';
import { destroyGpuModel } from '../../src/engine/model/model';
import { refForwardLogits, refGreedy } from '../../src/engine/reference/model';
import { loadChatTokenizer, type ChatTokenizer } from '../../src/io/tokenizer/load';
import { renderChat } from '../../src/io/tokenizer/render';
import { loadPair, randomAdapter, type LoadedPair } from '../support/genModels';
import { testGpu } from './device';

const DEMO = 'public/demo';
const PROMPTS = ['Write a story about a dog named Max.', 'Tell me a story about a big red ball.', 'Write a short story with a title about a boat called Fluffy.'];
const NEW = 40;

let ctx: GpuContext;
let base: LoadedPair;
let inst: LoadedPair;
let tok: ChatTokenizer;
let genB: Generator;
let genI: Generator;
let lora: LoraParams;
const adapter = { r: 4, alpha: 8, seed: 7 };

function promptIds(text: string): number[] {
  return tok.encode(renderChat(tok, [{ role: 'user', content: text }], true), false);
}

/** Argmax of each row of [T, V] logits. */
function rowArgmax(logits: Float64Array, V: number, row: number): number {
  let best = 0;
  for (let i = 1; i < V; i++) if ((logits[row * V + i] as number) > (logits[row * V + best] as number)) best = i;
  return best;
}

/**
 * Greedy CPU check by teacher forcing: one causal forward of prompt + gpu tokens; for a causal model the row of
 * position P−1+i is exactly the full-recompute logits after i generated tokens, so CPU greedy equals the GPU tokens
 * token for token iff every row's argmax is the next GPU token.
 */
function cpuAgrees(p: LoadedPair, prompt: number[], ids: number[], loraRef: Parameters<typeof refForwardLogits>[2]): number[] {
  const V = p.cfg.vocabSize;
  const all = refForwardLogits(p.ref, [...prompt, ...ids.slice(0, -1)], loraRef, 'all');
  return ids.map((_, i) => rowArgmax(all, V, prompt.length - 1 + i));
}

beforeAll(async () => {
  ctx = await testGpu();
  base = await loadPair(ctx, `${DEMO}/stories260K-base`);
  inst = await loadPair(ctx, `${DEMO}/stories260K-instruct`);
  tok = await loadChatTokenizer(inst.files);
  genB = createGenerator(ctx, base.gpu, 256);
  genI = createGenerator(ctx, inst.gpu, 256);
  const a = randomAdapter(inst.cfg, adapter.r, adapter.alpha, adapter.seed);
  lora = createLoraParams(ctx, inst.cfg, a.settings, a.modules);
});

afterAll(() => {
  genB?.destroy();
  genI?.destroy();
  lora?.destroy();
  if (base) destroyGpuModel(base.gpu);
  if (inst) destroyGpuModel(inst.gpu);
});

const greedy = { maxNewTokens: NEW, temperature: 0, topP: 1, seed: 0 };

describe('greedy generation on the demo pair equals the CPU reference token for token', () => {
  it.each(PROMPTS)('Base, Instruct and Instruct + LoRA: %s', async (text) => {
    const prompt = promptIds(text);
    const a = randomAdapter(inst.cfg, adapter.r, adapter.alpha, adapter.seed);
    const loraRef = { r: adapter.r, scaling: adapter.alpha / adapter.r, modules: a.modules };
    const outB = await genB.generate(prompt, greedy);
    const outI = await genI.generate(prompt, greedy);
    const outL = await genI.generate(prompt, greedy, { lora });
    for (const o of [outB, outI, outL]) {
      expect(o.newIds.length).toBe(NEW);
      expect(o.stopped).toBe(false);
    }
    expect(cpuAgrees(base, prompt, outB.newIds, null)).toEqual(outB.newIds);
    expect(cpuAgrees(inst, prompt, outI.newIds, null)).toEqual(outI.newIds);
    expect(cpuAgrees(inst, prompt, outL.newIds, loraRef)).toEqual(outL.newIds);
    // The LoRA really changes the answer, and Base differs from Instruct.
    expect(outL.newIds).not.toEqual(outI.newIds);
    expect(outB.newIds).not.toEqual(outI.newIds);
  });

  it('the CPU greedy loop with a full recompute per token gives the same 16 tokens (Instruct + LoRA, first prompt)', async () => {
    const prompt = promptIds(PROMPTS[0]!);
    const a = randomAdapter(inst.cfg, adapter.r, adapter.alpha, adapter.seed);
    const ref = refGreedy(inst.ref, prompt, 16, new Set(), { r: adapter.r, scaling: adapter.alpha / adapter.r, modules: a.modules });
    const out = await genI.generate(prompt, { ...greedy, maxNewTokens: 16 }, { lora });
    expect(ref.newIds.length).toBe(16);
    expect(out.newIds).toEqual(ref.newIds);
  });
});

describe('KV cache', () => {
  it('cached decode logits equal recomputing the whole sequence at every step (Instruct + LoRA)', async () => {
    const prompt = promptIds(PROMPTS[1]!);
    const steps: Float32Array[] = [];
    const out = await genI.generate(prompt, { ...greedy, maxNewTokens: 24 }, { lora, onLogits: (l) => steps.push(l) });
    expect(steps.length).toBe(24);
    let worst = 0;
    for (let i = 0; i < steps.length; i++) {
      const full = await genI.lastLogits([...prompt, ...out.newIds.slice(0, i)], lora);
      const cached = steps[i]!;
      for (let v = 0; v < full.length; v++) worst = Math.max(worst, Math.abs((cached[v] as number) - (full[v] as number)));
    }
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('stop ids', () => {
  it('Instruct stops at </s> and reproduces the PyTorch greedy sample of REFERENCE_RESULTS.md', async () => {
    const { ids: stop } = await modelStopTokenIds(inst.files, inst.cfg, tok);
    expect([...stop]).toEqual([2]);
    const prompt = promptIds('Write a story about a dog named Max.');
    const out = await genI.generate(prompt, { ...greedy, maxNewTokens: 160 }, { stopIds: stop });
    expect(out.stopped).toBe(true);
    expect(out.newIds).not.toContain(2);
    expect(tok.decode(out.newIds, true).trim()).toBe(
      "Once upon a time, there was a dog named Max. Max loved to play with his toys and run around. One day, Max's mom told him to be careful and not find anything. Max was very excited to play with his toys.\nMax was very excited to play with his toys. He went to the toy car and saw a big box.",
    );
  });
});
