/**
 * Step speed as a fraction of what the adapter's own matmul reaches, measured side by side in one run on the Node
 * WebGPU adapter (Dawn on lavapipe or SwiftShader without a GPU; a real GPU elsewhere):
 * - matmul_peak_gflops: the best GFLOP/s (2·M·N·K per product, GPU timestamps) of our matmul kernels (tiled and
 *   register-blocked, x·Wᵀ, BF16 W) over a few large shapes and the demo's linear shapes, the denominator of the MFU lines
 *   (each MFU line also gives the ratio to the best at the large shapes alone, since CPU adapters run the demo's small,
 *   cache-resident shapes up to 3× faster than 1024³);
 * - step_mfu_demo: required FLOPs (src/engine/plan/flops.ts: frozen linears forward + input gradient, LoRA paths,
 *   causal attention forward + backward, lm_head forward + dH; no frozen-weight gradients) of one default demo
 *   optimizer step (stories260K, r 8 on all seven linears, batch 8, the first batch of the training order) ÷ its
 *   wall time (trainStep: upload, forward, backward, clip, AdamW, one read-back; median of 3 after a warm-up) ÷
 *   matmul_peak_gflops;
 * - step_mfu_demo_dpo: the same counting for one default demo DPO step (stage dpo, story-titles-pref, 8 pairs = 16
 *   sequences per micro-batch, the first step of the pair order): required FLOPs of forward + backward over both
 *   sequences of every pair ÷ the wall time of prefTrainStep (forward, token-NLL read-back, CPU loss, backward with
 *   the per-row scale, clip, AdamW; median of 3) ÷ matmul_peak_gflops; the reference pass (a forward of the same
 *   pairs with the adapter off, done once per pair before training) is reported separately as
 *   step_mfu_demo_dpo_reference (forward FLOPs of plan/flops.ts forwardFlops-style counting: frozen linears and
 *   lm_head forward, attention forward);
 * - step_mfu_qwen3_shape: the same for a generated 2-layer model shaped like Qwen3-0.6B (C 1024, H 16, KV 8, D 128,
 *   MLP 3072, V 151936, BF16, tied) with LoRA r 16 on all seven linears, B 1 × T 256;
 * - step_mfu_gemma3_270m_shape: the same for a generated 2-layer model shaped like Gemma 3 270M (C 640, H 4, KV 1,
 *   D 256, MLP 2048, V 262144, one sliding and one full layer, BF16, tied) with LoRA r 16 on all seven linears, B 1 × T 256;
 * - step_mfu_demo_full, step_mfu_qwen3_shape_full: the same two steps with full-parameter training (f32 masters of every
 *   tensor, every weight gradient, AdamW on all; required FLOPs add dW = dyᵀ·x and the head's dE: requiredFullStepFlops);
 * - weight_grad_gflops_*: a linear's weight-gradient product dW = dyᵀ·x (K = tokens) beside its forward x·Wᵀ
 *   (bench/fullStep.ts), at the demo's and the Qwen3-0.6B shape's linears;
 * - host_us_per_dispatch: host time to encode one demo micro-batch ÷ its dispatches, beside the same count of
 *   pre-built dispatches (one pipeline, one bind group) encoded in a raw loop.
 * Run: npm run bench.
 */
