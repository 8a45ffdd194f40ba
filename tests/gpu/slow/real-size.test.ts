/**
 * One LoRA training step on a real-shaped Qwen3-0.6B (../shared/configs/Qwen__Qwen3-0.6B: V = 151936, C = 1024,
 * tied embeddings, q/k norms) with the layer count cut to 1, random BF16 weights with the real names and shapes in a
 * temporary safetensors file, B = 1, T = 8, under the WebGPU spec's default limits (maxBufferSize 256 MiB,
 * maxStorageBufferBindingSize 128 MiB) — so the 297 MiB embedding must be stored as 10 row chunks and the head must
 * run by vocabulary chunks. Checks: the memory plan fits and equals what is allocated; the step's loss is finite and
 * equals an f64 CPU cross-entropy over the full vocabulary computed from the GPU's final hidden states; the LoRA
 * gradient norm is finite and non-zero and AdamW moved lora_B off zero.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readF32 } from '../../../src/engine/gpu/buffers';
import type { GpuContext } from '../../../src/engine/gpu/context';
import { createActivations } from '../../../src/engine/model/activations';
import { createLoraParams, readLoraTensors } from '../../../src/engine/model/lora';
import { destroyGpuModel, makeGpuModel, shiftLabels } from '../../../src/engine/model/model';
import { loadModelWeights } from '../../../src/engine/model/weights';
import { describePlan } from '../../../src/engine/plan/advice';
import { planMemory } from '../../../src/engine/plan/memory';
import { defaultTrainSettings } from '../../../src/engine/train/defaults';
import { trainStep } from '../../../src/engine/train/step';
import type { TrainSettings } from '../../../src/engine/train/types';
import { openCheckpoint } from '../../../src/io/checkpoint';
import { normalizeConfig } from '../../../src/io/config';
import { decodeToF32 } from '../../../src/io/dtype';
import { encodeSafetensorsHeader, safetensorsOrder } from '../../../src/io/safetensors';
import { modelFilesFromDir } from '../../../src/node/files';
import { testGpu } from '../device';

const raw = JSON.parse(readFileSync('../shared/configs/Qwen__Qwen3-0.6B/config.json', 'utf8')) as Record<string, unknown>;
const cfg = normalizeConfig({ ...raw, num_hidden_layers: 1 }, 'Qwen3-0.6B (1 layer)/config.json');
const SPEC_DEFAULT = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };

/** Random BF16 bits: matrices ±[2^-9, 2^-5) with a random mantissa, norm weights in [1, 2). */
function randomBf16(n: number, seed: number, norm: boolean): Uint16Array {
  const out = new Uint16Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const r = s >>> 0;
    out[i] = norm ? 0x3f80 | (r & 0x7f) : (r >>> 31 ? 0x8000 : 0) | ((118 + ((r >>> 7) % 4)) << 7) | (r & 0x7f);
  }
  return out;
}

/** Real tensor names and shapes of a 1-layer Qwen3-0.6B. */
function tensorList(): { name: string; shape: number[] }[] {
  const { vocabSize: V, hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: KV, headDim: D } = cfg;
  const p = 'model.layers.0';
  return [
    { name: 'model.embed_tokens.weight', shape: [V, C] },
    { name: `${p}.input_layernorm.weight`, shape: [C] },
    { name: `${p}.self_attn.q_proj.weight`, shape: [H * D, C] },
    { name: `${p}.self_attn.k_proj.weight`, shape: [KV * D, C] },
    { name: `${p}.self_attn.v_proj.weight`, shape: [KV * D, C] },
    { name: `${p}.self_attn.o_proj.weight`, shape: [C, H * D] },
    { name: `${p}.self_attn.q_norm.weight`, shape: [D] },
    { name: `${p}.self_attn.k_norm.weight`, shape: [D] },
    { name: `${p}.post_attention_layernorm.weight`, shape: [C] },
    { name: `${p}.mlp.gate_proj.weight`, shape: [I, C] },
    { name: `${p}.mlp.up_proj.weight`, shape: [I, C] },
    { name: `${p}.mlp.down_proj.weight`, shape: [C, I] },
    { name: 'model.norm.weight', shape: [C] },
  ];
}

