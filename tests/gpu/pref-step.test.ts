/**
 * The preference step (src/engine/train/prefStep.ts) on llama-tiny with the case-5 fixture's pairs and LoRA init:
 * gradient accumulation over micro-batches of one pair (each padded to its own length) equals one micro-batch of both
 * pairs (the mean over the step's pairs), for the sigmoid loss and the length-normalised ipo loss, with and without
 * activation recomputation; the reference pass equals the policy pass with the adapter at B = 0 (adapter off).
 * (The values themselves are checked against PyTorch in tests/gpu/fixtures.test.ts, case 5.)
 */
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/io/config';
import { openCheckpoint } from '../../src/io/checkpoint';
import { labelCountsOf } from '../../src/io/dataset/prefBatches';
import type { PreferenceBatch } from '../../src/io/dataset/types';
import { decodeToF32 } from '../../src/io/dtype';
import { readSafetensorsHeader, readTensorBytes } from '../../src/io/safetensors';
import { createActivations } from '../../src/engine/model/activations';
import { createLoraParams, readLoraTensors } from '../../src/engine/model/lora';
import { TARGET_MODULES, type LoraModuleWeights, type LoraSettings } from '../../src/engine/model/loraTypes';
import { destroyGpuModel, makeGpuModel } from '../../src/engine/model/model';
import { loadModelWeights, modulePath } from '../../src/engine/model/weights';
import { PREF_DEFAULTS, type PrefLossOptions } from '../../src/engine/train/prefLoss';
import { createPrefStepBuffers, prefTrainStep, referenceLogps, sequenceLogps, type PairLogps } from '../../src/engine/train/prefStep';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

const DIR = '../shared/fixtures/llama-tiny';

async function setup() {
  const ctx = await testGpu();
  const files = await modelFilesFromDir(DIR);
  const cfg = normalizeConfig(JSON.parse(await (files.files.get('config.json') as Blob).text()), 'config.json');
  const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, await openCheckpoint(files)));
  const blob = files.files.get('dpo_step.safetensors') as Blob;
  const h = await readSafetensorsHeader(blob, 'dpo_step.safetensors');
  const t = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const info of h.tensors.values()) t.set(info.name, { shape: info.shape, data: decodeToF32(await readTensorBytes(blob, info), info.dtype) });
  const get = (k: string) => t.get(k) as { shape: readonly number[]; data: Float32Array };
  const [P, T] = get('chosen_input_ids').shape as [number, number];
  const row = (k: string, i: number) => get(k).data.subarray(i * T, (i + 1) * T);
  /** A preference batch of the given pairs, cut to the longest real row (labels/ids end with padding 0 / -100). */
  const batchOf = (pairs: number[]): PreferenceBatch => {
    const rows = [...pairs.map((i) => ['chosen', i] as const), ...pairs.map((i) => ['rejected', i] as const)];
    const len = Math.max(...rows.map(([k, i]) => { const l = row(`${k}_labels`, i); let n = T; while (n > 0 && l[n - 1] === -100) n--; return n; }));
    const ids = Int32Array.from(rows.flatMap(([k, i]) => Array.from(row(`${k}_input_ids`, i).subarray(0, len))));
    const labels = Int32Array.from(rows.flatMap(([k, i]) => Array.from(row(`${k}_labels`, i).subarray(0, len))));
    const labelCounts = labelCountsOf(labels, rows.length, len);
    return { batchSize: rows.length, seqLen: len, inputIds: ids, labels, numItems: labelCounts.reduce((a, b) => a + b, 0), pairs: pairs.length, labelCounts, sources: pairs.map((i) => `pair ${i}`) };
  };
  const settings: LoraSettings = { r: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] };
  const init = new Map<string, LoraModuleWeights>();
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const m of TARGET_MODULES) {
      const path = modulePath(l, m);
      const a = get(`base_model.model.${path}.lora_A.weight`);
      const b = get(`base_model.model.${path}.lora_B.weight`);
      init.set(path, { a: a.data, b: b.data, inFeatures: a.shape[1] as number, outFeatures: b.shape[0] as number });
    }
  }
  return { ctx, cfg, model, batchOf, settings, init, P, T };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** Raw gradients (flattened in slot order) and the loss of one step over `micro`, lr 0 so nothing moves. */