import { benchReport } from './report';
import { openAsBlob, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { createStorage, uploadStorage } from '../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../src/engine/gpu/context';
import { getPipeline } from '../src/engine/gpu/pipeline';
import { startProfiler } from '../src/engine/gpu/profiler';
import { uploadWeight } from '../src/engine/gpu/weights';
import { matmul, matmulReg, type MatmulArgs } from '../src/engine/kernels/matmul';
import { createActivations } from '../src/engine/model/activations';
import { createLoraParams } from '../src/engine/model/lora';
import { makeGpuModel, type GpuModel } from '../src/engine/model/model';
import { loadModelWeights } from '../src/engine/model/weights';
import { requiredStepFlops } from '../src/engine/plan/flops';
import { defaultTrainSettings } from '../src/engine/train/defaults';
import { profileMicroBatch } from '../src/engine/train/profileStep';
import { planSteps } from '../src/engine/train/run';
import { planPrefSteps } from '../src/engine/train/prefRun';
import { createPrefStepBuffers, prefTrainStep, referenceLogps } from '../src/engine/train/prefStep';
import { prefOptionsOf } from '../src/engine/train/prefSettings';
import { preparePairSplit } from '../src/io/tokenizer/pairs';
import { createStepStats, trainStep } from '../src/engine/train/step';
import { type TrainSettings } from '../src/engine/train/types';
import { TARGET_MODULES } from '../src/engine/model/loraTypes';
import { openCheckpoint } from '../src/io/checkpoint';
import { normalizeConfig, readModelConfig } from '../src/io/config';
import type { Batch, PreferenceBatch } from '../src/io/dataset/types';
import { readDatasetFile } from '../src/io/dataset/parse';
import { encodeFromF32 } from '../src/io/dtype';
import { loadChatTokenizer } from '../src/io/tokenizer/load';
import { tokenizeDataset } from '../src/io/tokenizer/labels';
import { modelFilesFromDir } from '../src/node/files';
import { createNodeGpuContext } from '../src/node/gpu';
import { genPair } from '../tests/support/genPair';
import { gemma3Layers } from '../tests/support/gemmaConfigs';
import { timeFullSteps, weightGradGflops } from './fullStep';

const ctx: GpuContext = await createNodeGpuContext();
const { emit, printSummary } = benchReport(ctx);
let peak = NaN;
/** Best GFLOP/s at the large shapes only (512³–1024³): CPU adapters run the demo's small, cache-resident shapes faster. */
let peakLarge = NaN;
const stepRate: Record<string, number> = {};

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

/** GPU seconds of `reps` dispatches of `args` (timestamps), after one untimed call that compiles. */
async function matmulSeconds(args: MatmulArgs, reps: number, kernel: typeof matmul = matmul): Promise<number> {
  let enc = ctx.device.createCommandEncoder();
  kernel(ctx, enc, args);
  await submitAndWait(ctx, [enc.finish()]);
  const prof = startProfiler(ctx);
  enc = ctx.device.createCommandEncoder();
  for (let r = 0; r < reps; r++) kernel(ctx, enc, args);
  await submitAndWait(ctx, [enc.finish()]);
  const t = await prof.finish();
  return t.reduce((a, x) => a + x.ns, 0) / 1e9;
}

async function timeSteps(label: string, model: GpuModel, s: TrainSettings, micro: readonly Batch[], repeats: number): Promise<number> {
  const maxT = Math.max(...micro.map((b) => b.seqLen));
  const maxB = Math.max(...micro.map((b) => b.batchSize));
  const lora = createLoraParams(ctx, model.cfg, s.lora, { seed: s.seed });
  const acts = createActivations(ctx, model.cfg, maxB, maxT, s.lora.r, s.lora.targetModules, { recompute: s.recompute });
  const stats = createStepStats(ctx);
  const opt = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1, seed: 1 };
  await trainStep(ctx, model, acts, lora, micro, { ...opt, step: 1 }, stats);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await trainStep(ctx, model, acts, lora, micro, { ...opt, step: i + 2 }, stats);
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const sec = times[Math.floor(times.length / 2)] as number;
  const flops = micro.reduce((a, b) => a + requiredStepFlops(model.cfg, s.lora, b.batchSize, b.seqLen).total, 0);
  emit(`${label}_step_seconds: ${sec.toFixed(3)} (median of ${repeats}; ${(flops / 1e9).toFixed(3)} required GFLOP)`);
  stepRate[label] = flops / sec / 1e9;
  if (label === 'demo') {
    const p = await profileMicroBatch(ctx, model, acts, lora, micro[0] as Batch, 5);
    const raw = await rawDispatchMicros(p.dispatches);
    emit(`host_us_per_dispatch: ${((p.hostEncodeMs * 1000) / p.dispatches).toFixed(1)} (${p.dispatches} dispatches in ${p.passes} passes; raw loop of pre-built dispatches: ${raw.toFixed(1)})`);
  }
  stats.destroy();
  acts.destroy();
  lora.destroy();
  return sec;
}

/** µs per dispatch to encode `n` dispatches of one pre-built pipeline and bind group (median of 5). */
async function rawDispatchMicros(n: number): Promise<number> {
  const spec = { label: 'bench.raw', code: '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(1) fn main() { x[0] = x[0] + 1.0; }', entryPoint: 'main', bindings: ['rw'] as const };
  const p = getPipeline(ctx, spec);
  const buf = createStorage(ctx, 4, 'bench.raw');
  const group = ctx.device.createBindGroup({ layout: p.layout, entries: [{ binding: 0, resource: { buffer: buf } }] });
  const us: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < n; i++) {
      pass.setPipeline(p.pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    const cb = enc.finish();
    us.push(((performance.now() - t0) * 1000) / n);
    await submitAndWait(ctx, [cb]);
  }
  buf.destroy();
  return us.sort((a, b) => a - b)[2] as number;
}

/**
 * Times a step of a generated model of `config` (BF16, one shard) with LoRA r 16 on all seven linears, B 1 × T 256
 * (`full`: full-parameter training instead, label suffixed "_full").
 */
