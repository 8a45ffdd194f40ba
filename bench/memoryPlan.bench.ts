/**
 * memory_plan_vs_allocated: the memory plan (src/engine/plan/memory.ts planMemory: frozen weights + LoRA params,
 * grads, m, v + activations) over the bytes of the GPU buffers that loadModelWeights, createLoraParams and
 * createActivations really create, counted independently by wrapping GPUDevice.createBuffer (sizes of the buffers
 * still alive afterwards). Model: a generated real-shaped SmolLM2-135M (its real config, all 30 layers, BF16;
 * tests/support/genPair.ts) with the app's default settings for a real model (defaultTrainSettings: r 128 on all
 * seven linears, batch 1, max length 1024, recompute on). Runs on the Node WebGPU adapter (Dawn; SwiftShader or
 * lavapipe on CI). 1.000 means the plan predicts the allocation to the byte; the rope/scratch lines of the plan
 * (allocated later, per step) are not part of either side.
 * Run: npm run bench (vitest bench --run); prints `memory_plan_vs_allocated: <ratio>` at the end.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import type { GpuContext } from '../src/engine/gpu/context';
import { createActivations } from '../src/engine/model/activations';
import { createLoraParams } from '../src/engine/model/lora';
import { loadModelWeights } from '../src/engine/model/weights';
import { planMemory } from '../src/engine/plan/memory';
import { defaultTrainSettings } from '../src/engine/train/defaults';
import { checkpointWeightBytes } from '../src/engine/train/run';
import { openCheckpoint } from '../src/io/checkpoint';
import { normalizeConfig } from '../src/io/config';
import { modelFilesFromDir } from '../src/node/files';
import { createNodeGpuContext } from '../src/node/gpu';
import { genPair } from '../tests/support/genPair';

const CONFIG = '/work/shared/configs/HuggingFaceTB__SmolLM2-135M/config.json';
/** 10 of the 30 layers, as in streaming.bench.ts, so that `npm run bench` stays near a minute. */
const LAYERS = 10;

const ctx: GpuContext = await createNodeGpuContext();
const tmp = await mkdtemp(join(tmpdir(), 'shadowft-plan-bench-'));
const pair = await genPair({ config: JSON.parse(readFileSync(CONFIG, 'utf8')) as Record<string, unknown>, dir: tmp, layers: LAYERS, baseOnly: true });
const ckpt = await openCheckpoint(await modelFilesFromDir(pair.baseDir));
const cfg = normalizeConfig(pair.config, 'SmolLM2-135M/config.json');
const settings = defaultTrainSettings(cfg, 1000);

/** GPU buffers created through ctx.device and not yet destroyed. */
const alive = new Map<GPUBuffer, number>();
const device = ctx.device;
const createBuffer = device.createBuffer.bind(device);
device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
  const b = createBuffer(desc);
  alive.set(b, b.size);
  const destroy = b.destroy.bind(b);
  b.destroy = (): undefined => {
    alive.delete(b);
    return destroy();
  };
  return b;
};

let line = 'memory_plan_vs_allocated: not measured';
let detail = '';

async function measure(): Promise<void> {
  const plan = planMemory(cfg, settings, checkpointWeightBytes(ckpt), ctx.limits);
  const before = new Set(alive.keys());
  const weights = await loadModelWeights(ctx, cfg, ckpt);
  const lora = createLoraParams(ctx, cfg, settings.lora, { seed: settings.seed });
  const acts = createActivations(ctx, cfg, settings.batchSize, settings.maxLength, settings.lora.r, settings.lora.targetModules, { recompute: settings.recompute });
  await device.queue.onSubmittedWorkDone();
  const allocated = [...alive].filter(([b]) => !before.has(b)).reduce((a, [, n]) => a + n, 0);
  const planned = plan.weightBytes + plan.loraBytes + plan.activationBytes;
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  line = `memory_plan_vs_allocated: ${(planned / allocated).toFixed(4)}  (planned ${planned} bytes, allocated ${allocated} bytes)`;
  detail =
    `planned ${mib(planned)} (weights ${mib(plan.weightBytes)}, LoRA ${mib(plan.loraBytes)}, activations ${mib(plan.activationBytes)}; ` +
    `plan total with rope/scratch ${mib(plan.totalBytes)}), allocated ${mib(allocated)} ` +
    `(allocators report ${mib(weights.gpuBytes + lora.bytes + acts.bytes)}); r ${settings.lora.r}, B ${settings.batchSize}, T ${settings.maxLength}, recompute ${settings.recompute}`;
  acts.destroy();
  lora.destroy();
  weights.destroy();
}

describe(`memory plan vs GPU buffers, SmolLM2-135M shape, ${LAYERS} layers (${(pair.modelTensorBytes / 1e6).toFixed(0)} MB BF16), default settings`, () => {
  bench('planMemory + loadModelWeights + createLoraParams + createActivations', measure, { time: 0, iterations: 1, warmupIterations: 0, warmupTime: 0 });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
  console.log(`\nmemory plan (${detail}):\n${line}`);
});
