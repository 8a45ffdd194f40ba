/**
 * Generation speed, measured side by side in one run on the Node WebGPU adapter (engine/generate):
 * - decode_tokens_per_s: new tokens ÷ decode seconds of greedy generation with the KV cache (wall time of the M = 1
 *   steps, each one forward + the V-float read-back + the CPU sampler), demo Instruct model, N new tokens;
 * - decode_vs_full_recompute: time per new token when the whole sequence is recomputed for each token (one prefill of
 *   prompt + tokens so far, last-row logits only) ÷ time per new token with the cache, over the same N tokens;
 * - the same two lines for a generated 2-layer model shaped like Qwen3-0.6B (C 1024, V 151936, BF16) when
 *   ../shared/configs is present;
 * - decode_step_profile: GPU time per kernel and dispatch count of one demo decode step (timestamp queries);
 * - matvec_vs_skinny_NxK: GPU time (timestamps) of the skinny matmul at M = 1 ÷ the matvec kernel's, at Qwen3-0.6B
 *   decode shapes (BF16 W): one lm_head chunk, gate/up, down.
 * Run: npm run bench.
 */
import { benchReport } from './report';
import { readFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import type { GpuContext } from '../src/engine/gpu/context';
import { createGenerator } from '../src/engine/generate/generate';
import { decodeProfileTable, profileDecodeStep } from '../src/engine/generate/profile';
import { destroyGpuModel, makeGpuModel, type GpuModel } from '../src/engine/model/model';
import { loadModelWeights } from '../src/engine/model/weights';
import { openCheckpoint } from '../src/io/checkpoint';
import { normalizeConfig } from '../src/io/config';
import { loadModelFolder } from '../src/app/loadModel';
import { replyPromptIds } from '../src/app/generate';
import { loadChatTokenizer } from '../src/io/tokenizer/load';
import { modelFilesFromDir } from '../src/node/files';
import { createNodeGpuContext } from '../src/node/gpu';
import { genPair } from '../tests/support/genPair';
import { createStorage, uploadStorage } from '../src/engine/gpu/buffers';
import { uploadWeight } from '../src/engine/gpu/weights';
import { matmulSkinny } from '../src/engine/kernels/matmul';
import { matvec } from '../src/engine/kernels/matvec';
import { encodeFromF32 } from '../src/io/dtype';
import { gpuSeconds } from './gpu-timer';

const ctx: GpuContext = await createNodeGpuContext();
const { emit, printSummary } = benchReport(ctx);
const once = { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 } as const;

/** Cached vs full-recompute time per token over the same N greedy tokens (after one warm-up of each). */
async function compare(tag: string, model: GpuModel, prompt: number[], N: number): Promise<void> {
  const gen = createGenerator(ctx, model, prompt.length + N);
  try {
    const settings = { maxNewTokens: N, temperature: 0, topP: 1, seed: 0 };
    await gen.generate(prompt, { ...settings, maxNewTokens: 4 });
    await gen.lastLogits(prompt);
    const r = await gen.generate(prompt, settings);
    const steps = r.newIds.length - 1;
    const cachedPerToken = r.decodeMs / Math.max(1, steps);
    const t0 = performance.now();
    for (let i = 1; i < r.newIds.length; i++) await gen.lastLogits([...prompt, ...r.newIds.slice(0, i)]);
    const fullPerToken = (performance.now() - t0) / Math.max(1, steps);
    emit(`decode_tokens_per_s${tag} ${r.tokensPerSec.toFixed(1)} (${r.newIds.length} new tokens after a ${prompt.length}-token prompt; ${cachedPerToken.toFixed(2)} ms per cached step; prefill ${r.prefillMs.toFixed(1)} ms)`);
    emit(`decode_vs_full_recompute${tag} ${(fullPerToken / cachedPerToken).toFixed(2)} (${fullPerToken.toFixed(2)} ms per token recomputing prompt + tokens so far vs ${cachedPerToken.toFixed(2)} ms with the KV cache)`);
  } finally {
    gen.destroy();
  }
}

describe('generation', () => {
  bench('matvec vs skinny matmul at M = 1 (GPU timestamps)', async () => {
    if (!ctx.device.features.has('timestamp-query')) return;
    for (const [N, K] of [[16384, 1024], [3072, 1024], [1024, 3072]] as const) {
      const w = uploadWeight(ctx, encodeFromF32(Float32Array.from({ length: N * K }, (_, i) => Math.sin(i) * 0.05), 'BF16'), 'BF16', [N, K], 'w');
      const x = uploadStorage(ctx, Float32Array.from({ length: K }, (_, i) => Math.cos(i)), 'x');
      const y = createStorage(ctx, N * 4, 'y');
      const skinny = (enc: GPUCommandEncoder) => matmulSkinny(ctx, enc, { M: 1, N, K, a: x, w: w.buffer, wDtype: 'BF16', transB: true, out: y });
      const mv = (enc: GPUCommandEncoder) => matvec(ctx, enc, { N, K, x, w: w.buffer, wDtype: 'BF16', y });
      await gpuSeconds(ctx, skinny);
      await gpuSeconds(ctx, mv);
      const ts = await gpuSeconds(ctx, skinny, 3);
      const tm = await gpuSeconds(ctx, mv, 3);
      emit(`matvec_vs_skinny_${N}x${K} ${(ts / tm).toFixed(2)} (skinny ${((ts / 3) * 1e3).toFixed(2)} ms vs matvec ${((tm / 3) * 1e3).toFixed(2)} ms per product, BF16)`);
      [w.buffer, x, y].forEach((b) => b.destroy());
    }
  }, once);

  bench('demo Instruct: KV cache vs full recompute, and one decode step profiled', async () => {
    const files = await modelFilesFromDir('public/demo/stories260K-instruct');
    const m = await loadModelFolder(files);
    const tok = await loadChatTokenizer(files);
    const model = makeGpuModel(m.config, await loadModelWeights(ctx, m.config, m.checkpoint));
    const prompt = replyPromptIds(tok, 'Write a short story with a title about a boat called Fluffy.');
    await compare('', model, prompt, 160);
    if (ctx.device.features.has('timestamp-query')) {
      const p = await profileDecodeStep(ctx, model, prompt, 9);
      emit(`decode_step_profile ${p.dispatches} dispatches, ${p.gpuMs.toFixed(3)} ms GPU`);
      process.stdout.write(decodeProfileTable(p));
    }
    destroyGpuModel(model);
  }, once);

  bench('Qwen3-0.6B-shaped (2 layers): KV cache vs full recompute', async () => {
    const cfgPath = '../shared/configs/Qwen__Qwen3-0.6B/config.json';
    if (!existsSync(cfgPath)) return;
    const dir = await mkdtemp(join(tmpdir(), 'shadowft-gen-bench-'));
    try {
      const pair = await genPair({ config: JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>, dir, layers: 2, baseOnly: true, baseShards: 1 });
      const cfg = normalizeConfig(pair.config, 'Qwen3-0.6B (2 layers)/config.json');
      const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, await openCheckpoint(await modelFilesFromDir(pair.baseDir))));
      const prompt = Array.from({ length: 32 }, (_, t) => (t * 7919 + 13) % cfg.vocabSize);
      await compare('_qwen3_shape', model, prompt, 16);
      destroyGpuModel(model);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, once);
});

afterAll(() => {
  printSummary();
});