let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('real-size Qwen3-0.6B (1 layer) on the CPU WebGPU adapter', () => {
  it('plans, loads under 128 MiB bindings and runs one LoRA step whose loss matches an f64 full-vocabulary reference', async () => {
    const real = await testGpu();
    const ctx: GpuContext = { ...real, limits: { ...real.limits, ...SPEC_DEFAULT } };
    // Write the checkpoint.
    dir = await mkdtemp(join(tmpdir(), 'shadowft-qwen3-real-size-'));
    // Written in the reference writer's order; each tensor keeps the seed of its place in tensorList().
    const names = tensorList().map((t) => t.name);
    const list = safetensorsOrder(tensorList().map((t) => ({ ...t, dtype: 'BF16' as const })));
    const data = list.map((t) => randomBf16(t.shape.reduce((a, b) => a * b, 1), 1000 + names.indexOf(t.name), t.name.endsWith('norm.weight')));
    const fh = await open(join(dir, 'model.safetensors'), 'w');
    await fh.write(encodeSafetensorsHeader(list.map((t, k) => ({ ...t, byteLength: (data[k] as Uint16Array).byteLength }))));
    for (const d of data) await fh.write(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    await fh.close();
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...raw, num_hidden_layers: 1 }));
    const ckpt = await openCheckpoint(await modelFilesFromDir(dir, 'qwen3-0.6b-1layer'));

    // Plan with the settings of the step (B = 1, T = 8, r = 8, recompute), then allocate exactly that.
    const T = 8;
    const settings: TrainSettings = { ...defaultTrainSettings(cfg, 1, { limits: { ...ctx.limits }, weightsDtypeBytes: 2 }), batchSize: 1, maxLength: T, recompute: true, lora: { r: 8, alpha: 16, dropout: 0, useRslora: false, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] } };
    const plan = planMemory(cfg, settings, 2, ctx.limits);
    console.log(`Qwen3-0.6B, 1 layer, B=1 T=${T} r=8 recompute, 128 MiB bindings\n${describePlan(plan)}`);
    expect(plan.fits).toBe(true);
    expect(plan.embedChunks).toBe(10);
    const weights = await loadModelWeights(ctx, cfg, ckpt);
    const model = makeGpuModel(cfg, weights);
    const acts = createActivations(ctx, cfg, 1, T, settings.lora.r, settings.lora.targetModules, { recompute: true });
    const lora = createLoraParams(ctx, cfg, settings.lora, { seed: 3 });
    try {
      expect(weights.embed.chunks.length).toBe(10);
      expect(weights.embed.chunks.every((c) => c.buffer.size <= SPEC_DEFAULT.maxStorageBufferBindingSize)).toBe(true);
      expect([weights.gpuBytes, acts.bytes, lora.bytes]).toEqual([plan.weightBytes, plan.activationBytes, plan.loraBytes]);

      // One step on a sequence with 6 label tokens.
      const inputIds = Int32Array.from([151644, 872, 198, 9707, 1879, 0, 151936 - 1, 77777]);
      const labels = Int32Array.from([-100, -100, 198, 9707, 1879, 0, 151935, 77777]);
      const batch = { batchSize: 1, seqLen: T, inputIds, labels, numItems: 6 };
      const r = await trainStep(ctx, model, acts, lora, [batch], { lr: 1e-3, step: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(Number.isFinite(r.gradNorm) && r.gradNorm > 0).toBe(true);

      // f64 reference of the loss from the GPU's final hidden states (before the optimizer step) and the BF16 table.
      const hF = await readF32(ctx, acts.hF, 0, T * cfg.hiddenSize);
      const losses = await readF32(ctx, acts.losses, 0, T);
      const E = decodeToF32(new Uint8Array((data[list.findIndex((t) => t.name === 'model.embed_tokens.weight')] as Uint16Array).buffer), 'BF16');
      const targets = shiftLabels(labels, 1, T);
      const C = cfg.hiddenSize;
      let sum = 0;
      for (let m = 0; m < T; m++) {
        const t = targets[m] as number;
        if (t === -100) {
          // WGSL does not promise a sign on zero (lavapipe writes −0 here), so compare by value.
          expect(losses[m] === 0, `row ${m}: ignored row loss ${losses[m]}`).toBe(true);
          continue;
        }
        const h = Float64Array.from(hF.subarray(m * C, (m + 1) * C));
        const logits = new Float64Array(cfg.vocabSize);
        let mx = -Infinity;
        for (let v = 0; v < cfg.vocabSize; v++) {
          let acc = 0;
          for (let c = 0; c < C; c++) acc += (h[c] as number) * (E[v * C + c] as number);
          logits[v] = acc;
          mx = Math.max(mx, acc);
        }
        let se = 0;
        for (const x of logits) se += Math.exp(x - mx);
        const want = mx + Math.log(se) - (logits[t] as number);
        expect(Math.abs((losses[m] as number) - want), `row ${m}: GPU ${losses[m]}, f64 ${want}`).toBeLessThan(2e-4);
        sum += want;
      }
      expect(Math.abs(r.loss - sum / 6)).toBeLessThan(2e-4);
      const moved = [...(await readLoraTensors(ctx, lora)).values()].filter((w) => w.b.some((x) => x !== 0)).length;
      expect(moved).toBe(7);
    } finally {
      lora.destroy();
      acts.destroy();
      destroyGpuModel(model);
    }
  });
});