async function shapedStep(label: string, config: Record<string, unknown>, name: string, full = false): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `shadowft-step-bench-${label}-`));
  try {
    const pair = await genPair({ config, dir, baseOnly: true, baseShards: 1 });
    const cfg = normalizeConfig(pair.config, `${name}/config.json`);
    const s: TrainSettings = { ...defaultTrainSettings(cfg, 1000), batchSize: 1, gradAccum: 1, maxLength: 256, recompute: false, lora: { r: 16, alpha: 32, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] } };
    const T = 256;
    const ids = Int32Array.from({ length: T }, (_, t) => (t * 7919) % cfg.vocabSize);
    const labels = Int32Array.from({ length: T }, (_, t) => (t < 32 ? -100 : (ids[t] as number)));
    const batch: Batch = { batchSize: 1, seqLen: T, inputIds: ids, labels, numItems: T - 32 };
    const ckpt = await openCheckpoint(await modelFilesFromDir(pair.baseDir));
    if (full) {
      stepRate[`${label}_full`] = await timeFullSteps(ctx, emit, `${label}_full`, cfg, ckpt, [batch], 3);
      return;
    }
    const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, ckpt));
    await timeSteps(label, model, s, [batch], 3);
    model.weights.destroy();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The demo Base, its config, the default settings and the micro-batches of the first optimizer step of the training order. */
async function demoFirstStep(): Promise<{ base: Awaited<ReturnType<typeof modelFilesFromDir>>; cfg: Awaited<ReturnType<typeof readModelConfig>>; s: TrainSettings; micro: Batch[] }> {
  const base = await modelFilesFromDir('../shared/models/stories260K-base');
  const inst = await modelFilesFromDir('../shared/models/stories260K-instruct');
  const cfg = await readModelConfig(base.files.get('config.json') as Blob, 'config.json');
  const tok = await loadChatTokenizer(inst);
  const { conversations: rows } = await readDatasetFile(await openAsBlob('../shared/datasets/story-titles.train.alpaca.json'), 'story-titles.train.alpaca.json');
  const s = defaultTrainSettings(cfg, rows.length);
  const { examples: train } = tokenizeDataset(tok, rows, s.maxLength, cfg.vocabSize);
  const micro = planSteps(train, s, tok.padTokenId)[0] as Batch[];
  return { base, cfg, s, micro };
}

const once = { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 };