async function grads(s: Setup, micro: PreferenceBatch[], pref: PrefLossOptions, recompute: boolean) {
  const { ctx, cfg, model, settings, init } = s;
  const acts = createActivations(ctx, cfg, 2 * s.P, s.T, settings.r, settings.targetModules, { recompute });
  const lora = createLoraParams(ctx, cfg, settings, init);
  const buffers = createPrefStepBuffers(ctx, acts);
  try {
    const refs: PairLogps[] = await referenceLogps(ctx, model, acts, micro);
    const r = await prefTrainStep(ctx, model, acts, lora, micro, refs, { lr: 0, step: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 }, pref, buffers);
    const g = [...(await readLoraTensors(ctx, lora, 'grads')).values()].flatMap((w) => [...w.a, ...w.b]);
    return { loss: r.loss, g: Float64Array.from(g), policy: r.policy, refs };
  } finally {
    buffers.destroy();
    lora.destroy();
    acts.destroy();
  }
}

function maxDiffRel(a: Float64Array, b: Float64Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
    m = Math.max(m, Math.abs(b[i] as number));
  }
  return d / m;
}

describe('preference step on the GPU (llama-tiny, case-5 pairs)', () => {
  it.each([['sigmoid', false], ['ipo', false], ['sigmoid', true]] as const)('%s (recompute %s): accumulation over 1-pair micro-batches = one 2-pair micro-batch (mean over pairs)', async (lossType, recompute) => {
    const s = await setup();
    try {
      const pref = { ...PREF_DEFAULTS, lossType, ftx: lossType === 'ipo' ? 0.5 : 0 };
      const one = await grads(s, [s.batchOf([0, 1])], pref, recompute);
      const two = await grads(s, [s.batchOf([0]), s.batchOf([1])], pref, recompute);
      expect(Math.abs(one.loss - two.loss)).toBeLessThan(1e-5);
      expect(maxDiffRel(two.g, one.g)).toBeLessThan(1e-5);
      expect(Math.max(...one.g.map(Math.abs))).toBeGreaterThan(1e-3);
      // per-pair log-probs do not depend on the padding to another pair's length
      expect(maxDiffRel(Float64Array.from([...two.policy.chosen, ...two.policy.rejected]), Float64Array.from([...one.policy.chosen, ...one.policy.rejected]))).toBeLessThan(1e-6);
    } finally {
      destroyGpuModel(s.model);
    }
  });

  it('the reference log-probs equal the policy with an adapter whose B is 0, and differ from the fixture-initialised policy', async () => {
    const s = await setup();
    try {
      const b = s.batchOf([0, 1]);
      const acts = createActivations(s.ctx, s.cfg, b.batchSize, b.seqLen, 4, s.settings.targetModules);
      const zeroB = new Map([...s.init].map(([k, w]) => [k, { ...w, b: new Float32Array(w.b.length) }]));
      const lz = createLoraParams(s.ctx, s.cfg, s.settings, zeroB);
      const li = createLoraParams(s.ctx, s.cfg, s.settings, s.init);
      const [ref] = await referenceLogps(s.ctx, s.model, acts, [b]);
      const off = await sequenceLogps(s.ctx, s.model, acts, lz, b);
      const on = await sequenceLogps(s.ctx, s.model, acts, li, b);
      expect(Array.from(off)).toEqual([...(ref as PairLogps).chosen, ...(ref as PairLogps).rejected]);
      expect(Math.max(...on.map((v, i) => Math.abs(v - (off[i] as number))))).toBeGreaterThan(0.1);
      lz.destroy();
      li.destroy();
      acts.destroy();
    } finally {
      destroyGpuModel(s.model);
    }
  });

  it('refuses a missing reference for a reference-based loss, naming the micro-batch', async () => {
    const s = await setup();
    const acts = createActivations(s.ctx, s.cfg, 2 * s.P, s.T, 4, s.settings.targetModules);
    const lora = createLoraParams(s.ctx, s.cfg, s.settings, s.init);
    const buffers = createPrefStepBuffers(s.ctx, acts);
    const opt = { lr: 0, step: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 };
    await expect(prefTrainStep(s.ctx, s.model, acts, lora, [s.batchOf([0])], [null], opt, PREF_DEFAULTS, buffers)).rejects.toThrow(/micro-batch 1 \(pair 0\) has no reference log-probs; pref_loss sigmoid needs them/);
    const simpo = await prefTrainStep(s.ctx, s.model, acts, lora, [s.batchOf([0])], [null], opt, { ...PREF_DEFAULTS, lossType: 'simpo' }, buffers);
    expect(Number.isFinite(simpo.loss) && simpo.gradNorm > 0).toBe(true);
    buffers.destroy();
    lora.destroy();
    acts.destroy();
    destroyGpuModel(s.model);
  });
});