describe('step MFU', () => {
  bench('matmul peak (GPU timestamps)', async () => {
    // Large shapes and the demo's own linear shapes (M = 8·215 tokens): on CPU adapters small shapes that stay in
    // cache can run faster than large ones, and the peak is the best the kernel reaches at any of them.
    const shapes: Array<[number, number, number]> = [[512, 512, 512], [512, 1024, 1024], [1024, 1024, 1024], [1720, 64, 64], [1720, 172, 64], [1720, 64, 172]];
    for (const [M, N, K] of shapes) {
      const w = uploadWeight(ctx, encodeFromF32(rand(N * K, 2), 'BF16'), 'BF16', [N, K], 'w');
      const args: MatmulArgs = { M, N, K, a: uploadStorage(ctx, rand(M * K, 1), 'a'), w: w.buffer, wDtype: 'BF16', transB: true, out: createStorage(ctx, M * N * 4, 'out') };
      // Both matmul kernels (tiled; register-blocked, which the model uses for K ≤ 256): the peak is the best either reaches.
      const tiled = (3 * 2 * M * N * K) / (await matmulSeconds(args, 3)) / 1e9;
      const reg = (3 * 2 * M * N * K) / (await matmulSeconds(args, 3, matmulReg)) / 1e9;
      emit(`matmul_gflops_${M}x${N}x${K}_bf16: tiled ${tiled.toFixed(2)}, register-blocked ${reg.toFixed(2)}`);
      const g = Math.max(tiled, reg);
      peak = Number.isFinite(peak) ? Math.max(peak, g) : g;
      if (M >= 512 && N >= 512 && K >= 512) peakLarge = Number.isFinite(peakLarge) ? Math.max(peakLarge, g) : g;
    }
    emit(`matmul_peak_gflops: ${peak.toFixed(2)} (large shapes only: ${peakLarge.toFixed(2)})`);
  }, once);

  bench('demo step (stories260K, default settings)', async () => {
    const { base, cfg, s, micro } = await demoFirstStep();
    const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, await openCheckpoint(base)));
    await timeSteps('demo', model, s, micro, 3);
    model.weights.destroy();
  }, once);

  bench('demo DPO step (stories260K, story-titles-pref, default settings)', async () => {
    const base = await modelFilesFromDir('../shared/models/stories260K-base');
    const inst = await modelFilesFromDir('../shared/models/stories260K-instruct');
    const cfg = await readModelConfig(base.files.get('config.json') as Blob, 'config.json');
    const tok = await loadChatTokenizer(inst);
    const { pairs } = await readDatasetFile(await openAsBlob('../shared/datasets/story-titles-pref.train.trl.jsonl'), 'story-titles-pref.train.trl.jsonl');
    const s: TrainSettings = { ...defaultTrainSettings(cfg, pairs.length), stage: 'dpo' };
    const train = preparePairSplit(tok, pairs, [], s.maxLength, cfg.vocabSize).examples;
    const micro = planPrefSteps(train, s, tok.padTokenId)[0] as PreferenceBatch[];
    const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, await openCheckpoint(base)));
    const lora = createLoraParams(ctx, cfg, s.lora, { seed: s.seed });
    const acts = createActivations(ctx, cfg, Math.max(...micro.map((b) => b.batchSize)), Math.max(...micro.map((b) => b.seqLen)), s.lora.r, s.lora.targetModules, { recompute: s.recompute });
    const buffers = createPrefStepBuffers(ctx, acts);
    const bare = { r: 0, targetModules: [] };
    const refFlops = micro.reduce((a, b) => { const f = requiredStepFlops(cfg, bare, b.batchSize, b.seqLen); return a + f.frozenLinears / 2 + f.lmHead / 2 + f.attention / 3; }, 0);
    await referenceLogps(ctx, model, acts, micro); // compiles the forward pipelines
    const t0 = performance.now();
    const refs = await referenceLogps(ctx, model, acts, micro);
    const refSec = (performance.now() - t0) / 1000;
    emit(`demo_dpo_reference_seconds: ${refSec.toFixed(3)} (${micro.length} micro-batch(es) of ${micro[0]?.pairs} pairs; ${(refFlops / 1e9).toFixed(3)} required GFLOP, forward only, adapter off)`);
    stepRate['demo_dpo_reference'] = refFlops / refSec / 1e9;
    const opt = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1, seed: 1 };
    const pref = prefOptionsOf(s);
    await prefTrainStep(ctx, model, acts, lora, micro, refs, { ...opt, step: 1 }, pref, buffers);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t1 = performance.now();
      await prefTrainStep(ctx, model, acts, lora, micro, refs, { ...opt, step: i + 2 }, pref, buffers);
      times.push((performance.now() - t1) / 1000);
    }
    times.sort((a, b) => a - b);
    const sec = times[1] as number;
    const flops = micro.reduce((a, b) => a + requiredStepFlops(cfg, s.lora, b.batchSize, b.seqLen).total, 0);
    emit(`demo_dpo_step_seconds: ${sec.toFixed(3)} (median of 3; ${(flops / 1e9).toFixed(3)} required GFLOP; ${micro[0]?.batchSize} sequences × T ${micro[0]?.seqLen})`);
    stepRate['demo_dpo'] = flops / sec / 1e9;
    buffers.destroy();
    acts.destroy();
    lora.destroy();
    model.weights.destroy();
  }, once);

  bench('Qwen3-0.6B-shaped step (2 layers, r 16, T 256)', async () => {
    const raw = JSON.parse(readFileSync('../shared/configs/Qwen__Qwen3-0.6B/config.json', 'utf8')) as Record<string, unknown>;
    await shapedStep('qwen3_shape', { ...raw, num_hidden_layers: 2 }, 'Qwen3-0.6B (2 layers)');
  }, once);

  bench('full-parameter demo step (stories260K, default batch)', async () => {
    const { base, cfg, micro } = await demoFirstStep();
    stepRate['demo_full'] = await timeFullSteps(ctx, emit, 'demo_full', cfg, await openCheckpoint(base), micro, 3);
  }, once);

  bench('Qwen3-0.6B-shaped full-parameter step (2 layers, T 256)', async () => {
    const raw = JSON.parse(readFileSync('../shared/configs/Qwen__Qwen3-0.6B/config.json', 'utf8')) as Record<string, unknown>;
    await shapedStep('qwen3_shape', { ...raw, num_hidden_layers: 2 }, 'Qwen3-0.6B (2 layers)', true);
  }, once);

  bench('weight-gradient matmuls vs forward (demo and Qwen3-0.6B linears)', async () => {
    for (const [tokens, out, inF] of [[1720, 64, 64], [1720, 172, 64], [1720, 64, 172], [256, 2048, 1024], [256, 3072, 1024], [256, 1024, 3072]] as const) await weightGradGflops(ctx, emit, tokens, out, inF);
  }, once);

  bench('Gemma-3-270M-shaped step (2 layers, r 16, T 256)', async () => {
    await shapedStep('gemma3_270m_shape', { ...gemma3Layers(2), layer_types: ['sliding_attention', 'full_attention'] }, 'Gemma-3-270M (2 layers)');
  }, once);
});

afterAll(() => {
  for (const k of Object.keys(stepRate)) {
    const rate = stepRate[k] as number;
    emit(`step_mfu_${k}: ${(rate / peak).toFixed(3)} (${rate.toFixed(2)} required GFLOP/s ÷ matmul_peak_gflops; ÷ the large-shape peak: ${(rate / peakLarge).toFixed(3)})`);
  }
  printSummary();
});
